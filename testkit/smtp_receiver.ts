/**
 * A real SMTP server on 127.0.0.1 (`smtp-server`), for the tests and `caseway demo`: it records
 * every message with its envelope, can require a user and password, and can refuse connections
 * with `421` (the server is busy) until told otherwise. Plain SMTP on loopback: no STARTTLS.
 *
 * `smtp-server` is a devDependency, loaded only here: where it is not installed,
 * {@link startSmtpReceiver} resolves `undefined` (the demo then skips its e-mail step), and
 * {@link startSmtpServer}, the tests' entry point, throws.
 *
 * @module
 */
import type { AddressInfo } from 'node:net'
import { decodeBody, decodeWords, parseMessage } from './mail_message.ts'

export interface ReceivedEmail {
  /** Envelope: MAIL FROM and RCPT TO addresses. */
  from: string
  to: string[]
  /** The authenticated user, if the client logged in. */
  user: string | null
  /** Headers unfolded; keys lower case. */
  headers: Map<string, string>
  /** The Subject header, encoded words decoded. */
  subject: string
  /** The text body, transfer encoding undone, `\n` line ends. */
  text: string
  raw: string
}

export interface SmtpReceiver {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly received: readonly ReceivedEmail[]
  /** Connections the server saw (refused ones too). */
  connections(): number
  /** While set, every new connection is answered `421` and closed. */
  refuse(on: boolean): void
  /** Answers `RCPT TO` for these addresses `550 5.1.1` (a permanent failure); none by default. */
  rejectRecipients(addresses: readonly string[]): void
  /** Resolves once `count` messages have arrived; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedEmail[]>
  /** Resolves with the first message whose envelope names `to`; rejects after `timeoutMs`. */
  waitFor(to: string, timeoutMs?: number): Promise<ReceivedEmail>
  close(): Promise<void>
}

export interface SmtpReceiverOptions {
  /** Listen on this port (default: any free one). */
  port?: number
  /** Require AUTH with these credentials (default: AUTH optional, any credentials accepted). */
  credentials?: { user: string; password: string }
  /** Refuse connections with 421 from the start. */
  refusing?: boolean
}

/** Starts the receiver; `undefined` when `smtp-server` is not installed. */
export async function startSmtpReceiver(options: SmtpReceiverOptions = {}): Promise<SmtpReceiver | undefined> {
  let SMTPServer: typeof import('smtp-server').SMTPServer
  try {
    ;({ SMTPServer } = await import('smtp-server'))
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw error
  }
  const received: ReceivedEmail[] = []
  let refusing = options.refusing === true
  let rejected = new Set<string>()
  let connections = 0
  const wakes: Array<() => void> = []
  const server = new SMTPServer({
    // Plain SMTP on loopback: no STARTTLS (no certificate to trust), AUTH over it allowed.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: options.credentials === undefined,
    logger: false,
    closeTimeout: 1_000,
    onConnect(_session, callback) {
      connections += 1
      if (!refusing) return callback()
      const error = new Error('Service not available, try again later') as Error & { responseCode: number }
      error.responseCode = 421
      callback(error)
    },
    onRcptTo(address, _session, callback) {
      if (!rejected.has(address.address.toLowerCase())) return callback()
      const error = new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`) as Error & { responseCode: number }
      error.responseCode = 550
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
        for (const wake of wakes.splice(0)) wake()
        callback()
      })
    },
  })
  // smtp-server re-emits every client connection's socket error on the server: a node killed
  // mid-session (the crash tests) resets its connection, which is the client's end, not ours.
  server.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port

  /** Waits until `found()` gives a value, waking at each message; rejects with `failure()` after `timeoutMs`. */
  async function until<T>(found: () => T | undefined, timeoutMs: number, failure: () => string): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = found()
      if (value !== undefined) return value
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(failure())
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        wakes.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  let closing: Promise<void> | undefined
  return {
    host: '127.0.0.1',
    port,
    received,
    connections: () => connections,
    refuse(on) {
      refusing = on
    },
    rejectRecipients(addresses) {
      rejected = new Set(addresses.map((address) => address.toLowerCase()))
    },
    waitForMessages(count, timeoutMs = 15_000) {
      return until(
        () => (received.length >= count ? received : undefined),
        timeoutMs,
        () => `SMTP server received ${received.length} of ${count} messages`,
      )
    },
    waitFor(to, timeoutMs = 15_000) {
      return until(
        () => received.find((email) => email.to.some((address) => address.toLowerCase() === to.toLowerCase())),
        timeoutMs,
        () => `no e-mail to ${to} reached the local SMTP receiver within ${Math.round(timeoutMs / 1000)} s`,
      )
    },
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()))
      return closing
    },
  }
}

/** What tap's `t` offers that {@link startSmtpServer} needs. */
interface TestHandle {
  teardown(fn: () => unknown): void
}

/** The receiver for a test: closed at the test's end; throws where `smtp-server` is missing. */
export async function startSmtpServer(t: TestHandle, options: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
  const receiver = await startSmtpReceiver(options)
  if (receiver === undefined) throw new Error('smtp-server (a devDependency) is not installed: run npm ci')
  t.teardown(() => receiver.close())
  return receiver
}
