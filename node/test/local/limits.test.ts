/**
 * Limits of the local listener: body size and request rate per token (or address). Slow
 * clients are in `slow_clients.test.ts`.
 */
import t from 'tap'
import { createLocalServer } from '../../src/local/server.ts'
import { createToken } from '../../src/access/tokens.ts'
import { createTestContext } from '../support/context.ts'
import { createTestApp } from '../support/local_app.ts'

t.test('a JSON body over limits.jsonBodyBytes is 413 CW_ERR_TOO_LARGE, before the handler runs', async (t) => {
  const ta = await createTestApp({ limits: { jsonBodyBytes: 4096 } })
  t.teardown(() => ta.close())
  for (const request of [
    { method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'x'.repeat(5000) } } },
    { method: 'POST', url: '/api/v1/policies', payload: { name: 'x'.repeat(5000) } },
  ] as const) {
    const response = await ta.call(request)
    t.equal(response.statusCode, 413, request.url)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(response.json(), { code: 'CW_ERR_TOO_LARGE', status: 413 })
  }
  t.same((await ta.call({ method: 'GET', url: '/api/v1/cases' })).json().cases, [], 'no case was created')
})

t.test('rate limit: per token, then 429 CW_ERR_RATE_LIMITED with Retry-After; monitoring is never limited', async (t) => {
  const ta = await createTestApp({ limits: { rateLimit: { localPerMinute: 3 } } })
  t.teardown(() => ta.close())
  for (let i = 1; i <= 3; i += 1) t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases' })).statusCode, 200, `request ${i}`)
  const limited = await ta.call({ method: 'GET', url: '/api/v1/cases' })
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['content-type'], /^application\/problem\+json/)
  t.match(limited.json(), { type: 'urn:caseway:problem:rate-limited', status: 429, code: 'CW_ERR_RATE_LIMITED' })
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${limited.headers['retry-after']}`)
  t.equal(limited.headers['x-ratelimit-remaining'], undefined, 'the budget is not advertised')
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/cases', payload: {} })).statusCode, 429, 'every route of the token shares the budget')

  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: ta.memberToken })).statusCode, 200, 'another token has its own budget')
  for (let i = 0; i < 10; i += 1) {
    t.equal((await ta.call({ method: 'GET', url: '/healthz', token: null })).statusCode, 200)
    t.equal((await ta.call({ method: 'GET', url: '/readyz', token: null })).statusCode, 200)
    t.equal((await ta.call({ method: 'GET', url: '/metrics', token: null })).statusCode, 200)
  }
})

t.test('rate limit: guessing tokens is limited too (by address, before authentication)', async (t) => {
  const ta = await createTestApp({ limits: { rateLimit: { localPerMinute: 2 } } })
  t.teardown(() => ta.close())
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: null })).statusCode, 401)
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: null })).statusCode, 401)
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: null })).json().code, 'CW_ERR_RATE_LIMITED')
  const guesses = await Promise.all(['cw_a', 'cw_b', 'cw_c'].map((token) => ta.call({ method: 'GET', url: '/api/v1/cases', token })))
  t.same(
    guesses.map((response) => response.statusCode),
    [401, 401, 401],
    'each guessed token has its own budget',
  )
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: 'cw_a' })).statusCode, 401)
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: 'cw_a' })).statusCode, 429, 'a guessed token counts as it is sent')
})

// spec: CW-ERR-001
t.test('a path the router refuses (an overlong parameter) is a problem document, on the real listener', async (t) => {
  const tc = await createTestContext()
  const server = await createLocalServer(tc.ctx, { logger: false })
  t.teardown(async () => {
    await server.close()
    await tc.close()
  })
  const { token } = await createToken(tc.ctx, { userId: 'admin-1', role: 'admin' })
  const response = await server.inject({ method: 'GET', url: `/api/v1/cases/${'c'.repeat(300)}`, headers: { authorization: `Bearer ${token}` } })
  t.equal(response.statusCode, 400)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.match(response.json(), { code: 'CW_ERR_BAD_REQUEST', status: 400 })
})

t.test('rate limit 0 means no limit', async (t) => {
  const ta = await createTestApp({ limits: { rateLimit: { localPerMinute: 0 } } })
  t.teardown(() => ta.close())
  for (let i = 0; i < 20; i += 1) t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases' })).statusCode, 200)
})
