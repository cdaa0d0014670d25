/**
 * Limits of the local listener: body size, request rate per token (or address), and slow
 * clients — a slowloris client sending its headers byte by byte is cut off while the node
 * keeps answering, and a slowly streamed upload still completes.
 */
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { LocalClient } from '../../../client/local_client.ts'
import { createLocalServer } from '../../src/local/server.ts'
import { createToken } from '../../src/access/tokens.ts'
import { createTestContext } from '../helpers/context.ts'
import { createTestApp } from '../helpers/local_app.ts'

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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
  t.same(guesses.map((response) => response.statusCode), [401, 401, 401], 'each guessed token has its own budget')
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

/** Opens a raw connection and sends `head` one byte every `everyMs`; resolves when the server closes it. */
function slowloris(port: number, head: string, everyMs: number): { closed: Promise<{ afterMs: number; sent: number; answer: string }>; socket: Socket } {
  const socket = connect({ host: '127.0.0.1', port })
  const started = Date.now()
  let sent = 0
  let answer = ''
  socket.setEncoding('utf8')
  socket.on('data', (data: string) => (answer += data))
  socket.on('error', () => undefined)
  const timer = setInterval(() => {
    if (sent < head.length && !socket.destroyed) socket.write(head[sent++]!)
  }, everyMs)
  const closed = new Promise<{ afterMs: number; sent: number; answer: string }>((resolve) => {
    socket.on('close', () => {
      clearInterval(timer)
      resolve({ afterMs: Date.now() - started, sent, answer })
    })
  })
  return { closed, socket }
}

// spec: CW-FED-011
t.test('slow clients: headers sent byte by byte are cut off while the node keeps answering; a slow upload completes', async (t) => {
  // requestTimeoutMs 1000: headers must arrive within 1 s; a connection idle for 1 s is dropped.
  const tc = await createTestContext({ limits: { requestTimeoutMs: 1000 } })
  const server = await createLocalServer(tc.ctx, { logger: false })
  await server.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await server.close()
    await tc.close()
  })
  const { port } = server.server.address() as AddressInfo
  const baseUrl = `http://127.0.0.1:${port}`
  const { token } = await createToken(tc.ctx, { userId: 'admin-1', role: 'admin' })
  const api = new LocalClient({ baseUrl, token })

  // Every 100 ms one more byte: the connection is never idle, but the headers take 6 s.
  const head = `GET /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nX-Padding: ${'p'.repeat(20)}\r\n\r\n`
  const attacks = [slowloris(port, head, 100), slowloris(port, head, 100)]
  t.teardown(() => attacks.forEach(({ socket }) => socket.destroy()))

  // Meanwhile the node answers everyone else promptly.
  const answered: number[] = []
  for (let i = 0; i < 8; i += 1) {
    const started = Date.now()
    const response = await fetch(`${baseUrl}/healthz`)
    t.equal(response.status, 200)
    answered.push(Date.now() - started)
    await delay(150)
  }
  t.ok(Math.max(...answered) < 500, `other requests answered in ${answered.join(', ')} ms`)

  for (const { closed } of attacks) {
    const { afterMs, sent, answer } = await closed
    t.ok(afterMs < 3500, `cut off after ${afterMs} ms`)
    t.ok(sent < head.length, `before sending all its headers (${sent} of ${head.length} bytes)`)
    t.notMatch(answer, /"cases"/, 'and never served')
  }

  // A streamed upload that takes longer than the headers timeout still completes.
  const theCase = await api.createCase({ title: 'Slow upload' })
  const piece = new Uint8Array(64 * 1024).fill(7)
  const started = Date.now()
  async function* slowly() {
    for (let i = 0; i < 6; i += 1) {
      yield piece
      await delay(400)
    }
  }
  const evidence = await api.uploadEvidence(theCase.id, { name: 'slow.bin', category: 'document' }, slowly())
  t.ok(Date.now() - started > 2000, `the upload took ${Date.now() - started} ms`)
  t.equal(evidence.size, 6 * piece.byteLength, 'and every byte was stored')
})
