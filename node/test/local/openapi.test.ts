/**
 * The OpenAPI document covers the local API: every route registered (seen by an `onRoute`
 * hook) is in /openapi.json with a response schema for every status it can answer — its
 * success, and the problems authentication, roles, body limits, media types, validation and
 * rate limiting answer, observed here by actually provoking them on every route. Only
 * /openapi.json itself is hidden.
 */
import Fastify, { type RouteOptions } from 'fastify'
import t, { type Test } from 'tap'
import { problemFrameworkErrors } from '../../src/http/problem_handler.ts'
import { MAX_PARAM_LENGTH } from '../../src/limits.ts'
import { localApp } from '../../src/local/app.ts'
import { OPERATION_IDS } from '../../src/local/operation_ids.ts'
import { createToken } from '../../src/access/tokens.ts'
import { createTestContext } from '../support/context.ts'

const HIDDEN = new Set(['GET /openapi.json'])
const JSON_LIMIT = 1024

interface Operation {
  security?: unknown[]
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> } & Record<string, unknown>>
}

async function documentedApp(t: Test, limits: Record<string, unknown> = {}) {
  const tc = await createTestContext({ limits: { jsonBodyBytes: JSON_LIMIT, ...limits } })
  // The router options of the local listener (server.ts), so its refusals are seen too.
  const app = Fastify({ logger: false, routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, frameworkErrors: problemFrameworkErrors() })
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => {
    routes.push(route)
  })
  await app.register(localApp, { ctx: tc.ctx })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await tc.close()
  })
  const admin = (await createToken(tc.ctx, { userId: 'admin-1', role: 'admin' })).token
  const member = (await createToken(tc.ctx, { userId: 'det-smith', role: 'member' })).token
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, Operation>> }>()
  // One entry per method and URL (HEAD routes are fastify's automatic twins of GET routes).
  const registered = routes
    .flatMap((route) => [route.method].flat().map((method) => ({ method, url: route.url, config: (route.config ?? {}) as Record<string, unknown> })))
    .filter(({ method, url }) => method !== 'HEAD' && !HIDDEN.has(`${method} ${url}`))
  const operation = (method: string, url: string): Operation | undefined => doc.paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()]
  const concrete = (url: string) => url.replace(/:(\w+)/g, 'no-such-$1')
  return { tc, app, admin, member, doc, registered, operation, concrete }
}

