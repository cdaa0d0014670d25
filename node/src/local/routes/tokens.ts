/**
 * Bearer tokens of the local API (CW-LOC-010): an administrator creates one for a user; every
 * caller lists and revokes its own, an administrator anyone's.
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { createToken, listTokens, revokeToken } from '../../access/tokens.ts'
import { userActor } from '../../events.ts'
import { principalOf } from '../auth.ts'
import { paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'

export function tokenRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Create a bearer token for an existing user, with at most its role (the secret is returned once)',
        description:
          'The token expires after expiresInDays (default auth.tokens.defaultDays, at most auth.tokens.maxDays); a longer lifetime is refused. ' +
          'Its creation is audited on the node-wide chain (_federation).',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['userId', 'role'],
          properties: {
            userId: { type: 'string', minLength: 1, maxLength: 200 },
            role: { enum: ['admin', 'member'] },
            name: { type: 'string', maxLength: 100, description: 'What the token is for (shown in lists).' },
            expiresInDays: { type: 'integer', minimum: 1, description: 'Lifetime in days; at most auth.tokens.maxDays.' },
          },
        },
        response: { 201: ref('CreatedToken', 'The token; its secret is never shown again'), ...problems(400, 403, 404) },
      },
    },
    async (request, reply) => reply.code(201).send(await createToken(ctx, request.body, { requireUser: true, actor: userActor(principalOf(request).userId) })),
  )

  app.get(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: "List tokens, newest first: an administrator's sees all (or one user's), anyone else's only its own",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { userId: { type: 'string', minLength: 1, maxLength: 200, description: "Only this user's tokens (administrators)." } },
        },
        response: { 200: { description: 'The tokens (never their secrets)', type: 'array', items: ref('TokenInfo') }, ...problems(400) },
      },
    },
    async (request) => listTokens(ctx, principalOf(request), request.query.userId),
  )

  app.post(
    '/tokens/:id/revoke',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token at once (an administrator any, anyone else its own); revoking a revoked token changes nothing',
        description: 'The next request presenting the token is refused with 401. Audited on the node-wide chain (_federation).',
        params: paramsSchemas.id,
        response: { 200: ref('TokenInfo', 'The token, revoked'), ...problems(403, 404) },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      return revokeToken(ctx, principal, request.params.id, userActor(principal.userId))
    },
  )
}
