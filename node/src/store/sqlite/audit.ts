/**
 * SQL and row mapping for the audit trail in the SQLite metadata store (one hash chain per
 * case, `audit_entries`). Kept apart from `statements.ts` and `rows.ts` so this part of the
 * schema reads in one place. The store checks that an entry is the next of its chain; it
 * computes no digest (audit/audit_trail.ts does).
 *
 * @module
 */
import type { AuditEntryRecord } from '../metadata_store.ts'
import { toJson, type Params, type Row } from './rows.ts'

const AUDIT_COLUMNS = ['case_id', 'seq', 'at', 'type', 'actor', 'data', 'prev', 'digest']

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/

export const AUDIT_SQL = {
  insertAudit: `INSERT INTO audit_entries (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map((c) => ':' + c).join(', ')})`,
  lastAudit: 'SELECT * FROM audit_entries WHERE case_id = ? ORDER BY seq DESC LIMIT 1',
  /** `:limit` -1 = no limit. */
  listAudit: 'SELECT * FROM audit_entries WHERE case_id = :case_id AND seq > :after ORDER BY seq LIMIT :limit',
  listAuditCaseIds: 'SELECT DISTINCT case_id FROM audit_entries ORDER BY case_id',
} as const

/**
 * A JSON object column. A value that is not a JSON object (only a hand edit of the database
 * makes one) comes back as `{ $unreadable: <text> }`, so a verifier reports a digest mismatch
 * for that entry instead of failing to read the chain.
 */
function jsonObject(row: Row, column: string): Record<string, unknown> {
  const text = row[column]
  if (typeof text === 'string') {
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
    } catch {
      // fall through
    }
  }
  return { $unreadable: String(text) }
}

export function auditFromRow(row: Row): AuditEntryRecord {
  return {
    caseId: row['case_id'] as string,
    seq: row['seq'] as number,
    at: row['at'] as number,
    type: row['type'] as string,
    actor: jsonObject(row, 'actor'),
    data: jsonObject(row, 'data'),
    prev: (row['prev'] ?? null) as string | null,
    digest: row['digest'] as string,
  }
}

/** @throws {TypeError} for a malformed entry (nothing is stored). */
export function auditParams(e: AuditEntryRecord): Params {
  if (typeof e.caseId !== 'string' || e.caseId.length === 0) throw new TypeError('audit entry caseId must be a non-empty string')
  if (!Number.isSafeInteger(e.seq) || e.seq < 1) throw new TypeError('audit entry seq must be an integer ≥ 1')
  if (!Number.isSafeInteger(e.at)) throw new TypeError('audit entry at must be an integer (Unix seconds)')
  if (typeof e.type !== 'string' || e.type.length === 0) throw new TypeError('audit entry type must be a non-empty string')
  if (typeof e.digest !== 'string' || !DIGEST_PATTERN.test(e.digest)) throw new TypeError('audit entry digest must be sha256:<64 hex>')
  if (e.prev !== null && (typeof e.prev !== 'string' || !DIGEST_PATTERN.test(e.prev))) {
    throw new TypeError('audit entry prev must be null or sha256:<64 hex>')
  }
  if (typeof e.actor !== 'object' || e.actor === null || typeof e.data !== 'object' || e.data === null) {
    throw new TypeError('audit entry actor and data must be objects')
  }
  return {
    case_id: e.caseId,
    seq: e.seq,
    at: e.at,
    type: e.type,
    actor: toJson(e.actor),
    data: toJson(e.data),
    prev: e.prev,
    digest: e.digest,
  }
}

/** `AuditLog.list` options as statement parameters. @throws {TypeError} */
export function auditListParams(caseId: string, options: { afterSeq?: number; limit?: number } = {}): Params {
  const after = options.afterSeq ?? 0
  const limit = options.limit ?? -1
  if (!Number.isSafeInteger(after) || after < 0) throw new TypeError('afterSeq must be a non-negative integer')
  if (!Number.isSafeInteger(limit) || limit < -1 || (options.limit !== undefined && limit < 0)) throw new TypeError('limit must be a non-negative integer')
  return { case_id: caseId, after, limit }
}
