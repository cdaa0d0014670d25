/**
 * The tests' TCP pass-through proxy: bytes go through unchanged in both directions, connections
 * are spread round robin over the upstreams, and an upstream that refuses (its replica is down)
 * is skipped instead of failing the client.
 */
import t, { type Test } from 'tap'
import { createServer, connect, type AddressInfo, type Server } from 'node:net'
import { startTcpProxy } from '../../testkit/tcp_proxy.ts'

/** An upstream that answers each connection with its name followed by what it was sent. */
async function echoServer(t: Test, name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    socket.write(`${name}:`)
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.address() as AddressInfo).port, server }
}

/** A free port nothing listens on: connecting to it is refused. */
async function refusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Sends `text` through the proxy, half-closes, and returns all that came back. */
async function exchange(port: number, text: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (data: string) => {
      received += data
      if (received.endsWith(text)) socket.end()
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(received))
    socket.write(text)
  })
}

t.test('forwards bytes both ways, round robin over the upstreams', async (t) => {
  const [a, b] = await Promise.all([echoServer(t, 'a'), echoServer(t, 'b')])
  const proxy = await startTcpProxy([{ port: a.port }, { port: b.port }])
  t.teardown(() => proxy.close())
  t.match(proxy.url, /^https:\/\/127\.0\.0\.1:\d+$/)
  const big = 'x'.repeat(1 << 20)
  t.equal(await exchange(proxy.port, big), `a:${big}`, 'a megabyte goes through unchanged')
  t.equal(await exchange(proxy.port, 'hello'), 'b:hello')
  t.equal(await exchange(proxy.port, 'again'), 'a:again')
  t.same(proxy.forwarded(), [2, 1])
})

t.test('skips an upstream that refuses the connection, and drops the client when all refuse', async (t) => {
  const a = await echoServer(t, 'a')
  const down = await refusedPort()
  const proxy = await startTcpProxy([{ port: down }, { port: a.port }])
  t.teardown(() => proxy.close())
  t.equal(await exchange(proxy.port, 'one'), 'a:one')
  t.equal(await exchange(proxy.port, 'two'), 'a:two')
  t.same(proxy.forwarded(), [0, 2], 'the refusing upstream got nothing')

  proxy.setUpstreams([{ port: down }])
  t.equal(await exchange(proxy.port, 'lost'), '', 'the client is closed without an answer')
})

t.test('a replica going away cuts its clients, and close() ends open connections', async (t) => {
  const a = await echoServer(t, 'a')
  const proxy = await startTcpProxy([{ port: a.port }])
  const socket = connect({ host: '127.0.0.1', port: proxy.port })
  await new Promise((resolve) => socket.once('data', resolve))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.on('error', () => undefined)
  await proxy.close()
  await closed
  t.pass('the client saw its connection closed')
})
