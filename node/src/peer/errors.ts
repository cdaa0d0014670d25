/**
 * What can go wrong when this node calls a partner's federation API.
 *
 * A {@link PeerRefusal} is the partner's own answer: it received the request and refused it
 * with a problem document, whose `code`, `status` and `detail` are kept as the partner sent
 * them. A {@link PeerUnreachable} means no answer: DNS, TCP, TLS (including a server
 * certificate that fails CW-TLS-004), a timeout, or a response this node could not read.
 * Match on `code` (undici's advice), not on `instanceof` alone.
 *
 * @module
 */

const kPeerRefusal = Symbol.for('caseway.peerRefusal')
const kPeerUnreachable = Symbol.for('caseway.peerUnreachable')

/** Client-error statuses after which asking again later can succeed (every 5xx can too). */
const RETRYABLE_CLIENT_STATUS = new Set([408, 425, 429])

/** CW-FED-017: the longest `Retry-After` a client honours (600 s); a larger value counts as this. */
export const MAX_RETRY_AFTER_MS = 600_000

/**
 * A `Retry-After` value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as milliseconds from
 * `now`, capped at {@link MAX_RETRY_AFTER_MS}; undefined when absent or unreadable. A date in the
 * past is 0.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: Date): number | undefined {
  const text = (typeof value === 'string' ? value : value?.[0])?.trim()
  if (text === undefined || text === '') return undefined
  let ms: number
  if (/^[0-9]{1,10}$/.test(text)) ms = Number(text) * 1000
  else {
    const date = Date.parse(text)
    if (Number.isNaN(date) || !/[A-Za-z]/.test(text)) return undefined
    ms = Math.max(0, date - now.getTime())
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS)
}

/** The partner answered with a non-2xx status. */
export class PeerRefusal extends Error {
  /** The problem `code` the partner sent (`CW_ERR_…`); a stand-in when it sent no problem document. */
  readonly code: string
  readonly status: number
  /** The problem `detail` the partner sent (truncated), or a description of its answer. */
  readonly detail: string
  /** The partner's org id. */
  readonly peerOrg: string
  /**
   * How long the partner asked to wait before the request is repeated (its `Retry-After`, on a
   * retryable answer), capped at {@link MAX_RETRY_AFTER_MS}; undefined when it said nothing
   * usable. The job runner waits at least this long (CW-FED-017).
   */
  readonly retryAfterMs: number | undefined
  readonly [kPeerRefusal] = true

  constructor(peerOrg: string, status: number, code: string, detail: string, retryAfterMs?: number) {
    super(`${peerOrg} refused with ${status} ${code}: ${detail}`)
    this.name = 'PeerRefusal'
    this.peerOrg = peerOrg
    this.status = status
    this.code = code
    this.detail = detail
    this.retryAfterMs = retryAfterMs
  }

  /**
   * True when the refusal is temporary (5xx, 408, 429): the request may be repeated later. A quota
   * refusal without a usable `Retry-After` is not: the offer is over a bound that waiting does not
   * free, and must not be repeated unchanged (CW-QUO-001, CW-QUO-003).
   */
  get retryable(): boolean {
    if (this.status === 429 && this.code === 'CW_ERR_QUOTA_EXCEEDED' && this.retryAfterMs === undefined) return false
    return this.status >= 500 || RETRYABLE_CLIENT_STATUS.has(this.status)
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kPeerRefusal] === true
  }
}

/** No usable answer from the partner: always retryable. */
export class PeerUnreachable extends Error {
  /** undici's or Node's error code (`UND_ERR_HEADERS_TIMEOUT`, `ERR_TLS_CERT_ALTNAME_INVALID`, …) when known. */
  readonly code: string
  readonly peerOrg: string
  readonly retryable = true
  readonly [kPeerUnreachable] = true

  constructor(peerOrg: string, message: string, options: { code?: string; cause?: unknown } = {}) {
    super(`${peerOrg} unreachable: ${message}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PeerUnreachable'
    this.peerOrg = peerOrg
    this.code = options.code ?? 'PEER_UNREACHABLE'
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kPeerUnreachable] === true
  }
}
