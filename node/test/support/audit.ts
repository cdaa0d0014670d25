/**
 * The audit trail in tests: read it from a test context (which keeps it as `createNode` does),
 * and tamper with the stored chain the way someone with the database file could.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import { canonicalJson } from '#protocol'
import type { NodeContext } from '../../src/context.ts'
import type { AuditEntryRecord } from '../../src/store/metadata_store.ts'

/**
 * `ctx` itself: a test context keeps the audit trail as a node does (the outbox's audit
 * consumer, wired by `buildContext`). Kept so tests say that they read the trail.
 */
export function withAuditTrail(ctx: NodeContext): NodeContext {
  return ctx
}

/** The digest of an entry, computed here from the definition (SPEC.md CW-AUD-002), not by the node's code. */
export function expectedDigest(entry: Omit<AuditEntryRecord, 'digest'>): string {
  const { caseId, seq, at, type, actor, data, prev } = entry
  return 'sha256:' + createHash('sha256').update(canonicalJson({ caseId, seq, at, type, actor, data, prev }), 'utf8').digest('hex')
}

/**
 * Runs `sql` on the node database in `dir` (`caseway.db`) from a connection of its own, with
 * the append-only triggers dropped first: what an attacker with the file can do.
 */
export function tamper(dir: string, sql: string, ...params: SQLInputValue[]): void {
  const db = new DatabaseSync(join(dir, 'caseway.db'), { timeout: 5000 })
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_entries_no_update')
    db.exec('DROP TRIGGER IF EXISTS audit_entries_no_delete')
    db.prepare(sql).run(...params)
  } finally {
    db.close()
  }
}
