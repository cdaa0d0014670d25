/**
 * Slow clients on the local listener: a slowloris client sending its headers byte by byte is
 * cut off while the node keeps answering, and a slowly streamed upload still completes. Seconds
 * of real waiting (the header timeout is real time), so not part of `npm run test:fast`.
 */
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { LocalClient } from '../../../client/local_client.ts'
import { createLocalServer } from '../../src/local/server.ts'
import { createToken } from '../../src/access/tokens.ts'
import { createTestContext } from '../support/context.ts'

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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
