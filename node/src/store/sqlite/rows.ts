/**
 * Row ↔ record mapping for the SQLite metadata store. Every record is built afresh from its
 * row, so callers always get copies; JSON columns are parsed, 0/1 columns become booleans. The
 * one exception: a large received manifest is parsed once and shared, frozen (`shared_manifests.ts`).
 *
 * @module
 */
import type { SQLInputValue, SQLOutputValue } from 'node:sqlite'
import type {
  CaseRecord,
  CaseViewer,
  EvidenceRecord,
  FolderRecord,
  InboundShareRecord,
  InboundShareWithManifest,
  InboundShareState,
  InboundShareViewer,
  JobRecord,
  OutboundRevisionRecord,
  OutboundShareRecord,
  OutboundShareState,
  Page,
  PageRequest,
  PartnerRecord,
  PolicyRecord,
  TokenRecord,
  VisibleInboundShare,
} from '../metadata_store.ts'
import { detachPayload } from '#protocol'
import { manifestJson, parsedManifest, sharedManifest } from '../../shared_manifests.ts'

export type Row = Record<string, SQLOutputValue>

/** Named parameters of a statement. */
export type Params = Record<string, SQLInputValue>

const str = (row: Row, column: string): string => row[column] as string
const num = (row: Row, column: string): number => row[column] as number
const strOrNull = (row: Row, column: string): string | null => (row[column] ?? null) as string | null
const numOrNull = (row: Row, column: string): number | null => (row[column] ?? null) as number | null
const json = <T>(row: Row, column: string): T => JSON.parse(row[column] as string) as T

/**
 * SQL that is true when the JSON array `column` of principals (`{kind, id}`) names the user
 * `:user_id` or one of the groups in the JSON array `:groups`: case teams and package recipients
 * are matched the same way.
 */
export function namesUserOrGroup(column: string): string {
  return `EXISTS (
        SELECT 1 FROM json_each(${column}) AS principal
        WHERE CASE json_extract(principal.value, '$.kind')
          WHEN 'user' THEN json_extract(principal.value, '$.id') = :user_id
          WHEN 'group' THEN json_extract(principal.value, '$.id') IN (SELECT value FROM json_each(:groups))
        END)`
}

export function toJson(value: unknown): string {
  const text = JSON.stringify(value)
  if (typeof text !== 'string') throw new TypeError('value is not JSON')
  return text
}

export const bool = (value: boolean): number => (value ? 1 : 0)

export function tokenFromRow(row: Row): TokenRecord {
  return {
    id: str(row, 'id'),
    hash: str(row, 'hash'),
    role: str(row, 'role') as TokenRecord['role'],
    userId: str(row, 'user_id'),
    name: str(row, 'name'),
    createdAt: num(row, 'created_at'),
    expiresAt: num(row, 'expires_at'),
    lastUsedAt: numOrNull(row, 'last_used_at'),
    revokedAt: numOrNull(row, 'revoked_at'),
  }
}

export function tokenParams(t: TokenRecord): Params {
  return {
    id: t.id,
    hash: t.hash,
    role: t.role,
    user_id: t.userId,
    name: t.name,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    last_used_at: t.lastUsedAt ?? null,
    revoked_at: t.revokedAt ?? null,
  }
}

export function partnerFromRow(row: Row): PartnerRecord {
  return {
    org: str(row, 'org'),
    name: str(row, 'name'),
    endpoint: str(row, 'endpoint'),
    caCertificate: str(row, 'ca_certificate'),
    caFingerprint: str(row, 'ca_fingerprint'),
    enabled: num(row, 'enabled') === 1,
    policyId: strOrNull(row, 'policy_id'),
    policyVersion: numOrNull(row, 'policy_version'),
    addedAt: num(row, 'added_at'),
    trustOnly: num(row, 'trust_only') === 1,
  }
}

export function partnerParams(p: PartnerRecord): Params {
  return {
    org: p.org,
    name: p.name,
    endpoint: p.endpoint,
    ca_certificate: p.caCertificate,
    ca_fingerprint: p.caFingerprint,
    enabled: bool(p.enabled),
    policy_id: p.policyId ?? null,
    policy_version: p.policyVersion ?? null,
    added_at: p.addedAt,
    trust_only: bool(p.trustOnly),
  }
}

export function policyFromRow(row: Row): PolicyRecord {
  return { id: str(row, 'id'), version: num(row, 'version'), policy: json(row, 'policy'), createdAt: num(row, 'created_at') }
}

export function policyParams(p: PolicyRecord): Params {
  return { id: p.id, version: p.version, policy: toJson(p.policy), created_at: p.createdAt }
}

export function caseFromRow(row: Row): CaseRecord {
  return {
    id: str(row, 'id'),
    fields: json(row, 'fields'),
    createdAt: num(row, 'created_at'),
    updatedAt: num(row, 'updated_at'),
    importedFrom: strOrNull(row, 'imported_from'),
  }
}

