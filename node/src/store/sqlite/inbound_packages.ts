/**
 * SQL and row mapping of inbound packages (`inbound_packages`; SPEC.md §22, CW-PKG-012..017):
 * a package a partner offered to our users, and the sender's side of the offer (`link_shares`
 * columns `offer_jws`, `offered_at`).
 *
 * @module
 */
import type { InboundPackageRecord, LinkShareOffer } from '../metadata_store.ts'
import { namesUserOrGroup, toJson, type Params, type Row } from './rows.ts'

export const INBOUND_PACKAGE_SQL = {
  insert: `INSERT INTO inbound_packages (id, sender_org, package_id, state, offer_jws, offer_digest, offer_jti, recipients, format, size, manifest_digest,
    message, expires_at, failure, sender_name, case_id, chunk_size, chunks, created_at, updated_at, received_at, revoked_at)
    VALUES (:id, :sender_org, :package_id, :state, :offer_jws, :offer_digest, :offer_jti, :recipients, :format, :size, :manifest_digest,
    :message, :expires_at, :failure, :sender_name, :case_id, :chunk_size, :chunks, :created_at, :updated_at, :received_at, :revoked_at)`,
  get: 'SELECT * FROM inbound_packages WHERE id = ?',
  find: 'SELECT * FROM inbound_packages WHERE sender_org = ? AND package_id = ?',
  list: 'SELECT * FROM inbound_packages ORDER BY created_at DESC, id',
  // Recipient matching of inbound_packages/inbound_packages.ts, in SQL; newest first by rowid.
  listVisible: `
    SELECT p.*, p.rowid AS position FROM inbound_packages AS p
    WHERE p.offer_jws IS NOT NULL AND (:after IS NULL OR p.rowid < :after)
      AND (:sees_all = 1 OR ${namesUserOrGroup('p.recipients')})
    ORDER BY p.rowid DESC LIMIT :limit`,
  complete: `UPDATE inbound_packages SET state = 'received', sender_name = :sender_name, case_id = :case_id, chunk_size = :chunk_size, chunks = :chunks,
    received_at = :at, updated_at = :at WHERE id = :id AND state = 'receiving'`,
  refuse: `UPDATE inbound_packages SET state = 'refused', failure = ?, updated_at = ? WHERE id = ? AND state = 'receiving'`,
  revoke: `UPDATE inbound_packages SET state = 'revoked', revoked_at = ?, updated_at = ? WHERE id = ? AND state <> 'revoked'`,
  getLinkShareOffer: 'SELECT offer_jws, offered_at FROM link_shares WHERE id = ? AND offer_jws IS NOT NULL',
  setLinkShareOffer: 'UPDATE link_shares SET offer_jws = ?, updated_at = ? WHERE id = ?',
  markLinkShareOffered: 'UPDATE link_shares SET offered_at = ?, updated_at = ? WHERE id = ? AND offered_at IS NULL',
} as const

export function inboundPackageFromRow(row: Row): InboundPackageRecord {
  const chunks = (row['chunks'] ?? null) as string | null
  return {
    id: row['id'] as string,
    senderOrg: row['sender_org'] as string,
    packageId: row['package_id'] as string,
    state: row['state'] as InboundPackageRecord['state'],
    offer:
      row['offer_jws'] === null
        ? null
        : {
            jws: row['offer_jws'] as string,
            digest: row['offer_digest'] as string,
            jti: row['offer_jti'] as string,
            format: row['format'] as NonNullable<InboundPackageRecord['offer']>['format'],
            size: row['size'] as number,
            manifest: row['manifest_digest'] as string,
            message: (row['message'] ?? null) as string | null,
          },
    recipients: JSON.parse(row['recipients'] as string) as InboundPackageRecord['recipients'],
    expiresAt: row['expires_at'] as number,
    failure: (row['failure'] ?? null) as string | null,
    senderName: (row['sender_name'] ?? null) as string | null,
    caseId: (row['case_id'] ?? null) as string | null,
    content: chunks === null ? null : { chunkSize: row['chunk_size'] as number, chunks: JSON.parse(chunks) as string[] },
    createdAt: row['created_at'] as number,
    updatedAt: row['updated_at'] as number,
    receivedAt: (row['received_at'] ?? null) as number | null,
    revokedAt: (row['revoked_at'] ?? null) as number | null,
  }
}

/** @throws {TypeError} for a malformed record (nothing is stored). */
export function inboundPackageParams(record: InboundPackageRecord): Params {
  if (typeof record.id !== 'string' || record.id.length === 0) throw new TypeError('inbound package id must be a non-empty string')
  if (!Number.isSafeInteger(record.createdAt) || !Number.isSafeInteger(record.expiresAt)) throw new TypeError('inbound package times must be integers')
  const { offer, content } = record
  return {
    id: record.id,
    sender_org: record.senderOrg,
    package_id: record.packageId,
    state: record.state,
    offer_jws: offer?.jws ?? null,
    offer_digest: offer?.digest ?? null,
    offer_jti: offer?.jti ?? null,
    recipients: toJson(record.recipients),
    format: offer?.format ?? null,
    size: offer?.size ?? null,
    manifest_digest: offer?.manifest ?? null,
    message: offer?.message ?? null,
    expires_at: record.expiresAt,
    failure: record.failure,
    sender_name: record.senderName,
    case_id: record.caseId,
    chunk_size: content?.chunkSize ?? null,
    chunks: content === null ? null : toJson(content.chunks),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    received_at: record.receivedAt,
    revoked_at: record.revokedAt,
  }
}

export function completeInboundPackageParams(
  id: string,
  received: { senderName: string; caseId: string; chunkSize: number; chunks: readonly string[] },
  at: number,
): Params {
  return { id, at, sender_name: received.senderName, case_id: received.caseId, chunk_size: received.chunkSize, chunks: toJson(received.chunks) }
}

export function linkShareOfferFromRow(row: Row): LinkShareOffer {
  return { jws: row['offer_jws'] as string, offeredAt: (row['offered_at'] ?? null) as number | null }
}
