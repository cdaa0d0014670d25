import t, { type Test } from 'tap'
import { DatabaseSync } from 'node:sqlite'
import { MIGRATIONS, migrate } from '../../../src/store/sqlite/migrations.ts'

const tables = (db: DatabaseSync) =>
  db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    .all()
    .map((row) => row['name'])

t.test('applies every migration once, then nothing', async (t) => {
  const db = new DatabaseSync(':memory:')
  t.teardown(() => db.close())
  t.equal(migrate(db), MIGRATIONS.length)
  t.equal(migrate(db), 0)
  t.same(
    db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((row) => row['version']),
    MIGRATIONS.map((_, index) => index + 1),
  )
  for (const table of [
    'tokens',
    'partners',
    'policies',
    'cases',
    'folders',
    'evidence',
    'outbound_shares',
    'outbound_revisions',
    'share_chunks',
    'inbound_shares',
    'jtis',
    'jobs',
  ]) {
    t.ok(tables(db).includes(table), table)
  }
})

t.test('a failing migration leaves the database at the previous version', async (t) => {
  const db = new DatabaseSync(':memory:')
  t.teardown(() => db.close())
  const steps = ['CREATE TABLE a (x INTEGER) STRICT', 'CREATE TABLE b (x INTEGER) STRICT; INSERT INTO nowhere VALUES (1)']
  t.throws(() => migrate(db, steps), { code: 'ERR_SQLITE_ERROR' })
  t.same(
    db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((row) => row['version']),
    [1],
  )
  t.same(tables(db), ['a', 'schema_migrations'], 'table b was rolled back with its migration')
  t.equal(db.isTransaction, false)
  t.equal(migrate(db, steps.slice(0, 1)), 0)
  t.equal(migrate(db, [...steps.slice(0, 1), 'CREATE TABLE b (x INTEGER) STRICT']), 1, 'a fixed migration applies later')
})

t.test('refuses a database from a newer version', async (t) => {
  const db = new DatabaseSync(':memory:')
  t.teardown(() => db.close())
  migrate(db, ['CREATE TABLE a (x INTEGER)', 'CREATE TABLE b (x INTEGER)'])
  t.throws(() => migrate(db, ['CREATE TABLE a (x INTEGER)']), { message: /newer/ })
})

// spec: CW-LOC-010
t.test('tokens made before the token-lifecycle migration expire 90 days after the upgrade, unnamed and unused', async (t) => {
  const mine = MIGRATIONS.findIndex((sql) => sql.includes('ADD COLUMN expires_at'))
  t.ok(mine > 0)
  const db = new DatabaseSync(':memory:')
  migrate(db, MIGRATIONS.slice(0, mine))
  const createdAt = Math.floor(Date.now() / 1000) - 1000 * 86_400
  db.prepare("INSERT INTO tokens (id, hash, role, user_id, created_at, revoked_at) VALUES ('old', 'h', 'admin', 'admin', ?, NULL)").run(createdAt)
  const before = Math.floor(Date.now() / 1000)
  migrate(db)
  const after = Math.floor(Date.now() / 1000)
  const row = db.prepare("SELECT name, expires_at, last_used_at FROM tokens WHERE id = 'old'").get()!
  t.equal(row['name'], '')
  t.equal(row['last_used_at'], null)
  const expiresAt = Number(row['expires_at'])
  t.ok(expiresAt >= before + 90 * 86_400 && expiresAt <= after + 90 * 86_400, 'from the upgrade on, not from its creation (which would be long past)')
})

/**
 * A database migrated up to the migration whose SQL contains `marker`, not that one, and a
 * writer of inbound shares as rows were then (each its own share and digest).
 */
function beforeMigration(t: Test, marker: string) {
  const mine = MIGRATIONS.findIndex((sql) => sql.includes(marker))
  t.ok(mine > 0, `a migration contains ${marker}`)
  const db = new DatabaseSync(':memory:')
  t.teardown(() => db.close())
  migrate(db, MIGRATIONS.slice(0, mine))
  const statement = db.prepare(
    `INSERT INTO inbound_shares (id, sender_org, sender_name, share_id, revision, manifest_jws, manifest_digest, manifest, policy, status, received_at, expires_at)
     VALUES (?, 'hill-pd', 'Hill', ?, 1, ?, ?, ?, '{}', 'receiving', 0, 1)`,
  )
  const insert = (id: string, row: { jws?: string; manifest?: string }) =>
    statement.run(id, `share-${id}`, row.jws ?? 'e.m.s', `sha256:${id}`, row.manifest ?? '{}')
  return { db, insert }
}

// spec: CW-LOC-001
t.test('external cases received before the recipients column keep exactly the recipients their manifests name', async (t) => {
  const { db, insert } = beforeMigration(t, 'ADD COLUMN recipients')
  const named = [
    { kind: 'user', id: 'jones' },
    { kind: 'group', id: 'detectives' },
  ]
  insert('named', { manifest: JSON.stringify({ share: { id: 'share-1', recipients: named } }) })
  insert('none', { manifest: JSON.stringify({ share: { id: 'share-2' } }) })
  insert('empty', { manifest: JSON.stringify({ share: { id: 'share-3', recipients: [] } }) })
  migrate(db)
  const recipients = Object.fromEntries(
    db
      .prepare('SELECT id, recipients FROM inbound_shares')
      .all()
      .map((row) => [row['id'], JSON.parse(String(row['recipients']))]),
  )
  t.same(recipients, { named, none: [], empty: [] }, 'copied from each manifest; none named is the agency default, as before')
})

t.test('external cases received before keep their signed manifests with the payload detached: the manifest text is the payload', async (t) => {
  const { db, insert } = beforeMigration(t, "instr(manifest_jws, '..')")
  insert('signed', { jws: 'eyJhbGciOiJFUzI1NiJ9.eyJzaGFyZSI6e319.c2lnbmF0dXJl' })
  insert('detached', { jws: 'eyJhbGciOiJFUzI1NiJ9..c2ln' })
  migrate(db)
  const stored = Object.fromEntries(
    db
      .prepare('SELECT id, manifest_jws FROM inbound_shares')
      .all()
      .map((row) => [row['id'], row['manifest_jws']]),
  )
  t.same(
    stored,
    { signed: 'eyJhbGciOiJFUzI1NiJ9..c2lnbmF0dXJl', detached: 'eyJhbGciOiJFUzI1NiJ9..c2ln' },
    'header and signature kept; one already detached unchanged',
  )
})