t.test('every registered route is documented with its success and the problems it can answer', async (t) => {
  const { app, admin, member, doc, registered, operation, concrete } = await documentedApp(t)
  t.ok(registered.length >= 25, `${registered.length} routes`)
  const documentedCount = Object.values(doc.paths).reduce((sum, operations) => sum + Object.keys(operations).length, 0)
  t.equal(documentedCount, registered.length, 'nothing is documented that is not a route')
  t.notOk(doc.paths['/openapi.json'], '/openapi.json itself is hidden')

  for (const { method, url, config } of registered) {
    const name = `${method} ${url}`
    const op = operation(method, url)
    if (op === undefined) {
      t.fail(`${name} is not in /openapi.json`)
      continue
    }
    const statuses = Object.keys(op.responses)
    const success = statuses.filter((status) => /^2\d\d$/.test(status))
    t.ok(success.length > 0, `${name}: documents its success (${success.join(', ')})`)
    for (const [status, response] of Object.entries(op.responses)) {
      const schemas = Object.values(response.content ?? {}).map((media) => media.schema)
      t.ok(schemas.length > 0 && schemas.every((schema) => schema !== undefined), `${name} ${status}: has a response schema`)
      if (/^[45]\d\d$/.test(status) && status !== '503') {
        t.same(response.content?.['application/problem+json']?.schema, { $ref: '#/components/schemas/Problem' }, `${name} ${status}: a problem document`)
      }
    }
    t.ok(statuses.includes('500'), `${name}: documents 500`)
    if (config['rateLimit'] !== false) t.ok(statuses.includes('429'), `${name}: documents 429`)

    // Provoke what the framework answers and check each answer is documented.
    const provoked: Array<[string, number]> = []
    if (config['public'] !== true) {
      provoked.push(['no token', (await app.inject({ method: method as 'GET', url: concrete(url) })).statusCode])
      t.same(op.security, undefined, `${name}: uses the default bearer security`)
    } else {
      t.same(op.security, [], `${name}: needs no token`)
    }
    if (config['role'] === 'admin') {
      provoked.push([
        'member token',
        (await app.inject({ method: method as 'GET', url: concrete(url), headers: { authorization: `Bearer ${member}` } })).statusCode,
      ])
    }
    const auth = { authorization: `Bearer ${admin}` }
    if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
      const big = JSON.stringify({ x: 'a'.repeat(JSON_LIMIT) })
      provoked.push([
        'oversized JSON',
        (await app.inject({ method: method as 'POST', url: concrete(url), headers: { ...auth, 'content-type': 'application/json' }, payload: big })).statusCode,
      ])
      provoked.push([
        'text/plain body',
        (await app.inject({ method: method as 'POST', url: concrete(url), headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' })).statusCode,
      ])
      provoked.push([
        'malformed JSON',
        (await app.inject({ method: method as 'POST', url: concrete(url), headers: { ...auth, 'content-type': 'application/json' }, payload: '{' })).statusCode,
      ])
    }
    if (url.includes(':')) {
      provoked.push([
        'overlong parameter',
        (await app.inject({ method: method as 'GET', url: url.replace(/:(\w+)/g, 'x'.repeat(300)), headers: auth })).statusCode,
      ])
    }
    for (const [what, status] of provoked) {
      t.ok(statuses.includes(String(status)), `${name}: ${what} answers ${status}, which is documented`)
    }
    if (url.includes(':')) {
      const overlong = await app.inject({ method: method as 'GET', url: url.replace(/:(\w+)/g, 'x'.repeat(MAX_PARAM_LENGTH + 1)), headers: auth })
      t.match(overlong.headers['content-type'], /^application\/problem\+json/, `${name}: an overlong parameter is a problem document`)
    }
  }
})

t.test('every rate-limited route documents the 429 it answers; monitoring routes are never limited', async (t) => {
  const { app, admin, registered, operation, concrete } = await documentedApp(t, { rateLimit: { localPerMinute: 1 } })
  const auth = { authorization: `Bearer ${admin}` }
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/cases', headers: auth })).statusCode, 200, 'the token spends its budget')
  const exempt: string[] = []
  for (const { method, url, config } of registered) {
    const response = await app.inject({ method: method as 'GET', url: concrete(url), headers: auth })
    const statuses = Object.keys(operation(method, url)?.responses ?? {})
    if (config['rateLimit'] === false) {
      exempt.push(`${method} ${url}`)
      t.not(response.statusCode, 429, `${method} ${url} is not limited`)
      continue
    }
    t.equal(response.statusCode, 429, `${method} ${url} is limited`)
    t.ok(statuses.includes('429'), `${method} ${url} documents 429`)
  }
  t.same(exempt.sort(), ['GET /healthz', 'GET /metrics', 'GET /readyz'], 'only the monitoring routes are exempt')
})

t.test('the operations routes are documented as such', async (t) => {
  const { operation } = await documentedApp(t)
  const readyz = operation('GET', '/readyz')!
  t.same(Object.keys(readyz.responses).sort(), ['200', '500', '503'])
  t.ok(readyz.responses['503']!.content?.['application/json'], '503 is application/json, not a problem document')
  t.same(readyz.security, [])
  const metrics = operation('GET', '/metrics')!
  t.same(Object.keys(metrics.responses).sort(), ['200', '500'])
  t.ok(metrics.responses['200']!.content?.['text/plain'])
})

// spec: CW-LOC-024
t.test('every operation has an operationId: camelCase, unique, the one published in OPERATION_IDS', async (t) => {
  const { doc, registered } = await documentedApp(t)
  const ids: string[] = []
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const operationId = (op as { operationId?: unknown }).operationId
      t.type(operationId, 'string', `${method.toUpperCase()} ${path} has an operationId`)
      t.match(operationId, /^[a-z][a-zA-Z0-9]*$/, `${method.toUpperCase()} ${path}: ${String(operationId)} is camelCase`)
      const route = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
      t.equal(operationId, OPERATION_IDS[route], `${route}: the published name`)
      ids.push(String(operationId))
    }
  }
  t.equal(ids.length, registered.length, 'one per operation')
  t.equal(new Set(ids).size, ids.length, 'no two operations share one')
  t.same(Object.keys(OPERATION_IDS).sort(), registered.map(({ method, url }) => `${method} ${url}`).sort(), 'no name for a route that is gone')
  // Stable: a few names clients are generated with, pinned.
  t.equal(OPERATION_IDS['GET /api/v1/evidence/:id/content'], 'downloadEvidence')
  t.equal(OPERATION_IDS['POST /api/v1/shares'], 'createShare')
})

// spec: CW-LOC-024
t.test('the document names its servers: the listener that served it and the configured address', async (t) => {
  const { doc } = await documentedApp(t)
  const servers = (doc as unknown as { servers: Array<{ url: string; variables?: Record<string, { default: string }> }> }).servers
  t.equal(servers[0]?.url, '/')
  t.equal(servers[1]?.url, 'http://{host}:{port}')
  t.equal(servers[1]?.variables?.['host']?.default, '127.0.0.1')
})

t.test('a documented route without an operationId is refused when it is registered', async (t) => {
  const tc = await createTestContext()
  const app = Fastify({ logger: false })
  t.teardown(async () => {
    await app.close()
    await tc.close()
  })
  const loading = async () => {
    await app.register(async (instance) => {
      await localApp(instance, { ctx: tc.ctx })
      instance.get('/api/v1/unnamed', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}))
    })
    await app.ready()
  }
  await t.rejects(loading, /GET \/api\/v1\/unnamed has no operationId/)
})
