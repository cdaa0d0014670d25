/**
 * An action's transaction (`NodeContext.transaction`): its store work, its domain events
 * written to the outbox in the same transaction, then — once committed — the in-memory
 * observers (metrics), the after-commit effects (waking the job runner) and the consumers,
 * which the caller waits for so it answers with its audit entry stored.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Clock, NodeContext, Transaction } from '../context.ts'
import type { AnyNodeEvent } from '../events.ts'
import { crashPoint } from '../operations/crash_points.ts'
import type { MetadataStore, OutboxEntry } from '../store/metadata_store.ts'
import type { Outbox } from './outbox.ts'

/** Sees every event once its action committed; in memory only (metrics), so a crash may skip it. */
export type EventObserver = (event: AnyNodeEvent) => void | Promise<void>

export interface ActionOptions {
  store: MetadataStore
  clock: Clock
  log: Logger
  outbox: Outbox
  observers: readonly EventObserver[]
}

export function createActions(options: ActionOptions): Pick<NodeContext, 'transaction' | 'record'> {
  const { store, clock, log, outbox, observers } = options

  async function transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    let events: AnyNodeEvent[] = []
    let effects: Array<() => void> = []
    let entries: OutboxEntry[] = []
    const result = await store.transaction(async (txStore) => {
      events = []
      effects = []
      const tx: Transaction = {
        store: txStore,
        record: (event) => void events.push(event),
        afterCommit: (effect) => void effects.push(effect),
      }
      const value = await work(tx)
      // Written last, so the outbox order is the commit order (a case's events stay in order).
      const at = Math.floor(clock.now().getTime() / 1000)
      entries = events.flatMap((event) => outbox.entriesOf(randomUUID(), event, at))
      if (entries.length > 0) await txStore.outbox.append(entries)
      return value
    })
    if (entries.length > 0) crashPoint('outbox.after-commit')
    for (const event of events) {
      for (const observe of observers) {
        try {
          await observe(event)
        } catch (err) {
          log.error({ err, event: event.type }, 'event observer failed')
        }
      }
    }
    outbox.outsideRound(() => {
      for (const effect of effects) {
        try {
          effect()
        } catch (err) {
          log.error({ err }, 'after-commit effect failed')
        }
      }
    })
    if (entries.length > 0) {
      // A consumer's own action (a live revision) must not wait for the round it runs in.
      if (outbox.inRound) outbox.wake()
      else await outbox.settle()
    }
    return result
  }

  return {
    transaction,
    record: (event) => transaction(async (tx) => tx.record(event)),
  }
}
