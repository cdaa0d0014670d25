/**
 * The snapshot `caseway backup` takes: consistent while another connection writes (it holds
 * exactly the committed rows, in one file), and the checks a copy must pass before restore.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import t from 'tap'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import { checkSnapshot, SCHEMA_VERSION, snapshotDatabase } from '../../../src/store/sqlite/snapshot.ts'

const insertToken = (db: DatabaseSync, id: string) =>
  db.prepare("INSERT INTO tokens (id, hash, role, user_id, created_at) VALUES (?, ?, 'admin', 'alice', 0)").run(id, `hash-${id}`)

t.test('a snapshot holds the committed rows, not those of a transaction still open, and passes its checks', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  const writer = new DatabaseSync(path, { timeout: 5000 })
  t.teardown(() => writer.close())
  insertToken(writer, 'committed')
  writer.exec('BEGIN IMMEDIATE')
  insertToken(writer, 'uncommitted')

  const copy = join(dir, 'snapshot.db')
  t.equal(snapshotDatabase(path, copy), SCHEMA_VERSION)
  writer.exec('COMMIT')

  const snapshot = new DatabaseSync(copy, { readOnly: true })
  t.teardown(() => snapshot.close())
  t.same(
    snapshot
      .prepare('SELECT id FROM tokens ORDER BY id')
      .all()
      .map((row) => row['id']),
    ['committed'],
  )
  t.equal(checkSnapshot(copy, SCHEMA_VERSION), undefined)
})

t.test('a copy that is not a database, or not of the version its index gives, is refused', async (t) => {
  const dir = t.testdir()
  const notDatabase = join(dir, 'garbage.db')
  await writeFile(notDatabase, Buffer.alloc(8192, 7))
  t.match(checkSnapshot(notDatabase, SCHEMA_VERSION), /not a (SQLite|Caseway) database/)

  const path = join(dir, 'caseway.db')
  await (await openSqliteMetadataStore(path)).close()
  t.match(checkSnapshot(path, SCHEMA_VERSION - 1), /schema version \d+, the index says/)

  const newer = new DatabaseSync(path)
  newer.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(SCHEMA_VERSION + 1)
  newer.close()
  t.match(checkSnapshot(path, SCHEMA_VERSION + 1), /newer than this Caseway/)
  t.throws(() => snapshotDatabase(path, join(dir, 'copy.db')), /not this Caseway's/, 'a database of another version is not backed up')
})
