/**
 * The e-mail notification: a short plain-text message, no links, built from a
 * {@link ShareNotice}, sent over SMTP with nodemailer.
 *
 * A fresh SMTP connection per message (notifications are rare; nothing to keep open). Errors
 * are rewritten to a short message without the library's extra properties, so that nothing
 * of the SMTP conversation other than the server's reply reaches logs or the job's lastError.
 *
 * @module
 */
import { createTransport } from 'nodemailer'
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js'
import type { NodeConfig } from '../config/schema.ts'
import type { ShareNotice } from './notice.ts'

type SmtpConfig = NonNullable<NodeConfig['notifications']['smtp']>

export interface ShareEmail {
  subject: string
  text: string
}

/** Connection, greeting and idle-socket timeouts. */
const CONNECTION_TIMEOUT_MS = 15_000
const GREETING_TIMEOUT_MS = 15_000
const SOCKET_TIMEOUT_MS = 30_000
const MAX_LINE_FIELD = 200
const MAX_MESSAGE = 4000
const MAX_ERROR = 500

/** One line of text: control characters become spaces, whitespace is collapsed, length bounded. */
function oneLine(text: string, max = MAX_LINE_FIELD): string {
  const flat = text
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** The sender's message: line breaks kept, other control characters dropped, length bounded. */
function messageText(text: string): string {
  const clean = text
    .replace(/\r\n?/g, '\n')
    .replace(/[^\P{Cc}\n\t]/gu, '')
    .trim()
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean
}

/** Subject and body of the e-mail about `notice`, for our organization `ourName`. */
export function composeShareEmail(notice: ShareNotice, ourName: string): ShareEmail {
  const sender = oneLine(notice.sender.name) || notice.sender.org
  const caseNumber = notice.caseNumber === null ? '' : oneLine(notice.caseNumber)
  const title = notice.title === null ? '' : oneLine(notice.title)
  const update = notice.revision > 1
  const label = caseNumber !== '' ? `case ${caseNumber}${title !== '' ? ` – ${title}` : ''}` : title !== '' ? `case "${title}"` : 'a case'
  const subject = oneLine(`[Caseway] ${sender} ${update ? 'updated' : 'shared'} ${label}`, 250)

  const lines = [
    update
      ? `${sender} (${notice.sender.org}) sent an update (revision ${notice.revision}) of a case shared with ${oneLine(ourName)}.`
      : `${sender} (${notice.sender.org}) shared a case with ${oneLine(ourName)}.`,
    '',
  ]
  if (notice.addition !== undefined) lines.push('A colleague at your agency added you as a recipient of this case.', '')
  if (caseNumber !== '') lines.push(`Case number: ${caseNumber}`)
  if (title !== '') lines.push(`Title: ${title}`)
  lines.push(`Evidence items: ${notice.items}`)
  const message = notice.message === null ? '' : messageText(notice.message)
  if (message !== '') lines.push('', `Message from ${sender}:`, ...message.split('\n').map((line) => `  ${line}`))
  lines.push(
    '',
    'The case is listed under External cases in Caseway.',
    `Reference: external case ${notice.inboundId}, revision ${notice.revision}.`,
    '',
    'This is an automatic message. It carries no evidence and no links.',
  )
  return { subject, text: lines.join('\n') + '\n' }
}

export interface OutgoingEmail extends ShareEmail {
  to: readonly string[]
  /** Message-ID without angle brackets, the same on every retry. */
  messageId: string
}

/** What the SMTP server did with the recipients of a sent message. */
export interface SentEmail {
  accepted: number
  rejected: number
}

/**
 * Sends `email` through the SMTP server of `smtp`.
 *
 * @throws {Error} `SMTP …` with the server's reply on failure: retryable (the job runner retries),
 *   except after a `5xx` reply (`permanent: true`, CW-NOT-007).
 */
export async function sendEmail(smtp: SmtpConfig, email: OutgoingEmail, signal: AbortSignal): Promise<SentEmail> {
  signal.throwIfAborted()
  const options: SMTPTransport.Options = {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  }
  if (smtp.user !== undefined && smtp.password !== undefined) options.auth = { user: smtp.user, pass: smtp.password }
  const transport = createTransport(options)
  try {
    const info = await untilAborted(
      transport.sendMail({
        from: smtp.from,
        to: [...email.to],
        subject: email.subject,
        text: email.text,
        messageId: `<${email.messageId}>`,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
      }),
      signal,
    )
    return { accepted: info.accepted.length, rejected: info.rejected.length }
  } catch (error) {
    if (signal.aborted) throw signal.reason
    throw smtpError(error)
  } finally {
    transport.close()
  }
}

/**
 * A short error naming the failure and the server's reply; none of the library's properties.
 * A `5xx` reply is permanent (RFC 5321 §4.2.1: the same command will fail again): the error
 * carries `permanent: true`, so the notification is dead at once (CW-NOT-007).
 */
function smtpError(error: unknown): Error & { permanent?: true } {
  const { code, command, message, responseCode } = (error ?? {}) as { code?: unknown; command?: unknown; message?: unknown; responseCode?: unknown }
  // spec: CW-NOT-007 — a permanent reply is not retried; the reply goes on the status.
  const permanent = typeof responseCode === 'number' && responseCode >= 500 && responseCode <= 599
  const parts = ['SMTP']
  if (permanent) parts.push(`permanent ${responseCode}`)
  if (typeof code === 'string') parts.push(code)
  if (typeof command === 'string' && !command.startsWith('AUTH')) parts.push(`at ${command}`)
  else if (typeof command === 'string') parts.push('at AUTH')
  const text = oneLine(`${parts.join(' ')}: ${typeof message === 'string' ? message : String(error)}`, MAX_ERROR)
  const wrapped: Error & { permanent?: true } = new Error(text)
  wrapped.name = 'SmtpError'
  if (permanent) wrapped.permanent = true
  return wrapped
}

/** `promise`, or a rejection with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // The signal's own reason, as an aborted fetch or stream rejects with.
    const onAbort = () => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
