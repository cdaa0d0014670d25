/**
 * Failed authentications are limited per client address, whatever token each try presents
 * (issue 11, finding 7): the general local limit is keyed by token, so a guesser that changed
 * the token with every try was never limited.
 */
import t from 'tap'
import { createTestApp } from '../support/local_app.ts'

let now = Date.parse('2026-12-01T00:00:00Z')
const ta = await createTestApp({ clock: { now: () => new Date(now) }, limits: { rateLimit: { failedAuthPerMinute: 3 } } })
t.teardown(() => ta.close())

/** A well-formed token nobody holds: a guess. */
function guess(n: number): string {
  return 'cw_' + String(n).padStart(43, 'A')
}

// spec: CW-LOC-012
t.test('after the limit of failures, an address gets 429 with Retry-After, for guesses and valid tokens alike; other addresses are served', async (t) => {
  for (let n = 0; n < 3; n++) {
    const answer = await ta.call({ method: 'GET', url: '/api/v1/cases', token: guess(n), remoteAddress: '10.9.0.1' })
    t.equal(answer.statusCode, 401, `guess ${n}: a fresh token each time`)
  }
  const limited = await ta.call({ method: 'GET', url: '/api/v1/cases', token: guess(3), remoteAddress: '10.9.0.1' })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { code: 'CW_ERR_RATE_LIMITED', status: 429 })
  t.equal(limited.headers['retry-after'], '60')
  const valid = await ta.call({ method: 'GET', url: '/api/v1/cases', remoteAddress: '10.9.0.1' })
  t.equal(valid.statusCode, 429, 'a valid token from that address waits too: no token is looked at')
  const none = await ta.call({ method: 'GET', url: '/api/v1/cases', token: null, remoteAddress: '10.9.0.1' })
  t.equal(none.statusCode, 429, 'nor is a request without one')

  const other = await ta.call({ method: 'GET', url: '/api/v1/cases', remoteAddress: '10.9.0.2' })
  t.equal(other.statusCode, 200, 'another address is served')
  const health = await ta.call({ method: 'GET', url: '/healthz', token: null, remoteAddress: '10.9.0.1' })
  t.equal(health.statusCode, 200, 'public routes stay open')

  now += 45_000
  const later = await ta.call({ method: 'GET', url: '/api/v1/cases', token: guess(4), remoteAddress: '10.9.0.1' })
  t.equal(later.statusCode, 429)
  t.equal(later.headers['retry-after'], '15', 'the rest of the window')
  now += 15_000
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', remoteAddress: '10.9.0.1' })).statusCode, 200, 'served again once the minute is over')
})

// spec: CW-LOC-012
t.test('successes do not count; failures of one address do not limit another', async (t) => {
  now += 60_000
  for (let n = 0; n < 10; n++) t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', remoteAddress: '10.9.1.1' })).statusCode, 200)
  for (let n = 0; n < 2; n++) t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: guess(n), remoteAddress: '10.9.1.1' })).statusCode, 401)
  for (let n = 0; n < 3; n++) t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: guess(n), remoteAddress: '10.9.1.2' })).statusCode, 401)
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', remoteAddress: '10.9.1.1' })).statusCode, 200, 'two failures: under the limit')
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', remoteAddress: '10.9.1.2' })).statusCode, 429)
})
