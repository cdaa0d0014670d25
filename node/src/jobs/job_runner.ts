/**
 * The persistent job runner: jobs live in the metadata store, so a crash loses none.
 *
 * `start()` puts jobs this replica left `running` (a crash) back to `pending`, then polls (real
 * timers, every `pollMs`, and at once after `enqueue` or when a job finishes). Due jobs are
 * claimed atomically (which counts an attempt) and run by their kind's handler, at most
 * `concurrency` at a time.
 *
 * Replicas of one node share the job table: a claim is a lease held by this replica (`owner`)
 * for `leaseSeconds`, renewed every third of it while the handler runs. A replica that dies
 * stops renewing, and once its leases have run out any other replica claims those jobs (a
 * restarting replica takes its own back at once). A replica that finds it lost a lease (paused
 * longer than the lease) aborts the handler and records nothing: the job is another's now. A failure is retried after exponential backoff with jitter (`retryBaseMs`
 * doubling per attempt, capped at `retryMaxMs`); after `maxAttempts` attempts, or at once
 * when the handler throws an error with `permanent: true` ({@link PermanentJobError}), the
 * job is `dead`. `stop()` aborts running handlers through their signal and waits for them
 * (bounded); an interrupted job is pending again for the next start.
 *
 * Times in the store (`runAt`, …) are Unix seconds from the injected clock; a retry is due
 * at the first whole second after its delay has passed.
 *
 * @module
 */
import type { Logger } from 'pino'
import type { Clock } from '../context.ts'
import type { JobRecord, MetadataStore } from '../store/metadata_store.ts'
import { retryDelayMs } from './backoff.ts'
import { crashPoint } from '../operations/crash_points.ts'
import { newJobRecord } from './new_job_record.ts'
import type { JobKind } from './kinds.ts'

/** Does a job's work. Must be idempotent (a job may run again after a crash) and honour `signal`. */
export type JobHandler = (job: JobRecord, signal: AbortSignal) => Promise<void>

/** Thrown by a handler when retrying cannot help: the job goes `dead` at once. */
export class PermanentJobError extends Error {
  readonly permanent = true

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PermanentJobError'
  }
}

export interface JobRunnerOptions {
  store: MetadataStore
  clock: Clock
  log: Logger
  /** Handler per job kind; jobs of other kinds are left alone. */
  handlers: Record<string, JobHandler>
  /** Jobs run at the same time (default 4). */
  concurrency?: number
  /** How often to look for due jobs (default 1000 ms). */
  pollMs?: number
  retryBaseMs: number
  retryMaxMs: number
  /** Attempts before a job is dead (≥ 1). */
  maxAttempts: number
  /** How long `stop()` waits for aborted handlers (default 10 000 ms). */
  stopTimeoutMs?: number
  /** This replica's id: it holds the jobs it claims under this name. */
  owner: string
  /** How long a claim holds without renewal (default 30 s). */
  leaseSeconds?: number
}

const DEFAULT_CONCURRENCY = 4
const DEFAULT_POLL_MS = 1000
const DEFAULT_STOP_TIMEOUT_MS = 10_000
const DEFAULT_LEASE_SECONDS = 30
const MAX_ERROR_LENGTH = 2000

interface Running {
  readonly controller: AbortController
  done: Promise<void>
  /** Another replica took the job over: record nothing. */
  lost: boolean
}

export class JobRunner {
  readonly #store: MetadataStore
  readonly #clock: Clock
  readonly #log: Logger
  readonly #handlers: Map<string, JobHandler>
  readonly #concurrency: number
  readonly #pollMs: number
  readonly #retryBaseMs: number
  readonly #retryMaxMs: number
  readonly #maxAttempts: number
  readonly #stopTimeoutMs: number
  readonly #owner: string
  readonly #leaseSeconds: number

  #state: 'new' | 'starting' | 'started' | 'stopped' = 'new'
  readonly #running = new Map<string, Running>()
  #timer: NodeJS.Timeout | undefined
  #renewTimer: NodeJS.Timeout | undefined
  #ticking: Promise<void> | undefined
  #again = false
  /** Ticks started so far; an idle waiter is settled only by a tick that started after it. */
  #ticks = 0
  #idleWaiters: Array<{ after: number; resolve: () => void }> = []

