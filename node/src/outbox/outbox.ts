/**
 * The transactional outbox: how a domain event reaches its consumers even across a crash.
 *
 * An action writes its events to the outbox in its own store transaction — one entry per
 * consumer that wants the event (`audit`, `notifications`, `revisions`) — so the events exist
 * exactly when the action's state does. After the commit the drainer hands each consumer its
 * entries, oldest first and grouped by case, and the consumer removes an entry in the
 * transaction that does its work: its store effects happen once, and an entry whose consumer
 * crashed, failed or never ran stays until it is handled (at least once; consumers are
 * idempotent where their work is not a store transaction).
 *
 * A consumer's failure is logged and retried with backoff; it holds back the later entries of
 * the same case for that consumer only (a case's audit chain keeps its order), never other
 * cases or other consumers. A consumer may also defer a case on purpose; the case is then held
 * the same way until its time. `start()` drains what a previous run left.
 *
 * Held entries are not read again while they are held: each consumer keeps a cursor at the last
 * entry it has seen held, until one of those holds ends. Without it, every action re-read (and
 * parsed) up to a batch of held entries per round: a burst of uploads to a live-shared case,
 * whose revisions wait out their window, ran at a third of its speed. The cursor relies on a
 * new entry's `seq` being above every stored one: in SQLite the rowid of the one writer (the
 * held entry is still stored, so its rowid is not reused); in PostgreSQL the identity column
 * `seq`, assigned under a lock `outbox.append` holds until commit, so entries of every replica
 * commit in `seq` order. An entry that broke this would only wait until the hold ends, never be
 * lost. Holds and cursors are per process: replicas each list every entry, and whichever
 * removes an entry first in its consumer's transaction handles it (SPEC.md §20 "Replicas").
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Logger } from 'pino'
import type { AnyNodeEvent } from '../events.ts'
import { retryDelayMs } from '../jobs/backoff.ts'
import type { ListedOutboxEntry, MetadataStore, OutboxEntry } from '../store/metadata_store.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** The case an event belongs to; events of no case (refused offers) share one key. */
export const NO_CASE = '_federation'

export interface OutboxConsumer {
  /** Stored in the outbox rows: never rename a consumer that has shipped. */
  readonly name: string
  /** Whether this consumer wants `event` (an entry is written only then). */
  accepts(event: AnyNodeEvent): boolean
  /**
   * Handles the pending entries of case `caseId`, oldest first. Removes each entry it handled
   * (`store.outbox.delete`), in the transaction of its store effects when it has any. Throwing leaves
   * the entries not yet removed for a retry, in order.
   */
  handle(caseId: string, entries: readonly OutboxEntry[]): Promise<void | Deferral>
}

/**
 * What a consumer returns when it leaves a case's entries for later on purpose (not a failure):
 * they stay, count as no progress, and a round is woken after `retryInMs`.
 */
export interface Deferral {
  deferred: true
  retryInMs: number
}

export interface OutboxOptions {
  store: MetadataStore
  log: Logger
  consumers: readonly OutboxConsumer[]
  /** First retry delay after a consumer failed (default 200 ms), doubling up to `retryMaxMs` (default 60 s). */
  retryBaseMs?: number
  retryMaxMs?: number
  /** The clock a consumer's deferral is measured on: the node's (default `Date.now`). Failures back off in real time. */
  now?: () => number
}

/** Entries read per consumer and round. */
const BATCH = 500
/** A caller waits for at most this many rounds (the events its action caused, and theirs). */
const SETTLE_ROUNDS = 5

interface Failure {
  attempts: number
  retryAt: number
}

/** Where a consumer's next round starts reading: every entry up to `after` is handled, or held by one of `held` (case keys). */
interface Cursor {
  after: number
  held: Set<string>
}

