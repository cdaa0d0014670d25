/**
 * Sharing policy administration: create, add a version, list, read (SPEC.md §9).
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { createPolicy, createPolicyVersion, getPolicy, listPolicies } from '../../partners/policies.ts'
import { paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'

const ADMIN = { role: 'admin' } as const

export function policyRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/policies',
    {
      config: ADMIN,
      schema: {
        tags: ['policies'],
        summary: 'Create a sharing policy (version 1)',
        body: ref('SharingPolicyInput'),
        response: { 201: ref('PolicyRecord', 'Version 1 of the new policy'), ...problems(400, 403, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createPolicy(ctx, request.body)),
  )

  app.get(
    '/policies',
    {
      config: ADMIN,
      schema: {
        tags: ['policies'],
        summary: 'List the latest version of every policy',
        response: {
          200: {
            description: 'The latest version of each policy',
            type: 'object',
            required: ['policies'],
            properties: { policies: { type: 'array', items: ref('PolicyRecord') } },
          },
          ...problems(403),
        },
      },
    },
    async () => ({ policies: await listPolicies(ctx) }),
  )

  app.post(
    '/policies/:id/versions',
    {
      config: ADMIN,
      schema: {
        tags: ['policies'],
        summary: 'Add the next version of a policy; earlier versions and the shares made under them do not change',
        params: paramsSchemas.id,
        body: ref('SharingPolicyInput'),
        response: { 201: ref('PolicyRecord', 'The new version'), ...problems(400, 403, 404) },
      },
    },
    async (request, reply) => reply.code(201).send(await createPolicyVersion(ctx, request.params.id, request.body)),
  )

  app.get(
    '/policies/:id',
    {
      config: ADMIN,
      schema: {
        tags: ['policies'],
        summary: 'Read a policy (the latest version, or the one asked for)',
        params: paramsSchemas.id,
        querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'integer', minimum: 1 } } },
        response: { 200: ref('PolicyRecord', 'The policy version'), ...problems(400, 403, 404) },
      },
    },
    async (request) => getPolicy(ctx, request.params.id, request.query.version),
  )
}
