/**
 * Bodies over a target's limit (SPEC.md CW-FMT-005, CW-FED-002, CW-FED-013), judged one way by
 * every test that sends one: the harness streams the body on a raw connection — its length
 * declared up front, or chunked so that the target has to count — reads while it sends, stops
 * sending at the first answer, and expects that answer to be `413 CW_ERR_TOO_LARGE` as a
 * problem document. CW-FED-013 makes the target drain (or linger) before it closes, so that
 * the answer is never lost to a connection reset: a connection that closes without an answer
 * fails, whatever the timing.
 *
 * A `429` (CW-FED-012) is waited out and the whole body sent again on a new connection.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { JOSE_MEDIA_TYPE } from '#protocol'
import { expectProblem } from './check.ts'
import { RETRY_POLICY, retryDelayMs, type ClientIdentity } from './client.ts'
import type { Exchange, RequestRecord, TransportFailure } from './exchange.ts'
import { asExchange, RawConnection, requestHead } from './raw_tls.ts'
import type { TestContext } from './suite.ts'

export const MIB = 1024 * 1024
/** Above the largest manifest limit SPEC.md allows (CW-FMT-005: 32..64 MiB). */
export const OVER_MANIFEST_LIMIT = 64 * MIB + 1
/** Above the largest limit for other signed objects (CW-FMT-005: 1..4 MiB). */
export const OVER_OBJECT_LIMIT = 4 * MIB + 1
/**
 * Bytes per write: large enough to stream 64 MiB within a target's request deadline, small
 * enough that the harness stops soon after the answer (what follows it, the target drains).
 */
const PIECE = 1024 * 1024

export type BodyMode = 'declared' | 'chunked'

export interface OversizedOptions {
  path: string
  size: number
  mode: BodyMode
  /** The body's first bytes (e.g. a JWS header and dot); the rest is `A`s. */
  prefix?: Buffer
  /** What the request is, for reports. */
  note?: string
}

export interface OversizedResult {
  answer: Exchange | TransportFailure
  /** Body bytes written before the answer (or the close). */
  sent: number
  closed: boolean
}

function harnessIdentity(ctx: TestContext): ClientIdentity {
  return { name: ctx.harness.main.org, cert: ctx.harness.main.tls.cert, key: ctx.harness.main.tls.key }
}

/** One attempt: streams the body until the target answers or closes. */
async function sendOnce(ctx: TestContext, options: OversizedOptions, request: RequestRecord): Promise<OversizedResult> {
  const { path, size, mode } = options
  const connection = await RawConnection.open(ctx.target, harnessIdentity(ctx))
  const headers: Record<string, string | number> =
    mode === 'declared' ? { 'Content-Type': JOSE_MEDIA_TYPE, 'Content-Length': size } : { 'Content-Type': JOSE_MEDIA_TYPE, 'Transfer-Encoding': 'chunked' }
  let sent = 0
  try {
    await connection.write(requestHead(ctx.target, 'POST', path, headers))
    // A target may refuse on the declared length alone: give that answer a moment before streaming.
    if (mode === 'declared') await connection.settle(500)
    const filler = Buffer.alloc(PIECE, 'A')
    const prefix = options.prefix ?? Buffer.alloc(0)
    while (sent < size && connection.response() === undefined && !connection.closed) {
      const length = Math.min(PIECE, size - sent)
      const bytes = sent < prefix.length ? Buffer.concat([prefix.subarray(sent, sent + length), filler]).subarray(0, length) : filler.subarray(0, length)
      const framed = mode === 'declared' ? bytes : Buffer.concat([Buffer.from(`${length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])
      // A target that stops reading without answering must not stall the harness forever.
      const written = await Promise.race([connection.write(framed), connection.settle(ctx.settings.waitMs).then(() => false)])
      if (!written) break
      sent += length
    }
    if (sent === size && mode === 'chunked') await connection.write('0\r\n\r\n')
    const response = await connection.settle(ctx.settings.waitMs)
    if (response !== undefined && response.status !== 0) return { answer: asExchange(response, request), sent, closed: connection.closed }
    const why = connection.closed
      ? `the connection closed without an answer after ${(sent / MIB).toFixed(1)} of ${(size / MIB).toFixed(1)} MiB${connection.error ? ` (${connection.error})` : ''}: a 413 must reach the client before the target closes — drain or linger, never reset (CW-FED-013)`
      : `no answer within ${ctx.settings.waitMs / 1000} s after ${(sent / MIB).toFixed(1)} MiB`
    return { answer: { request, code: connection.error ?? (connection.closed ? 'CLOSED' : 'TIMEOUT'), message: why }, sent, closed: connection.closed }
  } finally {
    connection.destroy()
  }
}

/** Sends the oversized body, waiting out `429`s (CW-FED-012) within the harness's retry policy. */
export async function sendOversized(ctx: TestContext, options: OversizedOptions): Promise<OversizedResult> {
  const request: RequestRecord = {
    method: 'POST',
    url: `${ctx.target.url}${options.path}`,
    as: ctx.harness.main.org,
    note: `${options.note ? `${options.note}: ` : ''}${options.size} bytes (${options.mode === 'declared' ? 'Content-Length declared' : 'chunked, no length'}), streamed`,
    body: `application/jose, ${options.size} bytes`,
  }
  let waited = 0
  for (let attempt = 0; ; attempt += 1) {
    const result = await sendOnce(ctx, options, request)
    if (!('status' in result.answer) || result.answer.status !== 429) return result
    const delay = retryDelayMs(result.answer.headers['retry-after'])
    if (attempt >= RETRY_POLICY.maxRetries || waited + delay > RETRY_POLICY.maxTotalWaitMs) {
      ctx.client.retries.exhausted += 1
      return result
    }
    await sleep(delay)
    waited += delay
    ctx.client.retries.retries += 1
    ctx.client.retries.waitedMs += delay
  }
}

/** The oversized body must be answered `413 CW_ERR_TOO_LARGE` (CW-FED-013), however it is sent. */
export async function expectTooLarge(ctx: TestContext, options: OversizedOptions): Promise<void> {
  const { answer, sent, closed } = await sendOversized(ctx, options)
  expectProblem(answer, 'CW_ERR_TOO_LARGE')
  ctx.note(`${options.path} ${options.mode}: 413 after ${(sent / MIB).toFixed(1)} MiB sent${closed ? ', then the connection closed' : ''}`)
}
