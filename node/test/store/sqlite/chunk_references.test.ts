/**
 * The chunks the metadata store still needs (`store/sqlite/chunk_references.ts`): every source
 * while its record is in force and no longer after, the delivered-chunk records the collector
 * forgets, the shares that name an item's chunks — and that every column of the schema that
 * names chunks is a declared source or known not to be one.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { fakeEvidenceItem } from '../../../../testkit/fixtures/manifests.ts'
import { CHUNK_REFERENCE_SOURCES } from '../../../src/store/sqlite/chunk_references.ts'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import type { CaseManifest } from '#protocol'
import type { MetadataStore } from '../../../src/store/metadata_store.ts'
import { T0, caseRecord, evidenceRecord, fakeDigest, inboundShareRecord, outboundShareRecord, partnerRecord, policyRecord } from '../../support/records.ts'

async function openStore(t: Test): Promise<{ store: MetadataStore; path: string }> {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  await store.insertPolicy(policyRecord())
  await store.upsertPartner(partnerRecord())
  await store.insertCase(caseRecord())
  return { store, path }
}

const chunksOf = (manifest: Pick<CaseManifest, 'evidence'>): string[] => manifest.evidence.flatMap((item) => item.chunks)

/** Whether every one of `digests` is referenced at `now`. */
async function referenced(store: MetadataStore, digests: readonly string[], now = T0): Promise<boolean[]> {
  const set = await store.referencedChunks(now)
  return digests.map((digest) => set.has(digest))
}

t.test('evidence names its chunks until it is deleted', async (t) => {
  const { store } = await openStore(t)
  t.same(await store.referencedChunks(T0), new Set(), 'an empty store needs nothing')
  const evidence = evidenceRecord()
  await store.insertEvidence(evidence)
  t.same(await store.referencedChunks(T0), new Set(evidence.chunks))
  await store.deleteEvidence(evidence.id)
  t.same(await store.referencedChunks(T0), new Set())
})

t.test("a share we sent names its revisions' chunks while it is in force, even without its evidence", async (t) => {
  const { store } = await openStore(t)
  await store.insertOutboundShare(outboundShareRecord())
  const revision = { shareId: 'share-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m1'), createdAt: T0, receiptJws: null }
  await store.insertOutboundRevision(revision, [fakeDigest('served')])
  await store.startOutboundTransfer('share-1', 1, [{ digest: fakeDigest('asked'), size: 10 }])
  const both = [fakeDigest('served'), fakeDigest('asked')]
  t.same(await referenced(store, both), [true, true], 'processing')
  await store.updateOutboundStatus('share-1', 'delivered', null, null, T0)
  t.same(await referenced(store, both), [true, true], 'delivered')
  t.same(await referenced(store, both, T0 + 86_400), [false, false], 'past its expiry')
  await store.updateOutboundStatus('share-1', 'revoked', null, null, T0)
  t.same(await referenced(store, both), [false, false], 'revoked')
})

t.test('an external case names its chunks while it is receiving or complete and not expired', async (t) => {
  const { store } = await openStore(t)
  const share = inboundShareRecord()
  const original = chunksOf(share.manifest)
  await store.insertInboundShare(share)
  t.ok((await referenced(store, original)).every(Boolean), 'receiving')
  await store.updateInboundShare({ ...share, status: 'complete' })
  t.ok((await referenced(store, original)).every(Boolean), 'complete')
  t.notOk((await referenced(store, original, share.expiresAt)).some(Boolean), 'expired')

  // A pending revision names its own chunks, the applied state what our users see.
  const pending = { ...share.manifest, evidence: [fakeEvidenceItem('ev-added')] }
  const revision = {
    inboundId: share.id,
    revision: 2,
    manifestJws: 'eyJ.revision-2.sig',
    manifestDigest: fakeDigest('revision-2'),
    manifest: pending,
    policy: share.policy,
    status: 'pending' as const,
    transfer: 'receiving' as const,
    receiptJws: null,
    receiptSent: false,
    receivedAt: T0,
    verifiedAt: null,
  }
  await store.insertInboundRevision(revision)
  t.same(await referenced(store, chunksOf(pending)), [true, true])
  await store.updateInboundRevision({ ...revision, transfer: 'rejected', receiptJws: 'r.e.c' })
  t.same(await referenced(store, chunksOf(pending)), [false, false], 'a rejected revision names nothing')
  const applied = [fakeEvidenceItem('ev-applied')]
  await store.setAppliedState({ inboundId: share.id, revision: 2, case: share.manifest.case, evidence: applied, updatedAt: T0 })
  t.same(await referenced(store, chunksOf({ evidence: applied })), [true, true], 'the applied state')

  await store.updateInboundShare({ ...share, status: 'revoked' })
  t.notOk((await referenced(store, [...original, ...chunksOf({ evidence: applied })])).some(Boolean), 'revoked: nothing')
})

