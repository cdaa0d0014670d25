/**
 * Queueing a job inside an action's transaction (`NodeContext.jobs`): the job row commits
 * with the state it works on, and the runner is woken after the commit. Nothing is inserted
 * a second time to wake it: a second insert could land after the first job was claimed and
 * make the job run twice.
 *
 * @module
 */
import type { Clock, Jobs } from '../context.ts'
import { newJobRecord } from './new_job_record.ts'
import type { JobKind } from './kinds.ts'

export interface JobQueueOptions {
  clock: Clock
  /** Called once the transaction that queued a job committed. */
  wake: () => void
  /** Kinds that have a handler (default: any kind is accepted). */
  kinds?: () => ReadonlySet<string>
}

export function jobQueue(options: JobQueueOptions): Jobs {
  return {
    async enqueue(tx, kind, ref, payload = {}, runAt) {
      if (options.kinds !== undefined && !options.kinds().has(kind)) throw new TypeError(`no handler for job kind "${kind}"`)
      if (typeof ref !== 'string' || ref.length === 0) throw new TypeError('ref must be a non-empty string')
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new TypeError('payload must be an object')
      if (runAt !== undefined && !Number.isSafeInteger(runAt)) throw new TypeError('runAt must be an integer (Unix seconds)')
      const now = Math.floor(options.clock.now().getTime() / 1000)
      await tx.store.jobs.enqueue({ ...newJobRecord(kind as JobKind, ref, payload, now), runAt: runAt ?? now })
      tx.afterCommit(options.wake)
    },
  }
}
