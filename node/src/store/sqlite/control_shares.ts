/**
 * SQL and row mapping of the conformance control table (`control_shares`, SPEC.md §21): which
 * outbound shares the control endpoint EP-6 made, and for which peer.
 *
 * @module
 */
import type { ControlShareRecord } from '../metadata_store.ts'
import type { Params, Row } from './rows.ts'

export const CONTROL_SQL = {
  insertControlShare: 'INSERT INTO control_shares (share_id, peer_org, created_at) VALUES (:share_id, :peer_org, :created_at)',
  getControlShare: 'SELECT * FROM control_shares WHERE share_id = ?',
} as const

export function controlShareFromRow(row: Row): ControlShareRecord {
  return { shareId: row['share_id'] as string, peerOrg: row['peer_org'] as string, createdAt: row['created_at'] as number }
}

/** @throws {TypeError} for a malformed record (nothing is stored). */
export function controlShareParams(record: ControlShareRecord): Params {
  if (typeof record.shareId !== 'string' || record.shareId.length === 0) throw new TypeError('control share shareId must be a non-empty string')
  if (typeof record.peerOrg !== 'string' || record.peerOrg.length === 0) throw new TypeError('control share peerOrg must be a non-empty string')
  if (!Number.isSafeInteger(record.createdAt)) throw new TypeError('control share createdAt must be an integer')
  return { share_id: record.shareId, peer_org: record.peerOrg, created_at: record.createdAt }
}
