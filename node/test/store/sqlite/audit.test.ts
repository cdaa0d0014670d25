/**
 * The audit table of the SQLite store: an entry is stored only as the next one of its chain,
 * atomically; entries come back in seq order, page by page; the node's own code cannot change
 * or remove one; a second process can read it read-only.
 */
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import t, { type Test } from 'tap'
import type { MetadataStore } from '../../../src/store/metadata_store.ts'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import { auditEntry } from '../metadata_contract/audit.ts'

const entry = auditEntry

async function openStore(t: Test): Promise<{ store: MetadataStore; path: string }> {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  return { store, path }
}

// spec: CW-AUD-001
t.test('the node cannot change or remove an entry, even with SQL', async (t) => {
  const { store, path } = await openStore(t)
  await store.audit.append(entry('c1', 1))
  const db = new DatabaseSync(path)
  t.teardown(() => db.close())
  t.throws(() => db.exec("UPDATE audit_entries SET type = 'x'"), /append-only/)
  t.throws(() => db.exec('DELETE FROM audit_entries'), /append-only/)
  t.same(await store.audit.list('c1'), [entry('c1', 1)])
})

t.test('a column that is no JSON object any more comes back marked unreadable', async (t) => {
  const { store, path } = await openStore(t)
  await store.audit.append(entry('c1', 1))
  const db = new DatabaseSync(path)
  t.teardown(() => db.close())
  db.exec('DROP TRIGGER audit_entries_no_update')
  db.exec(`UPDATE audit_entries SET data = '{"fields":', actor = '[1]'`)
  const [read] = await store.audit.list('c1')
  t.same(read!.data, { $unreadable: '{"fields":' })
  t.same(read!.actor, { $unreadable: '[1]' })
})

// spec: CW-AUD-004
t.test('a second, read-only connection reads the trail while the node writes', async (t) => {
  const { store, path } = await openStore(t)
  await store.audit.append(entry('c1', 1))
  const reader = await openSqliteMetadataStore(path, { readOnly: true })
  t.teardown(() => reader.close())
  t.same(await reader.audit.list('c1'), [entry('c1', 1)])
  await store.audit.append(entry('c1', 2))
  t.same(
    (await reader.audit.list('c1')).map((e) => e.seq),
    [1, 2],
    'sees later commits',
  )
  await t.rejects(reader.audit.append(entry('c1', 3)), /readonly/, 'and writes nothing')
  t.same(
    (await store.audit.list('c1')).map((e) => e.seq),
    [1, 2],
  )
})

t.test('read-only open refuses a database that is not migrated to this version', async (t) => {
  const path = join(t.testdir(), 'old.db')
  const db = new DatabaseSync(path)
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT')
  db.exec('INSERT INTO schema_migrations VALUES (1, 0)')
  db.close()
  await t.rejects(openSqliteMetadataStore(path, { readOnly: true }), /schema version 1/)
})