t.test('forgetDeliveredChunk: no partner counts as having delivered a deleted chunk', async (t) => {
  const { store } = await openStore(t)
  const [gone, kept] = [fakeDigest('gone'), fakeDigest('kept')]
  for (const org of ['river-pd', 'lake-pd']) for (const digest of [gone, kept]) await store.recordPartnerChunk(org, digest, T0)
  await store.forgetDeliveredChunk(gone)
  t.same(await store.deliveredChunks('river-pd', [gone, kept]), new Set([kept]))
  t.same(await store.deliveredChunks('lake-pd', [gone, kept]), new Set([kept]))
})

t.test('sharesNamingChunks: the shares of the case in force that name any of the chunks', async (t) => {
  const { store } = await openStore(t)
  await store.insertCase(caseRecord({ id: 'case-2' }))
  await store.insertOutboundShare(outboundShareRecord())
  await store.insertOutboundShare(outboundShareRecord({ id: 'share-2', caseId: 'case-2' }))
  const revision = (shareId: string) => ({ shareId, revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest(shareId), createdAt: T0, receiptJws: null })
  await store.insertOutboundRevision(revision('share-1'), [fakeDigest('a'), fakeDigest('b')])
  await store.insertOutboundRevision(revision('share-2'), [fakeDigest('c')])
  t.same(await store.sharesNamingChunks('case-1', [fakeDigest('x'), fakeDigest('b')], T0), ['share-1'])
  t.same(await store.sharesNamingChunks('case-1', [fakeDigest('c')], T0), [], "another case's share does not count")
  t.same(await store.sharesNamingChunks('case-1', [], T0), [])
  t.same(await store.sharesNamingChunks('case-1', [fakeDigest('a')], T0 + 86_400), [], 'expired')
  await store.updateOutboundStatus('share-1', 'revoked', null, null, T0)
  t.same(await store.sharesNamingChunks('case-1', [fakeDigest('a')], T0), [], 'revoked')
})

t.test('every column that may name chunks is a reference source or known not to be one', async (t) => {
  const { path } = await openStore(t)
  // Why each of these names no chunk the blob store must keep.
  const notReferences: Record<string, string> = {
    'evidence.digest': "the whole file's digest, not a chunk",
    'outbound_revisions.manifest_jws': 'its chunks are share_chunks',
    'outbound_revisions.manifest_digest': 'a signed object',
    'inbound_shares.manifest_jws': 'the same manifest, signed',
    'inbound_shares.manifest_digest': 'a signed object',
    'inbound_revisions.manifest_jws': 'the same manifest, signed',
    'inbound_revisions.manifest_digest': 'a signed object',
    'jtis.digest': 'a signed object',
    'audit_entries.digest': "the entry's hash",
    'partner_chunks.digest': 'proof of possession, forgotten when the blob goes',
    'partners.ca_fingerprint': 'a certificate',
    'evidence.chunk_size': 'a size',
    'outbound_transfers.chunks_total': 'a count',
    'outbound_transfers.chunks_done': 'a count',
    'link_shares.package_digest': "the package manifest's digest (its ETag); its files are link_share_members",
    'inbound_packages.offer_digest': 'a signed object',
    'inbound_packages.manifest_digest': "the package manifest's digest (its ETag); its chunks are inbound_packages.chunks",
    'inbound_packages.chunk_size': 'a size',
  }
  const db = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => db.close())
  const declared = new Set(CHUNK_REFERENCE_SOURCES.map((source) => source.from))
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all()
  const unexplained: string[] = []
  for (const { name } of tables) {
    for (const { name: column } of db.prepare(`PRAGMA table_info(${String(name)})`).all()) {
      const key = `${String(name)}.${String(column)}`
      if (/digest|chunk|manifest|snapshot|fingerprint/.test(String(column)) && !declared.has(key) && notReferences[key] === undefined) unexplained.push(key)
    }
  }
  t.same(unexplained, [], 'a new column naming chunks is added to CHUNK_REFERENCE_SOURCES (or here, with why not)')
})
