import t from 'tap'
import { createLocalServer } from '../../src/local/server.ts'
import { createTestApp } from '../support/local_app.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())

t.test('/healthz and /openapi.json need no token', async (t) => {
  const health = await ta.call({ method: 'GET', url: '/healthz', token: null })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  const doc = await ta.call({ method: 'GET', url: '/openapi.json', token: null })
  t.equal(doc.statusCode, 200)
  t.equal(doc.json().openapi, '3.1.0')
})

// spec: CW-ERR-001
t.test('no token, a bad token or another scheme is 401 CW_ERR_UNAUTHENTICATED as a problem document', async (t) => {
  for (const headers of [{}, { authorization: 'Bearer cw_nope' }, { authorization: `Basic ${ta.adminToken}` }, { authorization: `Bearer ${ta.adminToken}x` }]) {
    const response = await ta.app.inject({ method: 'GET', url: '/api/v1/cases', headers })
    t.equal(response.statusCode, 401)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(response.json(), { type: 'urn:caseway:problem:unauthenticated', status: 401, code: 'CW_ERR_UNAUTHENTICATED' })
    t.notMatch(response.body, /at .*\.ts/, 'no stack trace')
  }
  const unknownRoute = await ta.call({ method: 'GET', url: '/api/v1/nothing-here', token: null })
  t.equal(unknownRoute.statusCode, 401, 'routes are not enumerable without a token')
  const notFound = await ta.call({ method: 'GET', url: '/api/v1/nothing-here' })
  t.equal(notFound.json().code, 'CW_ERR_NOT_FOUND')
})

t.test('a member is refused the admin routes with 403 CW_ERR_FORBIDDEN, before the body is read', async (t) => {
  const adminOnly = [
    { method: 'POST', url: '/api/v1/partners', payload: { bundle: {}, fingerprint: 'x' } },
    { method: 'GET', url: '/api/v1/partners' },
    { method: 'POST', url: '/api/v1/partners/county-da/disable' },
    { method: 'PUT', url: '/api/v1/partners/county-da/policy', payload: { policyId: 'p' } },
    { method: 'POST', url: '/api/v1/policies', payload: {} },
    { method: 'GET', url: '/api/v1/policies' },
    { method: 'GET', url: '/api/v1/policies/p' },
    { method: 'POST', url: '/api/v1/policies/p/versions', payload: {} },
    { method: 'POST', url: '/api/v1/tokens', payload: { userId: 'mallory', role: 'admin' } },
  ] as const
  for (const request of adminOnly) {
    const response = await ta.call({ ...request, token: ta.memberToken })
    t.equal(response.json().code, 'CW_ERR_FORBIDDEN', `${request.method} ${request.url}`)
    t.equal(response.statusCode, 403)
  }
  const allowed = await ta.call({ method: 'GET', url: '/api/v1/cases', token: ta.memberToken })
  t.equal(allowed.statusCode, 200, 'members use cases')
})

t.test('the OpenAPI document lists every route, each with its responses', async (t) => {
  const doc = (await ta.call({ method: 'GET', url: '/openapi.json' })).json()
  const documented = new Set<string>()
  for (const [path, operations] of Object.entries<Record<string, { responses: Record<string, unknown> }>>(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      documented.add(`${method.toUpperCase()} ${path}`)
      const statuses = Object.keys(operation.responses)
      t.ok(
        statuses.some((status) => status.startsWith('2')),
        `${method} ${path} documents its success`,
      )
      t.ok(statuses.includes('500'), `${method} ${path} documents its problems`)
    }
  }
  const registered = ta.routes.filter((route) => !route.startsWith('HEAD ') && route !== 'GET /openapi.json').map((route) => route.replace(/:(\w+)/g, '{$1}'))
  t.ok(registered.length >= 25, `${registered.length} routes`)
  for (const route of registered) t.ok(documented.has(route), `${route} is documented`)
  t.equal(documented.size, registered.length, 'and nothing else is')
  for (const expected of [
    'POST /api/v1/partners',
    'GET /api/v1/partners',
    'POST /api/v1/partners/{org}/disable',
    'POST /api/v1/partners/{org}/enable',
    'PUT /api/v1/partners/{org}/policy',
    'POST /api/v1/policies',
    'GET /api/v1/policies',
    'POST /api/v1/policies/{id}/versions',
    'GET /api/v1/policies/{id}',
    'POST /api/v1/tokens',
    'POST /api/v1/cases',
    'GET /api/v1/cases',
    'GET /api/v1/cases/{id}',
    'PATCH /api/v1/cases/{id}',
    'POST /api/v1/cases/{id}/folders',
    'POST /api/v1/cases/{id}/evidence',
    'GET /api/v1/cases/{id}/evidence',
    'GET /api/v1/evidence/{id}/content',
    'POST /api/v1/shares',
    'GET /api/v1/shares',
    'GET /api/v1/shares/{id}',
    'GET /api/v1/external-cases',
    'GET /api/v1/external-cases/{id}',
    'GET /api/v1/external-cases/{id}/evidence/{itemId}/content',
    'GET /healthz',
  ])
    t.ok(documented.has(expected), expected)
  t.same(doc.paths['/api/v1/cases/{id}/evidence'].post.requestBody.content['application/octet-stream'].schema, { type: 'string', format: 'binary' })
  t.same(doc.paths['/api/v1/shares'].post.responses['403'].content['application/problem+json'].schema, { $ref: '#/components/schemas/Problem' })
  t.same(doc.paths['/healthz'].get.security, [])
  t.ok(doc.components.schemas.SharingPolicy, 'the policy schema is a component')
})

t.test('createLocalServer serves the same app', async (t) => {
  const server = await createLocalServer(ta.ctx, { logger: false })
  t.teardown(() => server.close())
  const response = await server.inject({ method: 'GET', url: '/api/v1/cases', headers: { authorization: `Bearer ${ta.memberToken}` } })
  t.equal(response.statusCode, 200)
  t.equal((await server.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
})

t.test('a JSON body over the configured limit is refused', async (t) => {
  const response = await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'x'.repeat(ta.ctx.config.limits.jsonBodyBytes) } } })
  t.equal(response.statusCode, 413)
  t.equal(response.json().code, 'CW_ERR_TOO_LARGE')
})
