/**
 * `POST /api/v1/tokens`: an administrator creates a bearer token for a user.
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { createToken } from '../../access/tokens.ts'
import { problems, ref, type LocalApi } from '../schemas.ts'

export function tokenRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Create a bearer token for an existing user, with at most its role (the secret is returned once)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['userId', 'role'],
          properties: {
            userId: { type: 'string', minLength: 1, maxLength: 200 },
            role: { enum: ['admin', 'member'] },
          },
        },
        response: { 201: ref('CreatedToken', 'The token; its secret is never shown again'), ...problems(400, 403, 404) },
      },
    },
    async (request, reply) => reply.code(201).send(await createToken(ctx, request.body, { requireUser: true })),
  )
}
