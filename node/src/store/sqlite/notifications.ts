/**
 * SQL and row mapping for the delivery state of notifications (`notifications`: one row per
 * external case, revision and channel) in the SQLite metadata store. Kept apart from
 * `statements.ts` and `rows.ts` so this part of the schema reads in one place.
 *
 * @module
 */
import type { AddedRecipientRecord, NotificationChannel, NotificationRecord, NotificationStatus } from '../metadata_store.ts'
import type { Params, Row } from './rows.ts'

const NOTIFICATION_COLUMNS = ['inbound_id', 'revision', 'channel', 'status', 'attempts', 'last_error', 'updated_at']
const CHANNELS: readonly NotificationChannel[] = ['email', 'webhook']
const STATUSES: readonly NotificationStatus[] = ['pending', 'sent', 'failed', 'dead']

const insert = `INSERT INTO notifications (${NOTIFICATION_COLUMNS.join(', ')}) VALUES (${NOTIFICATION_COLUMNS.map((c) => ':' + c).join(', ')})`

export const NOTIFICATION_SQL = {
  insertNotification: insert + ' ON CONFLICT (inbound_id, revision, channel) DO NOTHING',
  upsertNotification:
    insert +
    ' ON CONFLICT (inbound_id, revision, channel) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,' +
    ' last_error = excluded.last_error, updated_at = excluded.updated_at',
  getNotification: 'SELECT * FROM notifications WHERE inbound_id = ? AND revision = ? AND channel = ?',
  listNotifications: 'SELECT * FROM notifications WHERE inbound_id = ? ORDER BY revision, channel',
} as const

export function notificationFromRow(row: Row): NotificationRecord {
  return {
    inboundId: row['inbound_id'] as string,
    revision: row['revision'] as number,
    channel: row['channel'] as NotificationChannel,
    status: row['status'] as NotificationStatus,
    attempts: row['attempts'] as number,
    lastError: (row['last_error'] ?? null) as string | null,
    updatedAt: row['updated_at'] as number,
  }
}

/** @throws {TypeError} for a malformed record (nothing is stored). */
export function notificationParams(n: NotificationRecord): Params {
  if (typeof n.inboundId !== 'string' || n.inboundId.length === 0) throw new TypeError('notification inboundId must be a non-empty string')
  if (!Number.isSafeInteger(n.revision) || n.revision < 1) throw new TypeError('notification revision must be an integer ≥ 1')
  if (!CHANNELS.includes(n.channel)) throw new TypeError('notification channel must be "email" or "webhook"')
  if (!STATUSES.includes(n.status)) throw new TypeError('notification status must be pending, sent, failed or dead')
  if (!Number.isSafeInteger(n.attempts) || n.attempts < 0) throw new TypeError('notification attempts must be an integer ≥ 0')
  if (n.lastError !== null && typeof n.lastError !== 'string') throw new TypeError('notification lastError must be a string or null')
  if (!Number.isSafeInteger(n.updatedAt)) throw new TypeError('notification updatedAt must be an integer (Unix seconds)')
  return {
    inbound_id: n.inboundId,
    revision: n.revision,
    channel: n.channel,
    status: n.status,
    attempts: n.attempts,
    last_error: n.lastError,
    updated_at: n.updatedAt,
  }
}

// Recipients the receiving side added to an external case (SPEC.md CW-LOC-025)

export const ADDED_RECIPIENT_SQL = {
  insertAddedRecipient:
    'INSERT INTO added_recipients (inbound_id, kind, recipient_id, added_by, added_at) VALUES (:inbound_id, :kind, :recipient_id, :added_by, :added_at)' +
    ' ON CONFLICT (inbound_id, kind, recipient_id) DO NOTHING',
  listAddedRecipients: 'SELECT * FROM added_recipients WHERE inbound_id = ? ORDER BY added_at, rowid',
} as const

export function addedRecipientFromRow(row: Row): AddedRecipientRecord {
  return {
    inboundId: row['inbound_id'] as string,
    kind: row['kind'] as AddedRecipientRecord['kind'],
    recipientId: row['recipient_id'] as string,
    addedBy: row['added_by'] as string,
    addedAt: row['added_at'] as number,
  }
}

/** @throws {TypeError} for a malformed record (nothing is stored). */
export function addedRecipientParams(r: AddedRecipientRecord): Params {
  if (r.kind !== 'user' && r.kind !== 'group') throw new TypeError('an added recipient is a user or a group')
  if (typeof r.recipientId !== 'string' || r.recipientId.length === 0) throw new TypeError('added recipient id must be a non-empty string')
  if (!Number.isSafeInteger(r.addedAt)) throw new TypeError('added recipient addedAt must be an integer (Unix seconds)')
  return { inbound_id: r.inboundId, kind: r.kind, recipient_id: r.recipientId, added_by: r.addedBy, added_at: r.addedAt }
}