export function caseParams(c: CaseRecord): Params {
  return { id: c.id, fields: toJson(c.fields), created_at: c.createdAt, updated_at: c.updatedAt, imported_from: c.importedFrom ?? null }
}

export function folderFromRow(row: Row): FolderRecord {
  return { id: str(row, 'id'), caseId: str(row, 'case_id'), parentId: strOrNull(row, 'parent_id'), name: str(row, 'name') }
}

export function folderParams(f: FolderRecord): Params {
  return { id: f.id, case_id: f.caseId, parent_id: f.parentId ?? null, name: f.name }
}

export function evidenceFromRow(row: Row): EvidenceRecord {
  return {
    id: str(row, 'id'),
    caseId: str(row, 'case_id'),
    folderId: strOrNull(row, 'folder_id'),
    name: str(row, 'name'),
    category: str(row, 'category'),
    mediaType: str(row, 'media_type'),
    size: num(row, 'size'),
    digest: str(row, 'digest'),
    chunkSize: num(row, 'chunk_size') as EvidenceRecord['chunkSize'],
    chunks: json(row, 'chunks'),
    doNotDisclose: num(row, 'do_not_disclose') === 1,
    attachmentOf: strOrNull(row, 'attachment_of'),
    createdAt: num(row, 'created_at'),
  }
}

export function evidenceParams(e: EvidenceRecord): Params {
  return {
    id: e.id,
    case_id: e.caseId,
    folder_id: e.folderId ?? null,
    name: e.name,
    category: e.category,
    media_type: e.mediaType,
    size: e.size,
    digest: e.digest,
    chunk_size: e.chunkSize,
    chunks: toJson(e.chunks),
    do_not_disclose: bool(e.doNotDisclose),
    attachment_of: e.attachmentOf ?? null,
    created_at: e.createdAt,
  }
}

export function outboundShareFromRow(row: Row): OutboundShareRecord {
  return {
    id: str(row, 'id'),
    caseId: str(row, 'case_id'),
    partnerOrg: str(row, 'partner_org'),
    scope: str(row, 'scope') as OutboundShareRecord['scope'],
    folderIds: json(row, 'folder_ids'),
    evidenceIds: json(row, 'evidence_ids'),
    message: strOrNull(row, 'message'),
    recipients: json(row, 'recipients'),
    policy: json(row, 'policy'),
    status: str(row, 'status') as OutboundShareRecord['status'],
    statusCode: strOrNull(row, 'status_code'),
    statusDetail: strOrNull(row, 'status_detail'),
    revision: num(row, 'revision'),
    createdBy: str(row, 'created_by'),
    createdAt: num(row, 'created_at'),
    updatedAt: num(row, 'updated_at'),
    expiresAt: num(row, 'expires_at'),
  }
}

export function outboundShareStateFromRow(row: Row): OutboundShareState {
  return {
    id: str(row, 'id'),
    partnerOrg: str(row, 'partner_org'),
    status: str(row, 'status') as OutboundShareState['status'],
    expiresAt: num(row, 'expires_at'),
    revision: num(row, 'revision'),
  }
}

export function outboundShareParams(s: OutboundShareRecord): Params {
  return {
    id: s.id,
    case_id: s.caseId,
    partner_org: s.partnerOrg,
    scope: s.scope,
    folder_ids: toJson(s.folderIds),
    evidence_ids: toJson(s.evidenceIds),
    message: s.message ?? null,
    recipients: toJson(s.recipients),
    policy: toJson(s.policy),
    status: s.status,
    status_code: s.statusCode ?? null,
    status_detail: s.statusDetail ?? null,
    revision: s.revision,
    created_by: s.createdBy,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    expires_at: s.expiresAt,
  }
}

export function outboundRevisionFromRow(row: Row): OutboundRevisionRecord {
  return {
    shareId: str(row, 'share_id'),
    revision: num(row, 'revision'),
    manifestJws: str(row, 'manifest_jws'),
    manifestDigest: str(row, 'manifest_digest'),
    createdAt: num(row, 'created_at'),
    receiptJws: strOrNull(row, 'receipt_jws'),
  }
}

export function outboundRevisionParams(r: OutboundRevisionRecord): Params {
  return {
    share_id: r.shareId,
    revision: r.revision,
    manifest_jws: r.manifestJws,
    manifest_digest: r.manifestDigest,
    created_at: r.createdAt,
    receipt_jws: r.receiptJws ?? null,
  }
}

export function inboundShareFromRow(row: Row): InboundShareRecord {
  return {
    id: str(row, 'id'),
    senderOrg: str(row, 'sender_org'),
    senderName: str(row, 'sender_name'),
    shareId: str(row, 'share_id'),
    revision: num(row, 'revision'),
    manifestDigest: str(row, 'manifest_digest'),
    manifest: sharedOrParsed(str(row, 'manifest_digest'), row['manifest']),
    policy: json(row, 'policy'),
    status: str(row, 'status') as InboundShareRecord['status'],
    statusDetail: strOrNull(row, 'status_detail'),
    receivedAt: num(row, 'received_at'),
    completedAt: numOrNull(row, 'completed_at'),
    expiresAt: num(row, 'expires_at'),
    receiptJws: strOrNull(row, 'receipt_jws'),
  }
}

