/**
 * Where the time of one share went, read from both nodes' JSON logs (pino: `time` in ms since
 * the epoch, `msg`; fastify's request lines carry `reqId`, `req.url` and `responseTime`). Every
 * value is milliseconds after the benchmark's `POST /api/v1/shares`. The local listener's lines
 * carry `listener: "local"`; the federation listener's carry none (its request ids are counted
 * separately, so the two are told apart by that field).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'

interface LogLine {
  time: number
  msg?: string
  listener?: string
  reqId?: string
  req?: { url?: string; method?: string }
  responseTime?: number
  [key: string]: unknown
}

async function readLog(path: string, since: number): Promise<LogLine[]> {
  const lines: LogLine[] = []
  for (const text of (await readFile(path, 'utf8')).split('\n')) {
    if (!text.startsWith('{')) continue
    try {
      const line = JSON.parse(text) as LogLine
      if (typeof line.time === 'number' && line.time >= since) lines.push(line)
    } catch {
      // not a log line
    }
  }
  return lines
}

export interface Phases {
  /** A stored and signed the share (`share created`). */
  share_created_ms?: number
  /** B verified and stored the manifest (`offer accepted`). */
  offer_accepted_by_receiver_ms?: number
  /** A got B's answer to the offer. */
  offer_answered_ms?: number
  /** First and last chunk request A's federation listener saw (A's `chunks served` summary). */
  first_chunk_request_ms?: number
  last_chunk_served_ms?: number
  /** B stored every chunk (`chunks stored`). */
  chunks_stored_ms?: number
  /** B checked every item against its digest (hashed as its chunks were stored, or read back) and signed the receipt (`revision received and verified`). */
  verified_ms?: number
  /** A recorded B's receipt (`receipt recorded`). */
  receipt_recorded_ms?: number
  /** HTTP requests that pulled chunks (EP-2, and EP-20 batches of several), answered or refused. */
  chunk_requests?: number
  /** Of them, EP-20 batches (CW-BAT-001), and the chunks served in all. */
  chunk_batches?: number
  chunks_served?: number
  /** Per request (a batch is one). */
  chunk_response_ms_mean?: number
  chunk_response_ms_max?: number
  /** Chunk pulls that failed on B (e.g. 429 CW_ERR_RATE_LIMITED from A's federation limiter), by problem code. */
  chunk_fetch_failures?: Record<string, number>
  /** Jobs that failed and were rescheduled with backoff, on either node. */
  job_retries?: number
  /** Log lines each node wrote during the share. */
  log_lines_sender?: number
  log_lines_receiver?: number
}

export async function readPhases(senderLog: string, receiverLog: string, since: number): Promise<Phases> {
  const [a, b] = await Promise.all([readLog(senderLog, since), readLog(receiverLog, since)])
  const at = (lines: LogLine[], msg: string): number | undefined => {
    const line = lines.find((candidate) => candidate.msg === msg)
    return line === undefined ? undefined : Math.round(line.time - since)
  }
  const phases: Phases = {}
  type TimeKey = Exclude<keyof Phases, 'chunk_fetch_failures'>
  const set = (key: TimeKey, value: number | undefined) => {
    if (value !== undefined) phases[key] = value
  }
  set('share_created_ms', at(a, 'share created'))
  set('offer_accepted_by_receiver_ms', at(b, 'offer accepted'))
  set('offer_answered_ms', at(a, 'offer accepted by partner'))
  set('chunks_stored_ms', at(b, 'chunks stored'))
  set('verified_ms', at(b, 'revision received and verified'))
  set('receipt_recorded_ms', at(a, 'receipt recorded'))

  // The sender logs each chunk pull at debug only; its `chunks served` line sums up the transfer
  // (when its first pull started and its last was answered), written when the receipt is recorded.
  const served = a.find((line) => line.msg === 'chunks served')
  if (served !== undefined) {
    if (typeof served['firstAt'] === 'number') set('first_chunk_request_ms', Math.round(served['firstAt'] - since))
    if (typeof served['lastAt'] === 'number') set('last_chunk_served_ms', Math.round(served['lastAt'] - since))
    // `requests` since batches (EP-20); a sender before them answered one chunk per request.
    phases.chunk_requests = Number(served['requests'] ?? served['chunks'] ?? 0) + Number(served['refused'] ?? 0)
    phases.chunk_batches = Number(served['batches'] ?? 0)
    phases.chunks_served = Number(served['chunks'] ?? 0)
    if (typeof served['responseMsMean'] === 'number') phases.chunk_response_ms_mean = served['responseMsMean']
    if (typeof served['responseMsMax'] === 'number') phases.chunk_response_ms_max = Math.round(served['responseMsMax'])
  }
  const failures: Record<string, number> = {}
  for (const line of b) {
    if (line.msg === 'chunk fetch failed') {
      const code = typeof line['code'] === 'string' ? line['code'] : 'unknown'
      failures[code] = (failures[code] ?? 0) + 1
    }
  }
  if (Object.keys(failures).length > 0) phases.chunk_fetch_failures = failures
  const retries = [...a, ...b].filter((line) => line.msg === 'job failed; will retry').length
  if (retries > 0) phases.job_retries = retries
  phases.log_lines_sender = a.length
  phases.log_lines_receiver = b.length
  return phases
}
