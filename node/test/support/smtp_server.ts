/**
 * A real SMTP server for the notification tests (`smtp-server` on 127.0.0.1): it records every
 * message with its envelope, can require a user and password, and can refuse connections
 * with `421` (the server is busy) until told otherwise.
 */
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { decodeBody, decodeWords, parseMessage } from '../../../testkit/mail_message.ts'

export interface ReceivedEmail {
  /** Envelope: MAIL FROM and RCPT TO addresses. */
  from: string
  to: string[]
  /** The authenticated user, if the client logged in. */
  user: string | null
  /** Headers unfolded; keys lower case. */
  headers: Map<string, string>
  subject: string
  /** The text body, transfer encoding undone. */
  text: string
  raw: string
}

export interface TestSmtpServer {
  port: number
  received: ReceivedEmail[]
  /** Connections the server saw (refused ones too). */
  connections(): number
  /** While set, every new connection is answered `421` and closed. */
  refuse(on: boolean): void
  /** Resolves at the next message (or the one already received beyond `count`). */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedEmail[]>
  close(): Promise<void>
}

export interface SmtpOptions {
  /** Listen on this port (default: any free one). */
  port?: number
  /** Require AUTH with these credentials (default: auth optional, any credentials accepted). */
  credentials?: { user: string; password: string }
  /** Refuse connections with 421 from the start. */
  refusing?: boolean
}

/** What tap's `t` offers that the helper needs. */
interface TestHandle {
  teardown(fn: () => unknown): void
}

export async function startSmtpServer(t: TestHandle, options: SmtpOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedEmail[] = []
  let refusing = options.refusing === true
  let connections = 0
  const waiters: Array<() => void> = []
  const server = new SMTPServer({
    // Plain SMTP on loopback: no STARTTLS (no certificate to trust), auth over it allowed.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: options.credentials === undefined,
    logger: false,
    onConnect(_session, callback) {
      connections += 1
      if (!refusing) return callback()
      const error = new Error('Service not available, try again later') as Error & { responseCode: number }
      error.responseCode = 421
      callback(error)
    },
    onAuth(auth, _session, callback) {
      const expected = options.credentials
      if (expected !== undefined && (auth.username !== expected.user || auth.password !== expected.password)) {
        return callback(new Error('Invalid username or password'))
      }
      callback(null, { user: auth.username })
    },
    onData(stream, session, callback) {
      const parts: Buffer[] = []
      stream.on('data', (part: Buffer) => parts.push(part))
      stream.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8')
        const { headers, body } = parseMessage(raw)
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : null,
          headers,
          subject: decodeWords(headers.get('subject') ?? ''),
          text: decodeBody(body, headers.get('content-transfer-encoding') ?? '7bit'),
          raw,
        })
        for (const wake of waiters.splice(0)) wake()
        callback()
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port
  let closed = false
  const close = () => {
    if (closed) return Promise.resolve()
    closed = true
    return new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return {
    port,
    received,
    connections: () => connections,
    refuse(on) {
      refusing = on
    },
    async waitForMessages(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      while (received.length < count) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`SMTP server received ${received.length} of ${count} messages`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      return received
    },
    close,
  }
}