  constructor(options: JobRunnerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const { store, clock, log, handlers } = options
    if (typeof store !== 'object' || store === null) throw new TypeError('"store" option must be a MetadataStore')
    if (typeof clock?.now !== 'function') throw new TypeError('"clock" option must be a Clock')
    if (typeof log !== 'object' || log === null) throw new TypeError('"log" option must be a Logger')
    if (typeof handlers !== 'object' || handlers === null) throw new TypeError('"handlers" option must be an object')
    this.#handlers = new Map()
    for (const [kind, handler] of Object.entries(handlers)) {
      if (typeof handler !== 'function') throw new TypeError(`handler for job kind "${kind}" must be a function`)
      this.#handlers.set(kind, handler)
    }
    this.#concurrency = positiveInteger(options.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency')
    this.#pollMs = positiveInteger(options.pollMs ?? DEFAULT_POLL_MS, 'pollMs')
    this.#retryBaseMs = positiveInteger(options.retryBaseMs, 'retryBaseMs')
    this.#retryMaxMs = positiveInteger(options.retryMaxMs, 'retryMaxMs')
    this.#maxAttempts = positiveInteger(options.maxAttempts, 'maxAttempts')
    this.#stopTimeoutMs = positiveInteger(options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, 'stopTimeoutMs')
    if (typeof options.owner !== 'string' || options.owner.length === 0) throw new TypeError('"owner" option must be a non-empty string')
    this.#owner = options.owner
    this.#leaseSeconds = positiveInteger(options.leaseSeconds ?? DEFAULT_LEASE_SECONDS, 'leaseSeconds')
    this.#store = store
    this.#clock = clock
    this.#log = log
  }

