import t, { type Test } from 'tap'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import { SQL } from '../../../src/store/sqlite/statements.ts'
import { REVISION_SQL } from '../../../src/store/sqlite/revisions.ts'
import { MIGRATIONS } from '../../../src/store/sqlite/migrations.ts'
import type { JobClaim, MetadataStore } from '../../../src/store/metadata_store.ts'
import { metadataStoreContract } from '../metadata_store_contract.ts'
import { OWNER, T0, caseRecord, fakeDigest, inboundShareRecord } from '../../support/records.ts'
import { parsedManifest, SHARED_FROM_CHARS } from '../../../src/shared_manifests.ts'
import type { InboundShareWithManifest } from '../../../src/store/metadata_store.ts'

/** A claim by `OWNER` that holds through every test's times. */
const claim = (kinds?: string[]): JobClaim => ({ owner: OWNER, leaseUntil: T0 + 1000, ...(kinds === undefined ? {} : { kinds }) })

async function openStore(t: Test): Promise<{ store: MetadataStore; path: string }> {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  return { store, path }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('the MetadataStore contract', async (t) => {
  metadataStoreContract(t, {
    async open(t) {
      const { store, path } = await openStore(t)
      return {
        store,
        async reopen() {
          const again = await openSqliteMetadataStore(path)
          t.teardown(() => again.close())
          return again
        },
      }
    },
  })
})

t.test('opens with WAL and foreign keys on', async (t) => {
  const { store, path } = await openStore(t)
  await store.cases.insert(caseRecord())
  const raw = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => raw.close())
  t.equal(raw.prepare('PRAGMA journal_mode').get()?.['journal_mode'], 'wal')
  await t.rejects(store.cases.insertFolder({ id: 'f', caseId: 'no-such-case', parentId: null, name: 'x' }), { code: 'CW_ERR_CONFLICT' })
})

t.test('servableChunks looks each digest of the batch up in the index', async (t) => {
  const { path } = await openStore(t)
  const raw = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => raw.close())
  const plan = raw
    .prepare('EXPLAIN QUERY PLAN ' + SQL.servableChunks)
    .all({ digests: JSON.stringify([fakeDigest('x'), fakeDigest('y')]), share: 'share-1', partner: 'river-pd', now: T0 })
    .map((row) => String(row['detail']))
  t.ok(
    plan.some((step) => /SEARCH c USING COVERING INDEX share_chunks_digest \(digest=\? AND share_id=\?\)/.test(step)),
    plan.join('; '),
  )
  t.notOk(
    plan.some((step) => step.startsWith('SCAN') && !step.includes('json_each')),
    'no table scan',
  )
})

t.test('isChunkServable is an indexed lookup', async (t) => {
  const { path } = await openStore(t)
  const raw = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => raw.close())
  const plan = raw
    .prepare('EXPLAIN QUERY PLAN ' + SQL.isChunkServable)
    .all({ digest: fakeDigest('x'), share: 'share-1', partner: 'river-pd', now: T0 })
    .map((row) => String(row['detail']))
  t.ok(
    plan.some((step) => /SEARCH c USING COVERING INDEX share_chunks_digest/.test(step)),
    plan.join('; '),
  )
  t.ok(
    plan.some((step) => /SEARCH s USING INDEX sqlite_autoindex_outbound_shares_1/.test(step)),
    plan.join('; '),
  )
  t.notOk(
    plan.some((step) => step.startsWith('SCAN')),
    'no table scan',
  )
})

t.test('listInboundRevisionStates reads the index, not the revisions', async (t) => {
  const { path } = await openStore(t)
  const raw = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => raw.close())
  const plan = raw
    .prepare('EXPLAIN QUERY PLAN ' + REVISION_SQL.listInboundRevisionStates)
    .all('ext-1')
    .map((row) => String(row['detail']))
  t.same(plan, ['SEARCH inbound_revisions USING COVERING INDEX inbound_revisions_state (inbound_id=?)'])
})

/** An inbound share `n` whose manifest is large enough to be shared (`shared_manifests.ts`). */
function largeInboundShare(n: number): InboundShareWithManifest {
  const base = inboundShareRecord()
  const manifest = { ...base.manifest, share: { ...base.manifest.share, id: `share-${n}`, message: `${n}`.repeat(SHARED_FROM_CHARS) } }
  return inboundShareRecord({ id: `ext-${n}`, shareId: `share-${n}`, manifest, manifestDigest: fakeDigest(`large-${n}`), receivedAt: T0 + n })
}

t.test('the text of a manifest the node holds parsed is not read again', async (t) => {
  const { store, path } = await openStore(t)
  const share = largeInboundShare(1)
  await store.inboundShares.insert(share)
  // Changed behind the store's back: only a read of the text would see it.
  const raw = new DatabaseSync(path)
  t.teardown(() => raw.close())
  const changed = { ...share.manifest, share: { ...share.manifest.share, message: 'changed' } }
  raw.prepare('UPDATE inbound_shares SET manifest = ? WHERE id = ?').run(JSON.stringify(changed), share.id)
  t.equal((await store.inboundShares.get(share.id))?.manifest, share.manifest, 'the value written, shared; its text unread')
  t.equal((await store.inboundShares.find('hill-pd', 'share-1'))?.manifest, share.manifest)

  // Two other manifests read since: it is no longer held, and its row's text is read.
  parsedManifest(fakeDigest('other-1'), JSON.stringify(largeInboundShare(2).manifest))
  parsedManifest(fakeDigest('other-2'), JSON.stringify(largeInboundShare(3).manifest))
  await Promise.resolve()
  t.equal((await store.inboundShares.get(share.id))?.manifest.share.message, 'changed')
})

