/**
 * A local SMTP receiver for `caseway demo`: `smtp-server` on 127.0.0.1 (plain SMTP, no auth),
 * recording every message so the demo can show the notification e-mail a node sent.
 *
 * `smtp-server` is a devDependency, loaded only here and only when the demo runs: where it is
 * not installed, {@link startSmtpReceiver} resolves `undefined` and the demo skips that step.
 *
 * @module
 */
import type { AddressInfo } from 'node:net'
import { decodeBody, decodeWords, parseMessage } from './mail_message.ts'

export interface CaughtEmail {
  /** Envelope: MAIL FROM and RCPT TO. */
  envelopeFrom: string
  envelopeTo: string[]
  /** Header values (unfolded, encoded words decoded). */
  from: string
  to: string
  subject: string
  /** The text body, transfer encoding undone, `\n` line ends. */
  text: string
}

export interface SmtpReceiver {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly caught: readonly CaughtEmail[]
  /** Resolves with the first message whose envelope names `to`; rejects after `timeoutMs`. */
  waitFor(to: string, timeoutMs: number): Promise<CaughtEmail>
  close(): Promise<void>
}

/** Starts the receiver on 127.0.0.1, port 0; `undefined` when `smtp-server` is not installed. */
export async function startSmtpReceiver(): Promise<SmtpReceiver | undefined> {
  let SMTPServer: typeof import('smtp-server').SMTPServer
  try {
    ;({ SMTPServer } = await import('smtp-server'))
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw error
  }
  const caught: CaughtEmail[] = []
  const wakes: Array<() => void> = []
  const server = new SMTPServer({
    // Loopback only, nothing to protect: no STARTTLS (no certificate), no auth.
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    closeTimeout: 1_000,
    onData(stream, session, callback) {
      const parts: Buffer[] = []
      stream.on('data', (part: Buffer) => parts.push(part))
      stream.on('end', () => {
        const { headers, body } = parseMessage(Buffer.concat(parts).toString('utf8'))
        caught.push({
          envelopeFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          from: decodeWords(headers.get('from') ?? ''),
          to: decodeWords(headers.get('to') ?? ''),
          subject: decodeWords(headers.get('subject') ?? ''),
          text: decodeBody(body, headers.get('content-transfer-encoding') ?? '7bit'),
        })
        for (const wake of wakes.splice(0)) wake()
        callback()
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    host: '127.0.0.1',
    port,
    caught,
    async waitFor(to, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = caught.find((email) => email.envelopeTo.some((address) => address.toLowerCase() === to.toLowerCase()))
        if (found !== undefined) return found
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no e-mail to ${to} reached the local SMTP receiver within ${Math.round(timeoutMs / 1000)} s`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          wakes.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()))
      return closing
    },
  }
}