  /** Recovers jobs a crash left running, then starts polling. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('job runner can be started once')
    this.#state = 'starting'
    const reset = await this.#store.jobs.resetRunning(this.#now(), this.#owner)
    if (reset > 0) this.#log.warn({ jobs: reset }, 'jobs interrupted by a restart are pending again')
    if (this.#state !== 'starting') return // stopped meanwhile
    this.#state = 'started'
    this.#scheduleRenewal()
    this.#wake()
  }

  /**
   * Persists a job on its own (a duplicate live job of the same kind and ref is ignored) and
   * wakes the runner. Actions queue their jobs in their transaction instead (`jobs/queue.ts`).
   */
  async enqueue(kind: string, ref: string, payload: Record<string, unknown> = {}, runAt?: number): Promise<void> {
    if (!this.#handlers.has(kind)) throw new TypeError(`no handler for job kind "${kind}"`)
    if (typeof ref !== 'string' || ref.length === 0) throw new TypeError('ref must be a non-empty string')
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new TypeError('payload must be an object')
    if (runAt !== undefined && !Number.isSafeInteger(runAt)) throw new TypeError('runAt must be an integer (Unix seconds)')
    const now = this.#now()
    await this.#store.jobs.enqueue({ ...newJobRecord(kind as JobKind, ref, payload, now), runAt: runAt ?? now })
    this.#wake()
  }

  /**
   * Looks for due jobs now (a job was queued in a transaction that just committed). Waking
   * twice, or while a tick runs, claims each job once: claiming is atomic in the store.
   */
  wake(): void {
    this.#wake()
  }

  /** Kinds this runner has a handler for. */
  get kinds(): ReadonlySet<string> {
    return new Set(this.#handlers.keys())
  }

  /** Resolves once no job is running and none is due (for tests and orderly shutdown). */
  onIdle(): Promise<void> {
    if (this.#state !== 'started') {
      return Promise.allSettled([...this.#running.values()].map((r) => r.done)).then(() => undefined)
    }
    return new Promise((resolve) => {
      this.#idleWaiters.push({ after: this.#ticks, resolve })
      this.#wake()
    })
  }

  /** Stops polling, aborts running handlers and waits for them (at most `stopTimeoutMs`). */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    clearTimeout(this.#timer)
    this.#timer = undefined
    clearTimeout(this.#renewTimer)
    this.#renewTimer = undefined
    await this.#ticking
    const running = [...this.#running.values()]
    for (const { controller } of running) controller.abort(new Error('job runner stopping'))
    let timeout: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => {
      timeout = setTimeout(() => resolve(true), this.#stopTimeoutMs)
    })
    const settled = Promise.allSettled(running.map((r) => r.done)).then(() => false)
    if (await Promise.race([settled, timedOut])) {
      this.#log.warn({ jobs: this.#running.size }, 'job handlers still running after stop timeout')
    }
    clearTimeout(timeout)
    for (const waiter of this.#idleWaiters.splice(0)) waiter.resolve()
  }

  #now(): number {
    return Math.floor(this.#clock.now().getTime() / 1000)
  }

  #wake(): void {
    if (this.#state !== 'started') return
    if (this.#ticking !== undefined) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#ticking = this.#tick().finally(() => {
      this.#ticking = undefined
      if (this.#state !== 'started') return
      if (this.#again) {
        this.#again = false
        this.#wake()
      } else {
        this.#timer = setTimeout(() => this.#wake(), this.#pollMs)
      }
    })
  }

  async #tick(): Promise<void> {
    const tick = ++this.#ticks
    const free = this.#concurrency - this.#running.size
    let claimed: JobRecord[] = []
    if (free > 0) {
      try {
        const now = this.#now()
        claimed = await this.#store.jobs.claimDue(now, free, { owner: this.#owner, leaseUntil: now + this.#leaseSeconds, kinds: [...this.#handlers.keys()] })
      } catch (err) {
        this.#log.error({ err }, 'claiming due jobs failed')
        return
      }
      for (const job of claimed) this.#launch(job)
    }
    if (claimed.length === 0 && this.#running.size === 0) {
      const ready = this.#idleWaiters.filter((w) => w.after < tick)
      this.#idleWaiters = this.#idleWaiters.filter((w) => w.after >= tick)
      for (const waiter of ready) waiter.resolve()
    }
  }

  /** Renews the leases of the running jobs every third of the lease; aborts those another replica took over. */
  #scheduleRenewal(): void {
    this.#renewTimer = setTimeout(
      () => {
        void this.#renewLeases().finally(() => {
          if (this.#state === 'started') this.#scheduleRenewal()
        })
      },
      Math.ceil((this.#leaseSeconds * 1000) / 3),
    )
  }

  async #renewLeases(): Promise<void> {
    if (this.#running.size === 0) return
    try {
      const lost = await this.#store.jobs.renewLeases(this.#owner, [...this.#running.keys()], this.#now() + this.#leaseSeconds)
      for (const id of lost) {
        const entry = this.#running.get(id)
        if (entry === undefined) continue // finished meanwhile
        entry.lost = true
        entry.controller.abort(new Error('job lease lost: another replica took the job over'))
        this.#log.warn({ job: id }, 'job lease lost to another replica: stopped without recording an outcome')
      }
    } catch (err) {
      this.#log.error({ err }, 'renewing job leases failed')
    }
  }

  #launch(job: JobRecord): void {
    const handler = this.#handlers.get(job.kind)!
    const entry: Running = { controller: new AbortController(), done: Promise.resolve(), lost: false }
    this.#running.set(job.id, entry)
    entry.done = this.#execute(job, handler, entry).finally(() => {
      this.#running.delete(job.id)
      this.#wake()
    })
  }

  async #execute(job: JobRecord, handler: JobHandler, entry: Running): Promise<void> {
    const log = this.#log.child({ job: job.id, kind: job.kind, ref: job.ref, attempt: job.attempts })
    crashPoint('job.claimed')
    try {
      await handler(job, entry.controller.signal)
    } catch (err) {
      await this.#failed(job, err, entry, log)
      return
    }
    crashPoint('job.handled')
    try {
      await this.#store.jobs.complete(job.id, this.#now(), this.#owner)
      crashPoint('job.completed')
      log.debug('job done')
    } catch (err) {
      this.#outcomeNotRecorded(err, log)
    }
  }

  async #failed(job: JobRecord, err: unknown, entry: Running, log: Logger): Promise<void> {
    const now = this.#now()
    if (entry.lost) return // another replica holds the job now
    try {
      if (entry.controller.signal.aborted) {
        // Interrupted by stop(), not failed: due again at the next start.
        await this.#store.jobs.fail(job.id, 'interrupted: job runner stopped', now, false, now, this.#owner)
        log.info('job interrupted by stop')
        return
      }
      const error = describe(err)
      const permanent = (err as { permanent?: unknown } | null)?.permanent === true
      if (permanent || job.attempts >= this.#maxAttempts) {
        await this.#store.jobs.fail(job.id, error, now, true, now, this.#owner)
        log.error({ err, permanent }, 'job failed for good')
        return
      }
      // spec: CW-FED-017 — never sooner than the partner's Retry-After (already capped), even when
      // that is longer than this runner's own backoff.
      const delayMs = Math.max(retryDelayMs(Math.max(1, job.attempts), this.#retryBaseMs, this.#retryMaxMs), retryAfterMsOf(err) ?? 0)
      const runAt = Math.ceil((this.#clock.now().getTime() + delayMs) / 1000)
      await this.#store.jobs.fail(job.id, error, runAt, false, now, this.#owner)
      crashPoint('job.failed')
      log.warn({ err, retryInMs: delayMs }, 'job failed; will retry')
    } catch (storeErr) {
      this.#outcomeNotRecorded(storeErr, log)
    }
  }

  #outcomeNotRecorded(err: unknown, log: Logger): void {
    if ((err as { code?: unknown } | null)?.code === 'CW_ERR_CONFLICT') log.warn('job taken over by another replica (lease ran out): outcome not recorded')
    else log.error({ err }, 'recording the outcome of a job failed')
  }
}

/**
 * The wait a failure asks for (`retryAfterMs`, set by a partner's `Retry-After`), on the error
 * or on one of its causes (a job may wrap the refusal it got).
 */
function retryAfterMsOf(err: unknown): number | undefined {
  let current: unknown = err
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const value = (current as { retryAfterMs?: unknown }).retryAfterMs
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function positiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new TypeError(`"${name}" option must be a positive integer`)
  return value as number
}

/** The error as stored in `lastError`: its code (if any) and message, bounded. */
function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  const message = err instanceof Error ? err.message : String(err)
  const text = typeof code === 'string' ? `${code}: ${message}` : message
  return text.length > MAX_ERROR_LENGTH ? text.slice(0, MAX_ERROR_LENGTH) : text
}
