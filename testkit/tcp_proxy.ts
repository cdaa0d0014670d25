/**
 * A TCP pass-through proxy on 127.0.0.1, for the replica tests and `npm run demo:replicas`: one
 * federation address in front of several replicas of one organization's node. It forwards bytes
 * only, so mutual TLS still ends at the node (the proxy never sees a key or a plaintext byte).
 *
 * Each accepted connection goes to the next upstream in round robin; an upstream that refuses
 * the connection (its replica is down) is skipped, and the client is dropped only when every
 * upstream refused.
 *
 * @module
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'

export interface TcpUpstream {
  host?: string
  port: number
}

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  port: number
  /** `https://127.0.0.1:<port>`: the federation address partners are given. */
  url: string
  /** Connections forwarded so far, per upstream index. */
  forwarded(): number[]
  /** Replaces the upstreams (e.g. a replica restarted on another port). */
  setUpstreams(upstreams: TcpUpstream[]): void
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>
}

export interface TcpProxyOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number
}

/** Starts a proxy forwarding to `upstreams`. */
export async function startTcpProxy(upstreams: TcpUpstream[], options: TcpProxyOptions = {}): Promise<TcpProxy> {
  let targets = [...upstreams]
  let counts = targets.map(() => 0)
  let next = 0
  const open = new Set<Socket>()
  const track = (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  }

  // Tries the upstreams from the next in turn; resolves the connected socket and its index,
  // or undefined when every one refused.
  const connectUpstream = async (): Promise<{ socket: Socket; index: number } | undefined> => {
    const start = next
    next = (next + 1) % Math.max(targets.length, 1)
    for (let tried = 0; tried < targets.length; tried++) {
      const index = (start + tried) % targets.length
      const target = targets[index]!
      const socket = await new Promise<Socket | undefined>((resolve) => {
        const candidate = connect({ host: target.host ?? '127.0.0.1', port: target.port })
        const refused = () => {
          candidate.destroy()
          resolve(undefined)
        }
        candidate.once('error', refused)
        candidate.once('connect', () => {
          candidate.off('error', refused)
          resolve(candidate)
        })
      })
      if (socket !== undefined) {
        counts[index] = (counts[index] ?? 0) + 1
        return { socket, index }
      }
    }
    return undefined
  }

  const server = createServer((client) => {
    track(client)
    client.pause()
    // A client that goes away before its upstream is connected must not crash the proxy.
    client.on('error', () => client.destroy())
    void connectUpstream().then((upstream) => {
      if (upstream === undefined || client.destroyed) {
        upstream?.socket.destroy()
        client.destroy()
        return
      }
      const { socket } = upstream
      track(socket)
      socket.on('error', () => client.destroy())
      client.on('error', () => socket.destroy())
      // Either side closing ends the pair: a killed replica's connection is cut for its client.
      socket.once('close', () => client.destroy())
      client.once('close', () => socket.destroy())
      client.pipe(socket)
      socket.pipe(client)
      client.resume()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    forwarded: () => [...counts],
    setUpstreams(replacement) {
      targets = [...replacement]
      counts = targets.map(() => 0)
      next = 0
    },
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
