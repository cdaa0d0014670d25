/**
 * The webhook signature (SPEC.md CW-NOT-002, CW-NOT-003): the header
 * `Caseway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 *
 * The key is the UTF-8 bytes of the configured secret; the signed text is the decimal
 * timestamp, a full stop, and the exact bytes of the request body. A receiver recomputes the
 * HMAC over the body bytes it received (before parsing them), compares in constant time, and
 * refuses a timestamp more than {@link WEBHOOK_TOLERANCE_SECONDS} away from its own clock.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export const WEBHOOK_SIGNATURE_HEADER = 'Caseway-Signature'
export const WEBHOOK_EVENT_ID_HEADER = 'Caseway-Event-Id'
/** How far a signature's timestamp may be from the receiver's clock, either way. */
export const WEBHOOK_TOLERANCE_SECONDS = 300

const TIMESTAMP = /^[0-9]{1,12}$/
const HEX_SHA256 = /^[0-9a-f]{64}$/
/** A header longer than this is not one we sent. */
const MAX_HEADER_LENGTH = 1024

export type WebhookVerification =
  | { valid: true; timestamp: number }
  /** `malformed`: not a signature header; `stale`: timestamp outside the tolerance; `mismatch`: no v1 value matches. */
  | { valid: false; reason: 'malformed' | 'stale' | 'mismatch' }

function hmacHex(secret: string, timestamp: number, body: Uint8Array): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`, 'utf8').update(body).digest('hex')
}

function bytesOf(body: string | Uint8Array, name: string): Uint8Array {
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  if (body instanceof Uint8Array) return body
  throw new TypeError(`${name} must be a string or a Uint8Array`)
}

function checkSecret(secret: unknown): asserts secret is string {
  if (typeof secret !== 'string' || secret.length === 0) throw new TypeError('secret must be a non-empty string')
}

function unixSeconds(now: Date): number {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('now must be a valid Date')
  return Math.floor(now.getTime() / 1000)
}

/** The `Caseway-Signature` header value for `body` sent at `now`. */
export function signWebhookBody(secret: string, body: string | Uint8Array, now: Date): string {
  checkSecret(secret)
  const bytes = bytesOf(body, 'body')
  const timestamp = unixSeconds(now)
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, bytes)}`
}

/**
 * Verifies a `Caseway-Signature` header against the raw request body, as a webhook receiver
 * does. Several `v1=` values are allowed (a sender rotating its secret may send one per
 * secret); one match is enough. Unknown keys are ignored, so later schemes can be added.
 */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string | Uint8Array, now: Date): WebhookVerification {
  checkSecret(secret)
  const bytes = bytesOf(body, 'body')
  const current = unixSeconds(now)
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return { valid: false, reason: 'malformed' }

  let timestamp: number | undefined
  const signatures: Buffer[] = []
  for (const part of header.split(',')) {
    const separator = part.indexOf('=')
    if (separator < 1) return { valid: false, reason: 'malformed' }
    const key = part.slice(0, separator).trim()
    const value = part.slice(separator + 1).trim()
    if (key === 't') {
      if (timestamp !== undefined || !TIMESTAMP.test(value)) return { valid: false, reason: 'malformed' }
      timestamp = Number(value)
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return { valid: false, reason: 'malformed' }
      signatures.push(Buffer.from(value, 'hex'))
    }
  }
  if (timestamp === undefined || signatures.length === 0) return { valid: false, reason: 'malformed' }
  if (Math.abs(current - timestamp) > WEBHOOK_TOLERANCE_SECONDS) return { valid: false, reason: 'stale' }

  const expected = Buffer.from(hmacHex(secret, timestamp, bytes), 'hex')
  let matched = false
  // Every candidate is compared (no early exit), each in constant time.
  for (const signature of signatures) matched = timingSafeEqual(signature, expected) || matched
  return matched ? { valid: true, timestamp } : { valid: false, reason: 'mismatch' }
}
