/**
 * SQL and row mapping for revisions and updates in the SQLite metadata store: the later
 * revisions of inbound shares (`inbound_revisions`), the applied state of external cases
 * (`applied_states`), and the few statements live shares need on the sender. Kept apart from
 * `statements.ts` and `rows.ts` so this part of the schema reads in one place.
 *
 * @module
 */
import type {
  AppliedStateRecord,
  AppliedStateVersion,
  InboundRevisionRecord,
  InboundRevisionStatus,
  InboundRevisionTransfer,
  InboundRevisionState,
} from '../metadata_store.ts'
import { toJson, type Params, type Row } from './rows.ts'
import { manifestJson, parsedManifest } from '../../shared_manifests.ts'

const REVISION_COLUMNS = [
  'inbound_id',
  'revision',
  'manifest_jws',
  'manifest_digest',
  'manifest',
  'policy',
  'status',
  'transfer',
  'receipt_jws',
  'receipt_sent',
  'received_at',
  'verified_at',
]
const APPLIED_COLUMNS = ['inbound_id', 'revision', 'snapshot', 'updated_at']
const STATUSES: readonly InboundRevisionStatus[] = ['pending', 'applied', 'superseded']
const TRANSFERS: readonly InboundRevisionTransfer[] = ['receiving', 'verified', 'rejected']

const insert = (table: string, columns: readonly string[]): string =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => ':' + c).join(', ')})`

export const REVISION_SQL = {
  advanceOutboundShare:
    "UPDATE outbound_shares SET revision = :revision, recipients = :recipients, evidence_ids = :evidence_ids, status = 'processing'," +
    ' status_code = NULL, status_detail = NULL, updated_at = :at WHERE id = :id',
  deleteEvidence: 'DELETE FROM evidence WHERE id = ?',
  insertInboundRevision: insert('inbound_revisions', REVISION_COLUMNS),
  updateInboundRevision:
    'UPDATE inbound_revisions SET ' +
    REVISION_COLUMNS.filter((c) => c !== 'inbound_id' && c !== 'revision')
      .map((c) => `${c} = :${c}`)
      .join(', ') +
    ' WHERE inbound_id = :inbound_id AND revision = :revision',
  getInboundRevision: 'SELECT * FROM inbound_revisions WHERE inbound_id = ? AND revision = ?',
  listInboundRevisions: 'SELECT * FROM inbound_revisions WHERE inbound_id = ? ORDER BY revision',
  /** Answered from the index inbound_revisions_state alone. */
  listInboundRevisionStates: 'SELECT revision, manifest_digest, status, transfer, received_at FROM inbound_revisions WHERE inbound_id = ? ORDER BY revision',
  getAppliedState: 'SELECT * FROM applied_states WHERE inbound_id = ?',
  getAppliedStateVersion: 'SELECT revision, version FROM applied_states WHERE inbound_id = ?',
  setAppliedState:
    insert('applied_states', APPLIED_COLUMNS) +
    ' ON CONFLICT (inbound_id) DO UPDATE SET revision = excluded.revision, snapshot = excluded.snapshot, updated_at = excluded.updated_at,' +
    ' version = applied_states.version + 1',
} as const

export function inboundRevisionFromRow(row: Row): InboundRevisionRecord {
  return {
    inboundId: row['inbound_id'] as string,
    revision: row['revision'] as number,
    manifestJws: row['manifest_jws'] as string,
    manifestDigest: row['manifest_digest'] as string,
    manifest: parsedManifest(row['manifest_digest'] as string, row['manifest'] as string),
    policy: JSON.parse(row['policy'] as string),
    status: row['status'] as InboundRevisionStatus,
    transfer: row['transfer'] as InboundRevisionTransfer,
    receiptJws: (row['receipt_jws'] ?? null) as string | null,
    receiptSent: row['receipt_sent'] === 1,
    receivedAt: row['received_at'] as number,
    verifiedAt: (row['verified_at'] ?? null) as number | null,
  }
}

export function inboundRevisionStateFromRow(row: Row): InboundRevisionState {
  return {
    revision: row['revision'] as number,
    manifestDigest: row['manifest_digest'] as string,
    status: row['status'] as InboundRevisionStatus,
    transfer: row['transfer'] as InboundRevisionTransfer,
    receivedAt: row['received_at'] as number,
  }
}

/** @throws {TypeError} for a malformed record (nothing is stored). */
export function inboundRevisionParams(r: InboundRevisionRecord): Params {
  if (typeof r.inboundId !== 'string' || r.inboundId.length === 0) throw new TypeError('inbound revision inboundId must be a non-empty string')
  if (!Number.isSafeInteger(r.revision) || r.revision < 2) throw new TypeError('inbound revision revision must be an integer ≥ 2')
  if (!STATUSES.includes(r.status)) throw new TypeError('inbound revision status must be pending, applied or superseded')
  if (!TRANSFERS.includes(r.transfer)) throw new TypeError('inbound revision transfer must be receiving, verified or rejected')
  if (!Number.isSafeInteger(r.receivedAt)) throw new TypeError('inbound revision receivedAt must be an integer (Unix seconds)')
  return {
    inbound_id: r.inboundId,
    revision: r.revision,
    manifest_jws: r.manifestJws,
    manifest_digest: r.manifestDigest,
    manifest: manifestJson(r.manifestDigest, r.manifest),
    policy: toJson(r.policy),
    status: r.status,
    transfer: r.transfer,
    receipt_jws: r.receiptJws,
    receipt_sent: r.receiptSent ? 1 : 0,
    received_at: r.receivedAt,
    verified_at: r.verifiedAt,
  }
}

export function appliedStateFromRow(row: Row): AppliedStateRecord {
  const snapshot = JSON.parse(row['snapshot'] as string) as Pick<AppliedStateRecord, 'case' | 'evidence'>
  return {
    inboundId: row['inbound_id'] as string,
    revision: row['revision'] as number,
    case: snapshot.case,
    evidence: snapshot.evidence,
    updatedAt: row['updated_at'] as number,
  }
}

export function appliedStateVersionFromRow(row: Row): AppliedStateVersion {
  return { revision: row['revision'] as number, version: row['version'] as number }
}

export function appliedStateParams(s: AppliedStateRecord): Params {
  if (typeof s.inboundId !== 'string' || s.inboundId.length === 0) throw new TypeError('applied state inboundId must be a non-empty string')
  if (!Number.isSafeInteger(s.revision) || s.revision < 1) throw new TypeError('applied state revision must be an integer ≥ 1')
  return { inbound_id: s.inboundId, revision: s.revision, snapshot: toJson({ case: s.case, evidence: s.evidence }), updated_at: s.updatedAt }
}
