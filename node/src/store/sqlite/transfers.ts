/**
 * SQL and row mapping for what the local API tells of an outbound share besides its status
 * (SPEC.md CW-LOC-031): the items the sending policy held back from each revision
 * (`outbound_held_back`) and the partner's progress through the chunks it asked for
 * (`outbound_transfers`, `outbound_transfer_chunks`).
 *
 * @module
 */
import type { HeldBackItem, HeldBackReason, OutboundTransferRecord } from '../metadata_store.ts'
import type { Row } from './rows.ts'

export const TRANSFER_SQL = {
  insertHeldBack:
    'INSERT INTO outbound_held_back (share_id, revision, evidence_id, name, reason) VALUES (:share, :revision, :evidence_id, :name, :reason) ON CONFLICT DO NOTHING',
  listHeldBack: 'SELECT * FROM outbound_held_back WHERE share_id = ? AND revision = ? ORDER BY rowid',
  insertTransfer: 'INSERT INTO outbound_transfers (share_id, revision, chunks_total, bytes_total) VALUES (:share, :revision, 0, 0) ON CONFLICT DO NOTHING',
  insertTransferChunk:
    'INSERT INTO outbound_transfer_chunks (share_id, revision, digest, size) VALUES (:share, :revision, :digest, :size) ON CONFLICT DO NOTHING',
  /** Totals follow the chunk rows, so an answer recorded twice counts each chunk once. */
  totalTransfer: `
    UPDATE outbound_transfers SET
      chunks_total = (SELECT count(*) FROM outbound_transfer_chunks c WHERE c.share_id = :share AND c.revision = :revision),
      bytes_total = (SELECT coalesce(sum(size), 0) FROM outbound_transfer_chunks c WHERE c.share_id = :share AND c.revision = :revision)
    WHERE share_id = :share AND revision = :revision`,
  /** Marks the chunk of the share's current revision; RETURNING says whether it was new. */
  markChunkServed: `
    UPDATE outbound_transfer_chunks SET served = 1
    WHERE share_id = :share AND revision = (SELECT revision FROM outbound_shares WHERE id = :share) AND digest = :digest AND served = 0
    RETURNING revision, size`,
  countChunkServed:
    'UPDATE outbound_transfers SET chunks_done = chunks_done + 1, bytes_done = bytes_done + :size WHERE share_id = :share AND revision = :revision',
  getTransfer: 'SELECT * FROM outbound_transfers WHERE share_id = ? AND revision = ?',
} as const

const REASONS: ReadonlySet<string> = new Set<HeldBackReason>(['do-not-disclose', 'category-excluded', 'attachments-excluded', 'parent-not-shared'])

export function heldBackFromRow(row: Row): HeldBackItem {
  const reason = row['reason'] as string
  if (!REASONS.has(reason)) throw new Error(`unknown held-back reason "${reason}" in the store`)
  return { evidenceId: row['evidence_id'] as string, name: row['name'] as string, reason: reason as HeldBackReason }
}

export function transferFromRow(row: Row): OutboundTransferRecord {
  return {
    shareId: row['share_id'] as string,
    revision: row['revision'] as number,
    chunksTotal: row['chunks_total'] as number,
    bytesTotal: row['bytes_total'] as number,
    chunksDone: row['chunks_done'] as number,
    bytesDone: row['bytes_done'] as number,
  }
}
