/**
 * Requests to the target's federation listener over mutual TLS, as one client identity: the
 * harness's own, or a deliberately wrong one for the transport tests (no certificate, an
 * unknown CA, an expired certificate, another org's name, TLS 1.2 only).
 *
 * The server certificate is checked as a partner would (CW-TLS-004): chained to the target's
 * pinned CA, the TLS profile, naming the target's organization.
 *
 * @module
 */
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { checkServerIdentity, type PeerCertificate, type SecureVersion } from 'node:tls'
import { Agent, request } from 'undici'
import { JOSE_MEDIA_TYPE, verifyChain, x5cOfPeerCertificate } from '#protocol'
import { describeBody, type Exchange, type RequestRecord, type TransportFailure } from './exchange.ts'
import type { Target } from './target.ts'

export interface ClientIdentity {
  /** Shown in reports. */
  name: string
  /** Client certificate chain and key, PEM; absent = no client certificate. */
  cert?: string
  key?: string
  minVersion?: SecureVersion
  maxVersion?: SecureVersion
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** A streamed body is given as a function making the stream, so that a retry can send it again. */
  body?: string | Buffer | (() => AsyncIterable<Uint8Array>)
  contentType?: string
  headers?: Record<string, string>
  /** What the request is meant to be, for reports. */
  note?: string
  /** Give up after this long (default 30 s). */
  timeoutMs?: number
  /**
   * Answer a `429` by waiting `Retry-After` and sending again (CW-FED-012: the answer is
   * temporary), within {@link RETRY_POLICY}. Default true; false for tests that must see the 429.
   */
  retryRateLimited?: boolean
}

/**
 * How the harness treats a `429` (CW-FED-012): wait `Retry-After` (1 s when absent or not
 * integer seconds, at least 0.25 s, at most `maxWaitMs`), send again, at most `maxRetries`
 * times and `maxTotalWaitMs` in all for one request; then the 429 is the answer.
 */
export const RETRY_POLICY = { maxWaitMs: 10_000, maxRetries: 30, maxTotalWaitMs: 90_000 } as const

/** Counts the 429 answers the harness waited out during a run (shown in every report). */
export class RetryCounter {
  retries = 0
  waitedMs = 0
  /** Requests that were still answered 429 when the policy gave up. */
  exhausted = 0
}

/** How long to wait before retrying after this 429 answer (`Retry-After` in seconds, bounded). */
export function retryDelayMs(retryAfter: string | undefined): number {
  const seconds = retryAfter !== undefined && /^\s*\d+\s*$/.test(retryAfter) ? Number(retryAfter) : 1
  return Math.min(RETRY_POLICY.maxWaitMs, Math.max(250, seconds * 1000))
}
export class TargetClient {
  readonly target: Target
  readonly identity: ClientIdentity
  readonly #agent: Agent
  /** The run's count of waited-out 429s (shared by every client of a run). */
  readonly retries: RetryCounter

  constructor(target: Target, identity: ClientIdentity, retries: RetryCounter = new RetryCounter()) {
    this.target = target
    this.identity = identity
    this.retries = retries
    this.#agent = new Agent({
      connections: 8,
      connect: {
        ca: target.caPem,
        ...(identity.cert === undefined ? {} : { cert: identity.cert, key: identity.key }),
        minVersion: identity.minVersion ?? 'TLSv1.2',
        ...(identity.maxVersion === undefined ? {} : { maxVersion: identity.maxVersion }),
        rejectUnauthorized: true,
        checkServerIdentity: (host: string, certificate: PeerCertificate) => serverIdentityError(target, host, certificate),
      },
    })
  }

  /**
   * Sends a request; resolves to the answer, or to the transport failure that prevented one.
   * A `429` is waited out and the request sent again (CW-FED-012), unless `retryRateLimited` is false.
   */
  async send(path: string, options: RequestOptions = {}): Promise<Exchange | TransportFailure> {
    let answer = await this.#sendOnce(path, options)
    if (options.retryRateLimited === false) return answer
    let tries = 0
    let waited = 0
    while ('status' in answer && answer.status === 429) {
      const delay = retryDelayMs(answer.headers['retry-after'])
      if (tries >= RETRY_POLICY.maxRetries || waited + delay > RETRY_POLICY.maxTotalWaitMs) {
        this.retries.exhausted += 1
        return answer
      }
      await sleep(delay)
      tries += 1
      waited += delay
      this.retries.retries += 1
      this.retries.waitedMs += delay
      answer = await this.#sendOnce(path, options)
    }
    return answer
  }

  async #sendOnce(path: string, options: RequestOptions): Promise<Exchange | TransportFailure> {
    const method = options.method ?? (options.body === undefined ? 'GET' : 'POST')
    const url = `${this.target.url}${path}`
    const record: RequestRecord = { method, url, as: this.identity.name }
    if (options.note !== undefined) record.note = options.note
    const described =
      typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? describeBody(options.body, options.contentType)
        : options.body === undefined
          ? undefined
          : `${options.contentType ?? 'no content type'}, streamed`
    if (described !== undefined) record.body = described
    const timeout = options.timeoutMs ?? 30_000
    try {
      const answer = await request(url, {
        dispatcher: this.#agent,
        method,
        headers: { ...(options.contentType === undefined ? {} : { 'content-type': options.contentType }), ...options.headers },
        ...(options.body === undefined
          ? {}
          : { body: typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : Readable.from(options.body()) }),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      })
      const body = Buffer.from(await answer.body.arrayBuffer())
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
      return { request: record, status: answer.statusCode, headers, body, text: body.toString('utf8') }
    } catch (error) {
      const failure = error as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } }
      const found = failure.cause?.code ?? failure.code
      const code = typeof found === 'string' ? found : 'ERROR'
      return { request: record, code, message: String(failure.cause?.message ?? failure.message ?? error) }
    }
  }

  /** POSTs a signed object as `application/jose`. */
  postJose(path: string, jws: string, note?: string): Promise<Exchange | TransportFailure> {
    return this.send(path, { method: 'POST', body: jws, contentType: JOSE_MEDIA_TYPE, ...(note === undefined ? {} : { note }) })
  }

  close(): Promise<void> {
    return this.#agent.close()
  }
}

/** The host name as HTTPS checks it, then the target's org under its pinned CA (CW-TLS-004). */
function serverIdentityError(target: Target, host: string, certificate: PeerCertificate): Error | undefined {
  const hostError = checkServerIdentity(host, certificate)
  if (hostError !== undefined) return hostError
  try {
    const verified = verifyChain(x5cOfPeerCertificate(certificate), [target.anchor], { usage: 'tls', currentDate: new Date() })
    if (verified.org !== target.org) return new Error(`server certificate names ${verified.org}, not ${target.org}`)
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
  return undefined
}