/** A manifest read with `READ_INBOUND_SHARE_COLUMNS`: its text, or null when it is shared. */
function sharedOrParsed(digest: string, text: unknown): InboundShareRecord['manifest'] {
  if (text === null) return sharedManifest(digest)
  if (typeof text !== 'string') throw new TypeError('column manifest is not text')
  return parsedManifest(digest, text)
}

export function inboundShareStateFromRow(row: Row): InboundShareState {
  return {
    id: str(row, 'id'),
    senderOrg: str(row, 'sender_org'),
    revision: num(row, 'revision'),
    manifestDigest: str(row, 'manifest_digest'),
    status: str(row, 'status') as InboundShareState['status'],
    expiresAt: num(row, 'expires_at'),
  }
}

/**
 * The page of a keyset list read with `LIMIT limit + 1` (see {@link pageParams}): the extra row,
 * if any, only says there is a next page. Rows carry their list position as `position`.
 */
export function pageOf<Item>(rows: readonly Row[], limit: number, itemOf: (row: Row) => Item): Page<Item> {
  const items = rows.slice(0, limit)
  return { items: items.map(itemOf), next: rows.length > limit ? num(items.at(-1)!, 'position') : null }
}

/** The `after` and `limit` parameters of a keyset list statement (one row more than the page). */
export function pageParams(page: PageRequest): { after: number | null; limit: number } {
  return { after: page.after ?? null, limit: page.limit + 1 }
}

/** The parameters of `CaseRepository.listVisible` (SQLite and PostgreSQL alike). */
export function caseViewerParams(viewer: CaseViewer, page: PageRequest): Params {
  return { user_id: viewer.userId, groups: toJson(viewer.groups), sees_all: bool(viewer.seesAll), ...pageParams(page) }
}

/** The parameters of `InboundShareRepository.listVisible` (SQLite and PostgreSQL alike). */
export function inboundShareViewerParams(viewer: InboundShareViewer, page: PageRequest): Params {
  return { org: viewer.org, ...caseViewerParams(viewer, page) }
}

export function visibleInboundShareFromRow(row: Row): VisibleInboundShare {
  return { share: inboundShareFromRow(row), recipient: num(row, 'recipient') === 1 }
}

export function inboundShareParams(s: InboundShareWithManifest): Params {
  return {
    ...inboundShareParamsKeepingManifest(s),
    // The payload is `manifest`'s text: kept once, not base64url-encoded a second time (73 MB for
    // 100,000 items, written while the offer waits for its answer).
    manifest_jws: detachPayload(s.manifestJws),
    manifest: manifestJson(s.manifestDigest, s.manifest),
    recipients: toJson(s.manifest.share.recipients ?? []),
  }
}

/** `share` as it must be to store another manifest: with that manifest's JWS. @throws {TypeError} without it */
export function withManifestJws(share: InboundShareRecord | InboundShareWithManifest): InboundShareWithManifest {
  if (!('manifestJws' in share) || typeof share.manifestJws !== 'string')
    throw new TypeError('inbound share: another manifest is stored only with its manifestJws')
  return share
}

/** The parameters of `updateInboundShareKeepingManifest`: all but the manifest and its JWS. */
export function inboundShareParamsKeepingManifest(s: InboundShareRecord): Params {
  return {
    id: s.id,
    sender_org: s.senderOrg,
    sender_name: s.senderName,
    share_id: s.shareId,
    revision: s.revision,
    manifest_digest: s.manifestDigest,
    policy: toJson(s.policy),
    status: s.status,
    status_detail: s.statusDetail ?? null,
    received_at: s.receivedAt,
    completed_at: s.completedAt ?? null,
    expires_at: s.expiresAt,
    receipt_jws: s.receiptJws ?? null,
  }
}

export function jobFromRow(row: Row): JobRecord {
  return {
    id: str(row, 'id'),
    kind: str(row, 'kind'),
    ref: str(row, 'ref'),
    payload: json(row, 'payload'),
    state: str(row, 'state') as JobRecord['state'],
    attempts: num(row, 'attempts'),
    runAt: num(row, 'run_at'),
    lastError: strOrNull(row, 'last_error'),
    createdAt: num(row, 'created_at'),
    updatedAt: num(row, 'updated_at'),
    claimedBy: strOrNull(row, 'claimed_by'),
    leaseUntil: numOrNull(row, 'lease_until'),
  }
}

export function jobParams(j: JobRecord): Params {
  return {
    id: j.id,
    kind: j.kind,
    ref: j.ref,
    payload: toJson(j.payload),
    state: j.state,
    attempts: j.attempts,
    run_at: j.runAt,
    last_error: j.lastError ?? null,
    created_at: j.createdAt,
    updated_at: j.updatedAt,
    claimed_by: j.claimedBy,
    lease_until: j.leaseUntil,
  }
}
