/**
 * The local API's request types come from the route schemas (the type provider in
 * `local/schemas.ts`), not from types written beside them. Checked by `tsc`: a schema change that
 * the handler does not follow fails the type check. At run time, one route shows the same.
 */
import t from 'tap'
import fastify from 'fastify'
import { SHARED_SCHEMAS, SHARED_SCHEMA_NAMES, inputSchemas, paramsSchemas, ref, type LocalTypeProvider } from '../../src/local/schemas.ts'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const assertType = <T extends true>(_proof: T): void => {}

t.test('body, params and query types are derived from the as-const schemas, $refs included', async (t) => {
  const app = fastify().withTypeProvider<LocalTypeProvider>()
  t.teardown(() => app.close())
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  app.post(
    '/things/:id',
    {
      schema: {
        params: paramsSchemas.id,
        querystring: { type: 'object', additionalProperties: false, properties: { dryRun: { type: 'boolean', default: false } } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['partnerOrg', 'scope'],
          properties: {
            partnerOrg: inputSchemas.orgId,
            scope: { enum: ['case', 'folders'] },
            recipients: { type: 'array', items: ref('Recipient') },
            policy: ref('SharingPolicy'),
          },
        },
      },
    },
    async (request) => {
      assertType<Equal<typeof request.params, { id: string }>>(true)
      assertType<Equal<typeof request.query, { dryRun: boolean }>>(true)
      assertType<Equal<typeof request.body.scope, 'case' | 'folders'>>(true)
      assertType<Equal<typeof request.body.partnerOrg, string>>(true)
      assertType<Equal<typeof request.body.recipients, { kind: 'user' | 'group' | 'email' | 'badge' | 'agency'; id: string }[] | undefined>>(true)
      // A schema built from the protocol's JSON files is opaque: unknown, never `any`.
      assertType<Equal<typeof request.body.policy, unknown>>(true)
      // @ts-expect-error — not in the schema
      void request.body.expiresInSeconds
      return { id: request.params.id, scope: request.body.scope }
    },
  )
  const response = await app.inject({ method: 'POST', url: '/things/a1', payload: { partnerOrg: 'metro-pd', scope: 'case' } })
  t.same(response.json(), { id: 'a1', scope: 'case' })
})

t.test('ref() names exactly the shared schemas', async (t) => {
  t.same(SHARED_SCHEMAS.map((schema) => schema['$id']).sort(), [...SHARED_SCHEMA_NAMES].sort())
})
