/**
 * A consistent copy of the metadata database while the node may be running (`caseway backup`),
 * and the checks a copy must pass before it is trusted (`caseway backup verify`, `restore`).
 *
 * `VACUUM INTO` runs in one read transaction of its own read-only connection: under WAL the
 * node keeps writing meanwhile and the copy holds exactly the commits made before it began,
 * as one database file (no -wal to carry along).
 *
 * @module
 */
import { DatabaseSync } from 'node:sqlite'
import { MIGRATIONS } from './migrations.ts'

/** How long the snapshot waits for a lock the node holds (a checkpoint), as the store does. */
const BUSY_TIMEOUT_MS = 5000

/** The schema version this Caseway writes: the number of its migrations. */
export const SCHEMA_VERSION = MIGRATIONS.length

function schemaVersionOf(db: DatabaseSync): number {
  const row = db.prepare('SELECT coalesce(max(version), 0) AS version FROM schema_migrations').get() as { version: number }
  return Number(row.version)
}

/**
 * Writes a consistent copy of the database at `source` to `target` (which must not exist) and
 * returns its schema version. The source must be at this Caseway's version.
 */
export function snapshotDatabase(source: string, target: string): number {
  const db = new DatabaseSync(source, { readOnly: true, timeout: BUSY_TIMEOUT_MS })
  try {
    const version = schemaVersionOf(db)
    if (version !== SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is not this Caseway's (${SCHEMA_VERSION}): start the node once to migrate it`)
    }
    db.prepare('VACUUM INTO ?').run(target)
    return version
  } finally {
    db.close()
  }
}

/** Why a database copy cannot be restored, or `undefined` when it opens, passes SQLite's own check and is at `expectedVersion`. */
export function checkSnapshot(path: string, expectedVersion: number): string | undefined {
  let db: DatabaseSync
  try {
    db = new DatabaseSync(path, { readOnly: true })
  } catch (err) {
    return `not a SQLite database (${(err as Error).message})`
  }
  try {
    const check = db.prepare('PRAGMA quick_check').all() as Array<{ quick_check: string }>
    if (check.length !== 1 || check[0]!.quick_check !== 'ok') return `SQLite quick_check failed: ${check[0]?.quick_check ?? 'no answer'}`
    const version = schemaVersionOf(db)
    if (version !== expectedVersion) return `schema version ${version}, the index says ${expectedVersion}`
    if (version > SCHEMA_VERSION) return `schema version ${version} is newer than this Caseway (${SCHEMA_VERSION})`
    return undefined
  } catch (err) {
    return `not a Caseway database (${(err as Error).message})`
  } finally {
    db.close()
  }
}