export class Outbox {
  readonly #store: MetadataStore
  readonly #log: Logger
  readonly #consumers: readonly OutboxConsumer[]
  readonly #retryBaseMs: number
  readonly #retryMaxMs: number
  /** Marks the async context of a drain round: an action a consumer runs must not wait for the round it runs in. */
  readonly #inRound = new AsyncLocalStorage<true>()
  readonly #now: () => number
  /** `<consumer>\u0000<case>` → its failure streak. */
  readonly #failures = new Map<string, Failure>()
  /** `<consumer>\u0000<case>` → when the consumer wants to be asked again. */
  readonly #deferrals = new Map<string, number>()
  /** consumer → its cursor while it has held entries. */
  readonly #cursors = new Map<string, Cursor>()
  #round: Promise<number> | undefined
  #next: Promise<number> | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #retryDue = 0
  #stopped = false

  constructor(options: OutboxOptions) {
    this.#store = options.store
    this.#log = options.log
    this.#consumers = options.consumers
    const names = new Set(options.consumers.map((c) => c.name))
    if (names.size !== options.consumers.length) throw new TypeError('outbox consumer names must be unique')
    this.#retryBaseMs = options.retryBaseMs ?? 200
    this.#retryMaxMs = options.retryMaxMs ?? 60_000
    this.#now = options.now ?? Date.now
  }

  /** The outbox entries of `event` (id `eventId`, committed at `recordedAt`): one per consumer that wants it. */
  entriesOf(eventId: string, event: AnyNodeEvent, recordedAt: number): OutboxEntry[] {
    const caseId = 'caseId' in event ? event.caseId : NO_CASE
    return this.#consumers
      .filter((consumer) => consumer.accepts(event))
      .map((consumer) => ({ eventId, consumer: consumer.name, caseId, event: event as unknown as Record<string, unknown>, recordedAt }))
  }

  /** Whether the caller runs inside a drain round (a consumer's own action). */
  get inRound(): boolean {
    return this.#inRound.getStore() === true
  }

  /** Runs `fn` outside any drain round's context (a job runner woken from a round must not inherit it). */
  outsideRound<T>(fn: () => T): T {
    return this.#inRound.exit(fn)
  }

  /** Drains what a previous run left (a crash between an action's commit and its consumers). */
  async start(): Promise<void> {
    this.#stopped = false
    await this.settle()
  }

  /** No more rounds; waits for the one in progress. Entries left are drained at the next start. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    await this.#next?.catch(() => undefined)
    await this.#round?.catch(() => undefined)
  }

  /** Starts a round soon, without waiting for it. */
  wake(): void {
    void this.#requestRound().catch((err: unknown) => this.#log.error({ err }, 'outbox round failed'))
  }

