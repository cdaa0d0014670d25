/**
 * SQL and row mapping of the conformance control table (`control_shares`, SPEC.md §21): which
 * outbound shares the control endpoint EP-6 made, and for which peer.
 *
 * @module
 */
import type { ControlShareRecord, RevocationTombstoneRecord } from '../metadata_store.ts'
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

/** Partner versions (CW-VER-004) and revocation tombstones (CW-FED-018). */
export const VERSIONS_SQL = {
  /**
   * Writes only when the versions changed (learned_at: when this list was first learned). Every
   * answer of a partner carries its versions — thousands of chunk answers per share — and an
   * unconditional write was one more synchronous commit (an fsync) per chunk.
   */
  setPartnerVersions:
    'INSERT INTO partner_versions (org, versions, learned_at) VALUES (:org, :versions, :learned_at) ON CONFLICT (org) DO UPDATE SET versions = excluded.versions, learned_at = excluded.learned_at WHERE versions IS NOT excluded.versions',
  getPartnerVersions: 'SELECT versions FROM partner_versions WHERE org = ?',
  insertRevocationTombstone:
    'INSERT INTO revocation_tombstones (sender_org, share_id, revoked_at, expires_at, received_at) VALUES (:sender_org, :share_id, :revoked_at, :expires_at, :received_at) ON CONFLICT DO NOTHING',
  getRevocationTombstone: 'SELECT * FROM revocation_tombstones WHERE sender_org = ? AND share_id = ?',
} as const

export function revocationTombstoneFromRow(row: Row): RevocationTombstoneRecord {
  return {
    senderOrg: row['sender_org'] as string,
    shareId: row['share_id'] as string,
    revokedAt: row['revoked_at'] as number,
    expiresAt: row['expires_at'] as number,
    receivedAt: row['received_at'] as number,
  }
}

export function revocationTombstoneParams(record: RevocationTombstoneRecord): Params {
  return {
    sender_org: record.senderOrg,
    share_id: record.shareId,
    revoked_at: record.revokedAt,
    expires_at: record.expiresAt,
    received_at: record.receivedAt,
  }
}
