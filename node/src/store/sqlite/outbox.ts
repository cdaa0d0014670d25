/**
 * SQL and row mapping of the outbox (`outbox`): domain events waiting for their consumers.
 *
 * @module
 */
import type { ListedOutboxEntry, OutboxEntry } from '../metadata_store.ts'
import { toJson, type Params, type Row } from './rows.ts'

export const OUTBOX_SQL = {
  insert: 'INSERT INTO outbox (event_id, consumer, case_id, event, recorded_at) VALUES (:event_id, :consumer, :case_id, :event, :recorded_at)',
  /** In seq order: the order the events committed in, which keeps each case's order. */
  list: 'SELECT * FROM outbox WHERE consumer = ? AND seq > ? ORDER BY seq LIMIT ?',
  delete: 'DELETE FROM outbox WHERE consumer = ? AND event_id = ?',
} as const

export function outboxFromRow(row: Row): ListedOutboxEntry {
  return {
    seq: row['seq'] as number,
    eventId: row['event_id'] as string,
    consumer: row['consumer'] as string,
    caseId: row['case_id'] as string,
    event: JSON.parse(row['event'] as string) as Record<string, unknown>,
    recordedAt: row['recorded_at'] as number,
  }
}

/** @throws {TypeError} for a malformed entry (nothing is stored). */
export function outboxParams(entry: OutboxEntry): Params {
  for (const key of ['eventId', 'consumer', 'caseId'] as const) {
    if (typeof entry[key] !== 'string' || entry[key].length === 0) throw new TypeError(`outbox entry ${key} must be a non-empty string`)
  }
  if (typeof entry.event !== 'object' || entry.event === null) throw new TypeError('outbox entry event must be an object')
  if (!Number.isSafeInteger(entry.recordedAt)) throw new TypeError('outbox entry recordedAt must be an integer')
  return { event_id: entry.eventId, consumer: entry.consumer, case_id: entry.caseId, event: toJson(entry.event), recorded_at: entry.recordedAt }
}