  /**
   * Resolves once a round that started after this call has run, and the rounds for the events
   * those consumers caused in turn (bounded): when an action's caller gets its answer, its audit
   * entry, notification jobs and live revisions are stored, unless a consumer failed (then
   * it is retried in the background).
   */
  async settle(): Promise<void> {
    for (let round = 0; round < SETTLE_ROUNDS && !this.#stopped; round++) {
      if ((await this.#requestRound()) === 0) return
    }
  }

  /** A round that starts after this call: the next one if a round is running, else a new one now. */
  #requestRound(): Promise<number> {
    if (this.#stopped) return Promise.resolve(0)
    if (this.#round === undefined) {
      const round = this.#inRound.run(true, () => this.#drainAll())
      this.#round = round.finally(() => {
        if (this.#round === tracked) this.#round = undefined
      })
      const tracked = this.#round
      return tracked
    }
    // A round is running: it may have listed its entries before ours committed.
    this.#next ??= this.#round
      .catch(() => 0)
      .then(() => {
        this.#next = undefined
        return this.#requestRound()
      })
    return this.#next
  }

  /** One round: every consumer drains its due entries, independently of the others. Returns how many were handled. */
  async #drainAll(): Promise<number> {
    const handled = await Promise.all(this.#consumers.map((consumer) => this.#drain(consumer)))
    return handled.reduce((sum, n) => sum + n, 0)
  }

  async #drain(consumer: OutboxConsumer): Promise<number> {
    let handled = 0
    let after = this.#cursorOf(consumer.name)
    for (;;) {
      let entries: ListedOutboxEntry[]
      try {
        entries = await this.#store.outbox.list(consumer.name, BATCH, after)
      } catch (err) {
        this.#log.error({ err, consumer: consumer.name }, 'reading the outbox failed')
        this.#scheduleRetry(this.#retryBaseMs)
        return handled
      }
      const byCase = new Map<string, ListedOutboxEntry[]>()
      for (const entry of entries) {
        const pending = byCase.get(entry.caseId)
        if (pending === undefined) byCase.set(entry.caseId, [entry])
        else pending.push(entry)
      }
      const held = new Set<string>()
      let heldThrough = 0
      for (const [caseId, pending] of byCase) {
        if (this.#stopped) return handled
        const key = `${consumer.name}\u0000${caseId}`
        if (this.#heldForMs(key) > 0) {
          held.add(key)
          heldThrough = Math.max(heldThrough, pending.at(-1)!.seq)
          continue
        }
        try {
          const outcome = await consumer.handle(caseId, pending)
          crashPoint('outbox.after-consumer')
          this.#failures.delete(key)
          if (outcome !== undefined) {
            const delay = Math.max(0, outcome.retryInMs)
            this.#deferrals.set(key, this.#now() + delay)
            held.add(key)
            heldThrough = Math.max(heldThrough, pending.at(-1)!.seq)
            this.#scheduleRetry(delay)
            continue
          }
          handled += pending.length
        } catch (err) {
          const attempts = (this.#failures.get(key)?.attempts ?? 0) + 1
          const delay = retryDelayMs(attempts, this.#retryBaseMs, this.#retryMaxMs)
          this.#failures.set(key, { attempts, retryAt: Date.now() + delay })
          held.add(key)
          heldThrough = Math.max(heldThrough, pending.at(-1)!.seq)
          this.#log.error(
            { err, consumer: consumer.name, caseId, event: pending[0]?.event['type'], attempts, retryInMs: delay },
            'outbox consumer failed; will retry',
          )
          this.#scheduleRetry(delay)
        }
      }
      // Every entry read is now handled (gone) or held: later rounds start past the held ones until a hold ends.
      if (heldThrough > 0) {
        const cursor = this.#cursors.get(consumer.name)
        this.#cursors.set(consumer.name, { after: Math.max(cursor?.after ?? 0, heldThrough), held: new Set([...(cursor?.held ?? []), ...held]) })
      }
      // A full batch may hide more entries.
      if (entries.length < BATCH) return handled
      after = entries.at(-1)!.seq
    }
  }

  /** Where `consumer`'s round starts reading: past its held entries while all their holds last, else at the first entry. */
  #cursorOf(consumer: string): number {
    const cursor = this.#cursors.get(consumer)
    if (cursor === undefined) return 0
    for (const key of cursor.held) {
      if (this.#heldForMs(key) === 0) {
        this.#cursors.delete(consumer)
        return 0
      }
    }
    return cursor.after
  }

  /**
   * How long case `key` (`<consumer>\u0000<case>`) is still held because it failed or was
   * deferred (0: not held). A hold still running re-arms the wake-up at its end: a timer may fire
   * a few milliseconds before the hold's end by the clock (it counts from the event loop's cached
   * time), and a round that found the hold still on must not be the last one.
   */
  #heldForMs(key: string): number {
    let left = 0
    const deferral = this.#deferrals.get(key)
    if (deferral !== undefined) {
      left = deferral - this.#now()
      if (left <= 0) this.#deferrals.delete(key)
    }
    const failure = this.#failures.get(key)
    if (failure !== undefined) left = Math.max(left, failure.retryAt - Date.now())
    if (left <= 0) return 0
    this.#scheduleRetry(left)
    return left
  }

  /** Wakes a round after `delayMs` (the earliest retry wins); real time, like the job runner's polling. */
  #scheduleRetry(delayMs: number): void {
    const due = Date.now() + delayMs
    if (this.#stopped || (this.#retryTimer !== undefined && this.#retryDue <= due)) return
    clearTimeout(this.#retryTimer)
    this.#retryDue = due
    this.#retryTimer = this.outsideRound(() =>
      setTimeout(() => {
        this.#retryTimer = undefined
        this.wake()
      }, delayMs),
    )
    this.#retryTimer.unref()
  }
}
