/**
 * The sender's per-transfer log line (request logging sized for operations). Chunk
 * pulls are logged at debug one by one (`http/observability.ts`); this tally adds them up per
 * share and writes one info line, `chunks served`, when the partner's receipt for the share is
 * recorded — or when the share has had no pull for {@link IDLE_MS} (an abandoned or
 * interrupted transfer). In memory only: a few numbers per share being fetched.
 *
 * @module
 */
import type { Logger } from 'pino'

/** A share without a chunk pull for this long is summarised and forgotten. */
const IDLE_MS = 10 * 60_000

interface Tally {
  peerOrg: string
  chunks: number
  /** Pulls answered with chunks: EP-2 requests, and EP-20 batches (several chunks each). */
  requests: number
  batches: number
  bytes: number
  /** Sum and maximum of the response times (ms, request start → last byte handed over). */
  totalMs: number
  maxMs: number
  refused: number
  firstAt: number
  lastAt: number
}

/** What one transfer's summary line carries. */
export interface ServedSummary {
  shareId: string
  peerOrg: string
  chunks: number
  /** Requests answered with chunks (EP-2 and EP-20), and of them EP-20 batches (CW-BAT-003). */
  requests: number
  batches: number
  bytes: number
  refused: number
  /** Per request answered or refused (a batch is one request). */
  responseMsMean: number
  responseMsMax: number
  /** When the first pull started and the last one was answered (ms since the epoch). */
  firstAt: number
  lastAt: number
}

export class ServedTally {
  readonly #tallies = new Map<string, Tally>()
  readonly #now: () => number
  #lastSweep: number

  constructor(now: () => number = Date.now) {
    this.#now = now
    this.#lastSweep = now()
  }

  /**
   * A chunk pull of share `shareId` by `peerOrg` answered: `bytes` sent (0 when refused) in `ms`;
   * `chunks` of them (an EP-20 batch brings several, CW-BAT-003).
   */
  note(log: Logger, shareId: string, peerOrg: string, bytes: number, ms: number, refused: boolean, chunks = 1): void {
    const now = this.#now()
    let tally = this.#tallies.get(shareId)
    if (tally === undefined) {
      tally = { peerOrg, chunks: 0, requests: 0, batches: 0, bytes: 0, totalMs: 0, maxMs: 0, refused: 0, firstAt: now - ms, lastAt: now }
      this.#tallies.set(shareId, tally)
    }
    if (refused) tally.refused += 1
    else {
      tally.chunks += chunks
      tally.requests += 1
      if (chunks > 1) tally.batches += 1
      tally.bytes += bytes
    }
    tally.totalMs += ms
    tally.maxMs = Math.max(tally.maxMs, ms)
    tally.lastAt = now
    if (now - this.#lastSweep >= IDLE_MS) this.#sweep(log, now)
  }

  /** Logs and forgets the tally of `shareId` (its receipt was recorded); undefined when nothing was served since the last one. */
  finish(log: Logger, shareId: string, fields: Record<string, unknown> = {}): ServedSummary | undefined {
    const tally = this.#tallies.get(shareId)
    if (tally === undefined) return undefined
    this.#tallies.delete(shareId)
    const summary = summaryOf(shareId, tally)
    log.info({ ...summary, ...fields }, 'chunks served')
    return summary
  }

  /** Shares with a tally (for tests). */
  get size(): number {
    return this.#tallies.size
  }

  #sweep(log: Logger, now: number): void {
    this.#lastSweep = now
    for (const [shareId, tally] of this.#tallies) {
      if (now - tally.lastAt >= IDLE_MS) this.finish(log, shareId, { idle: true })
    }
  }
}

function summaryOf(shareId: string, tally: Tally): ServedSummary {
  const answered = tally.requests + tally.refused
  return {
    shareId,
    peerOrg: tally.peerOrg,
    chunks: tally.chunks,
    requests: tally.requests,
    batches: tally.batches,
    bytes: tally.bytes,
    refused: tally.refused,
    responseMsMean: answered === 0 ? 0 : Math.round((tally.totalMs / answered) * 10) / 10,
    responseMsMax: Math.round(tally.maxMs * 10) / 10,
    firstAt: Math.round(tally.firstAt),
    lastAt: Math.round(tally.lastAt),
  }
}
