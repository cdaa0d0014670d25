/**
 * Raw HTTP/1.1 over mutual TLS, for the robustness tests: what an HTTP client library will
 * not do on purpose (trickle request headers a byte at a time, send bytes that are not HTTP,
 * stream a body far over the limit and stop at the first answer, hold many connections open
 * at once). The connection authenticates as the harness (or any identity) and checks the
 * target's certificate against its pinned CA.
 *
 * @module
 */
import { connect, type TLSSocket } from 'node:tls'
import type { ClientIdentity } from './client.ts'
import type { Exchange, RequestRecord } from './exchange.ts'
import type { Target } from './target.ts'

/** An HTTP response read off a raw connection. */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/** One TLS connection to the target's federation listener. */
export class RawConnection {
  readonly socket: TLSSocket
  readonly openedAt = Date.now()
  /** When the target (or we) closed the connection. */
  closedAt: number | undefined
  /** The first socket error (after the handshake), e.g. `ECONNRESET`, `EPIPE`. */
  error: string | undefined
  #received = Buffer.alloc(0)
  readonly #waiters = new Set<() => void>()

  private constructor(socket: TLSSocket) {
    this.socket = socket
    socket.on('data', (data: Buffer) => {
      this.#received = Buffer.concat([this.#received, data])
      this.#wake()
    })
    socket.on('error', (error: Error & { code?: string }) => {
      this.error ??= error.code ?? error.message
    })
    socket.on('close', () => {
      this.closedAt ??= Date.now()
      this.#wake()
    })
    // A half-close by the target ends our side too (nothing more will come).
    socket.on('end', () => socket.end())
  }

  /** Completes a TLS handshake with the target as `identity`. */
  static open(target: Target, identity: ClientIdentity, timeoutMs = 10_000): Promise<RawConnection> {
    const url = new URL(target.url)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    return new Promise((resolve, reject) => {
      const socket = connect({
        host,
        port: Number(url.port || 443),
        servername: /^[\d.:]+$/.test(host) ? undefined : host,
        ca: target.caPem,
        ...(identity.cert === undefined ? {} : { cert: identity.cert, key: identity.key }),
        minVersion: 'TLSv1.3',
        rejectUnauthorized: true,
      })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`TLS handshake with ${target.url} took longer than ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('secureConnect', () => {
        clearTimeout(timer)
        socket.removeListener('error', onError)
        resolve(new RawConnection(socket))
      })
      const onError = (error: Error) => {
        clearTimeout(timer)
        reject(error)
      }
      socket.once('error', onError)
    })
  }

  get closed(): boolean {
    return this.closedAt !== undefined
  }

  /** Everything received so far. */
  get received(): Buffer {
    return this.#received
  }

  /** Writes `data`; resolves false when the connection is gone (the target closed it). */
  write(data: string | Buffer): Promise<boolean> {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return Promise.resolve(false)
    return new Promise((resolve) => {
      const flushed = this.socket.write(data, (error) => {
        if (error) resolve(false)
        else if (flushed) resolve(true)
      })
      if (!flushed) {
        const done = (ok: boolean) => {
          this.socket.off('drain', onDrain)
          this.socket.off('close', onClose)
          resolve(ok)
        }
        const onDrain = () => done(true)
        const onClose = () => done(false)
        this.socket.once('drain', onDrain)
        this.socket.once('close', onClose)
      }
    })
  }

  /** The first complete response received, if any. */
  response(): RawResponse | undefined {
    return parseResponse(this.#received, this.closed)
  }

  /** Waits until a complete response arrived or the connection closed (or `timeoutMs` passed). */
  async settle(timeoutMs: number): Promise<RawResponse | undefined> {
    const deadline = Date.now() + timeoutMs
    while (this.response() === undefined && !this.closed && Date.now() < deadline) {
      await this.#next(deadline - Date.now())
    }
    return this.response()
  }

  /** Waits until the connection closes (or `timeoutMs` passed); resolves whether it closed. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed && Date.now() < deadline) await this.#next(deadline - Date.now())
    return this.closed
  }

  destroy(): void {
    this.socket.destroy()
  }

  #next(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.#waiters.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, Math.max(0, timeoutMs))
      this.#waiters.add(wake)
    })
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake()
  }
}

/** The request head of a `method path` request with `headers` (Host is added). */
export function requestHead(target: Target, method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${new URL(target.url).host}`]
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** A raw response as an {@link Exchange}, for the check helpers. */
export function asExchange(response: RawResponse, request: RequestRecord): Exchange {
  return { request, status: response.status, headers: response.headers, body: response.body, text: response.body.toString('utf8') }
}

/**
 * Parses the first HTTP response in `bytes`: complete when its head is complete and the body
 * has its `Content-Length`, its last chunk (chunked), or — with neither — when the connection
 * closed. Interim `1xx` responses are skipped.
 */
export function parseResponse(bytes: Buffer, closed: boolean): RawResponse | undefined {
  let rest = bytes
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) return undefined
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n')
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (status === null) return closed ? { status: 0, headers: {}, body: rest } : undefined
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const body = rest.subarray(end + 4)
    const code = Number(status[1])
    if (code >= 100 && code < 200) {
      rest = body
      continue
    }
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const decoded = dechunk(body)
      return decoded === undefined ? (closed ? { status: code, headers, body } : undefined) : { status: code, headers, body: decoded }
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length'])
      if (body.length >= length) return { status: code, headers, body: body.subarray(0, length) }
      return closed ? { status: code, headers, body } : undefined
    }
    return code === 204 || code === 304 || closed ? { status: code, headers, body } : undefined
  }
}

/** A complete chunked body, or undefined while its last chunk has not arrived. */
function dechunk(bytes: Buffer): Buffer | undefined {
  const pieces: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16)
    if (Number.isNaN(size)) return undefined
    if (size === 0) return Buffer.concat(pieces)
    const start = lineEnd + 2
    if (bytes.length < start + size + 2) return undefined
    pieces.push(bytes.subarray(start, start + size))
    at = start + size + 2
  }
}
