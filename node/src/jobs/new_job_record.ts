/**
 * A pending job row, for queueing a job inside a store transaction (`tx.jobs.enqueue`), so the
 * job commits together with the state it works on.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { JobRecord } from '../store/metadata_store.ts'
import type { JobKind } from './kinds.ts'

export function newJobRecord(kind: JobKind, ref: string, payload: Record<string, unknown>, now: number): JobRecord {
  return {
    id: randomUUID(),
    kind,
    ref,
    payload,
    state: 'pending',
    attempts: 0,
    runAt: now,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    claimedBy: null,
    leaseUntil: null,
  }
}