t.test('a list whose rows share more manifests than are kept reads each row whole', async (t) => {
  const { store } = await openStore(t)
  const shares = [largeInboundShare(1), largeInboundShare(2), largeInboundShare(3)]
  for (const share of shares) await store.inboundShares.insert(share)
  // The last two written are held: the query leaves their text unread, and parsing the first
  // row's text makes a third — the least recently read must stay until the rows are read.
  const listed = await store.inboundShares.list()
  t.same(
    listed.map((share) => share.manifest.share.message?.slice(0, 1)),
    ['1', '2', '3'],
  )
  for (const [i, share] of listed.entries()) t.same(share.manifest, shares[i]!.manifest)
})

t.test('concurrent callers wait for a transaction in progress', async (t) => {
  const { store } = await openStore(t)
  const events: string[] = []
  const tx = store.transaction(async (tx) => {
    await tx.cases.insert(caseRecord({ id: 'a' }))
    events.push('tx: inserted a')
    await delay(30)
    await tx.cases.insert(caseRecord({ id: 'b' }))
    events.push('tx: inserted b')
  })
  const reader = store.cases.list().then((cases) => events.push(`reader saw ${cases.map((c) => c.id).join(',')}`))
  const writer = store.cases.insert(caseRecord({ id: 'c' })).then(() => events.push('writer inserted c'))
  await Promise.all([tx, reader, writer])
  t.same(events, ['tx: inserted a', 'tx: inserted b', 'reader saw a,b', 'writer inserted c'])

  const failing = store.transaction(async (tx) => {
    await tx.cases.insert(caseRecord({ id: 'd' }))
    await delay(30)
    throw new Error('abort')
  })
  const during = store.cases.get('d')
  await t.rejects(failing)
  t.equal(await during, undefined, 'a caller queued during the transaction never sees its rolled-back writes')
})

t.test('migrations are idempotent and the store refuses a newer database', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const first = await openSqliteMetadataStore(path)
  await first.cases.insert(caseRecord())
  await first.close()
  const second = await openSqliteMetadataStore(path)
  t.same(await second.cases.get('case-1'), caseRecord(), 'data kept')
  await second.close()

  const raw = new DatabaseSync(path)
  const versions = raw
    .prepare('SELECT version FROM schema_migrations ORDER BY version')
    .all()
    .map((r) => r['version'])
  t.same(
    versions,
    MIGRATIONS.map((_, index) => index + 1),
    'each migration recorded once',
  )
  raw.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)').run()
  raw.close()
  await t.rejects(openSqliteMetadataStore(path), { message: /newer/ })
})

t.test('a closed store refuses calls; bad arguments are TypeErrors', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  const pending = store.cases.insert(caseRecord())
  await store.close()
  await pending
  await t.rejects(store.cases.list(), { message: /closed/ })
  await store.close()

  await t.rejects(openSqliteMetadataStore(''), TypeError)
  const { store: open } = await openStore(t)
  await t.rejects(open.cases.insert(caseRecord({ createdAt: 1.5 })), TypeError, 'timestamps are integer seconds')
  await t.rejects(open.jobs.claimDue(T0, -1, claim()), TypeError)
  await t.rejects(open.jobs.claimDue(T0, 1, { owner: '', leaseUntil: T0 }), TypeError, 'a claim names its replica')
  await t.rejects(open.transaction(null as unknown as () => Promise<void>), TypeError)
  for (const manifestJws of ['header', 'header.payload', 'a.b.c.d']) {
    await t.rejects(open.inboundShares.insert(inboundShareRecord({ manifestJws })), TypeError, 'a signed manifest is a compact JWS')
  }
  t.same(await open.inboundShares.list(), [], 'and nothing is stored')
})

t.test('partner versions: the same list again writes nothing; a new list replaces it', async (t) => {
  const { store, path } = await openStore(t)
  await store.partners.setVersions('river-pd', ['0.1', '0.2'], T0)
  const raw = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => raw.close())
  // data_version moves when another connection commits a change to the database.
  const version = () => Number(raw.prepare('PRAGMA data_version').get()?.['data_version'])
  const before = version()
  for (let answer = 1; answer <= 3; answer++) await store.partners.setVersions('river-pd', ['0.1', '0.2'], T0 + answer)
  t.equal(version(), before, 'every answer carries the versions; an unchanged list is not written again')
  t.same(await store.partners.getVersions('river-pd'), ['0.1', '0.2'])
  t.equal(raw.prepare('SELECT learned_at FROM partner_versions WHERE org = ?').get('river-pd')?.['learned_at'], T0, 'learned when first seen')
  await store.partners.setVersions('river-pd', ['0.1'], T0 + 9)
  t.not(version(), before)
  t.same(await store.partners.getVersions('river-pd'), ['0.1'])
  t.equal(raw.prepare('SELECT learned_at FROM partner_versions WHERE org = ?').get('river-pd')?.['learned_at'], T0 + 9)
})
