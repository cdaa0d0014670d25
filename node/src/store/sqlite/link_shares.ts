/**
 * SQL and row mapping of link shares (`link_shares`, `link_share_members`; SPEC.md §22): a
 * case package for one recipient, and the ordered members its layout is recomputed from.
 *
 * @module
 */
import type { LinkPackageRecord, LinkShareMember, LinkShareRecord } from '../metadata_store.ts'
import { bool, toJson, type Params, type Row } from './rows.ts'

export const LINK_SQL = {
  insertLinkShare: `INSERT INTO link_shares (id, case_id, created_by, recipient_kind, recipient_value, scope, folder_ids, evidence_ids, format,
    retain_folder_structure, audit_trail, table_of_contents, transcripts, message, state, failure, created_at, updated_at, expires_at, revoked_at, revoked_by,
    package_created_at, package_size, package_digest, items, token_hash)
    VALUES (:id, :case_id, :created_by, :recipient_kind, :recipient_value, :scope, :folder_ids, :evidence_ids, :format,
    :retain_folder_structure, :audit_trail, :table_of_contents, :transcripts, :message, :state, :failure, :created_at, :updated_at, :expires_at, :revoked_at, :revoked_by,
    :package_created_at, :package_size, :package_digest, :items, :token_hash)`,
  getLinkShare: 'SELECT * FROM link_shares WHERE id = ?',
  findLinkShareByTokenHash: 'SELECT * FROM link_shares WHERE token_hash = ?',
  listLinkShares: 'SELECT * FROM link_shares WHERE case_id = ? ORDER BY created_at, id',
  completeLinkShare: `UPDATE link_shares SET state = 'ready', updated_at = :at, package_created_at = :created_at, package_size = :size,
    package_digest = :digest, items = :items WHERE id = :id AND state = 'processing'`,
  failLinkShare: `UPDATE link_shares SET state = 'failed', failure = ?, updated_at = ? WHERE id = ? AND state IN ('processing', 'ready')`,
  revokeLinkShare: `UPDATE link_shares SET state = 'revoked', revoked_by = ?, revoked_at = ?, updated_at = ? WHERE id = ? AND state <> 'revoked'`,
  setLinkShareTokenHash: 'UPDATE link_shares SET token_hash = ? WHERE id = ?',
  insertLinkShareMember:
    'INSERT INTO link_share_members (link_id, position, path, size, crc32, kind, ref) VALUES (:link_id, :position, :path, :size, :crc32, :kind, :ref)',
  listLinkShareMembers: 'SELECT path, size, crc32, kind, ref FROM link_share_members WHERE link_id = ? ORDER BY position',
} as const

export function linkShareFromRow(row: Row): LinkShareRecord {
  const size = row['package_size'] as number | null
  return {
    id: row['id'] as string,
    caseId: row['case_id'] as string,
    createdBy: row['created_by'] as string,
    recipient: { kind: row['recipient_kind'] as LinkShareRecord['recipient']['kind'], value: row['recipient_value'] as string },
    scope: row['scope'] as LinkShareRecord['scope'],
    folderIds: JSON.parse(row['folder_ids'] as string) as string[],
    evidenceIds: JSON.parse(row['evidence_ids'] as string) as string[],
    format: row['format'] as LinkShareRecord['format'],
    retainFolderStructure: row['retain_folder_structure'] === 1,
    attachments: { auditTrail: row['audit_trail'] === 1, tableOfContents: row['table_of_contents'] === 1, transcripts: row['transcripts'] === 1 },
    message: (row['message'] ?? null) as string | null,
    state: row['state'] as LinkShareRecord['state'],
    failure: (row['failure'] ?? null) as string | null,
    createdAt: row['created_at'] as number,
    updatedAt: row['updated_at'] as number,
    expiresAt: row['expires_at'] as number,
    revokedAt: (row['revoked_at'] ?? null) as number | null,
    revokedBy: (row['revoked_by'] ?? null) as string | null,
    package:
      size === null
        ? null
        : {
            createdAt: row['package_created_at'] as number,
            size,
            digest: row['package_digest'] as string,
            items: row['items'] as number,
          },
    tokenHash: (row['token_hash'] ?? null) as string | null,
  }
}

/** @throws {TypeError} for a malformed record (nothing is stored). */
export function linkShareParams(record: LinkShareRecord): Params {
  if (typeof record.id !== 'string' || record.id.length === 0) throw new TypeError('link share id must be a non-empty string')
  if (!Number.isSafeInteger(record.createdAt) || !Number.isSafeInteger(record.expiresAt)) throw new TypeError('link share times must be integers')
  return {
    id: record.id,
    case_id: record.caseId,
    created_by: record.createdBy,
    recipient_kind: record.recipient.kind,
    recipient_value: record.recipient.value,
    scope: record.scope,
    folder_ids: toJson(record.folderIds),
    evidence_ids: toJson(record.evidenceIds),
    format: record.format,
    retain_folder_structure: bool(record.retainFolderStructure),
    audit_trail: bool(record.attachments.auditTrail),
    table_of_contents: bool(record.attachments.tableOfContents),
    transcripts: bool(record.attachments.transcripts),
    message: record.message,
    state: record.state,
    failure: record.failure,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    expires_at: record.expiresAt,
    revoked_at: record.revokedAt,
    revoked_by: record.revokedBy,
    package_created_at: record.package?.createdAt ?? null,
    package_size: record.package?.size ?? null,
    package_digest: record.package?.digest ?? null,
    items: record.package?.items ?? null,
    token_hash: record.tokenHash,
  }
}

export function completeLinkShareParams(id: string, built: LinkPackageRecord, at: number): Params {
  return { id, at, created_at: built.createdAt, size: built.size, digest: built.digest, items: built.items }
}

export function linkShareMemberParams(linkId: string, position: number, member: LinkShareMember): Params {
  const { source } = member
  return {
    link_id: linkId,
    position,
    path: member.path,
    size: member.size,
    crc32: member.crc32,
    kind: source.kind,
    ref: source.kind === 'generated' ? source.digest : source.id,
  }
}

export function linkShareMemberFromRow(row: Row): LinkShareMember {
  const ref = row['ref'] as string
  return {
    path: row['path'] as string,
    size: row['size'] as number,
    crc32: row['crc32'] as number,
    source: row['kind'] === 'generated' ? { kind: 'generated', digest: ref } : { kind: 'evidence', id: ref },
  }
}
