/**
 * The principals part of the SQLite store: users, groups and members, case owner and team,
 * one import per external case, and the migration that gives existing tokens their users.
 */
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import t from 'tap'
import { MIGRATIONS, migrate } from '../../../src/store/sqlite/migrations.ts'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import { userRecord } from '../metadata_contract/principals.ts'

const user = userRecord

t.test('the migration makes a user of every token holder, admin if any of its tokens is', async (t) => {
  const mine = MIGRATIONS.findIndex((sql) => sql.includes('CREATE TABLE users'))
  t.ok(mine > 0)
  const path = join(t.testdir(), 'caseway.db')
  const db = new DatabaseSync(path)
  migrate(db, MIGRATIONS.slice(0, mine))
  const insert = db.prepare('INSERT INTO tokens (id, hash, role, user_id, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)')
  insert.run('t1', 'h1', 'member', 'alice', 10)
  insert.run('t2', 'h2', 'admin', 'alice', 20)
  insert.run('t3', 'h3', 'member', 'bob', 30)
  db.close()
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  t.same(await store.principals.listUsers(), [user('alice', { role: 'admin', createdAt: 10, updatedAt: 20 }), user('bob', { createdAt: 30, updatedAt: 30 })])
})
