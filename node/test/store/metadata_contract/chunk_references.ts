/**
 * The chunks the metadata store still needs (`store/sqlite/chunk_references.ts`): every source
 * while its record is in force and no longer after, the delivered-chunk records the collector
 * forgets, the shares that name an item's chunks — and that every column of the schema that
 * names chunks is a declared source or known not to be one.
 *
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */

import type { Test } from 'tap'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import { fakeEvidenceItem } from '../../../../testkit/fixtures/manifests.ts'
import type { CaseManifest } from '#protocol'
import type { MetadataStore } from '../../../src/store/metadata_store.ts'
import { T0, caseRecord, evidenceRecord, fakeDigest, inboundShareRecord, outboundShareRecord, partnerRecord, policyRecord } from '../../support/records.ts'

export function chunkReferencesContract(t: Test, harness: MetadataStoreHarness): void {
  async function openStore(t: Test): Promise<{ store: MetadataStore }> {
    const { store } = await harness.open(t)
    await store.policies.insert(policyRecord())
    await store.partners.upsert(partnerRecord())
    await store.cases.insert(caseRecord())
    return { store }
  }

  const chunksOf = (manifest: Pick<CaseManifest, 'evidence'>): string[] => manifest.evidence.flatMap((item) => item.chunks)

  /** Whether every one of `digests` is referenced at `now`. */
  async function referenced(store: MetadataStore, digests: readonly string[], now = T0): Promise<boolean[]> {
    const set = await store.chunks.referenced(now)
    return digests.map((digest) => set.has(digest))
  }

  t.test('evidence names its chunks until it is deleted', async (t) => {
    const { store } = await openStore(t)
    t.same(await store.chunks.referenced(T0), new Set(), 'an empty store needs nothing')
    const evidence = evidenceRecord()
    await store.cases.insertEvidence(evidence)
    t.same(await store.chunks.referenced(T0), new Set(evidence.chunks))
    await store.cases.deleteEvidence(evidence.id)
    t.same(await store.chunks.referenced(T0), new Set())
  })

  t.test("a share we sent names its revisions' chunks while it is in force, even without its evidence", async (t) => {
    const { store } = await openStore(t)
    await store.outboundShares.insert(outboundShareRecord())
    const revision = { shareId: 'share-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m1'), createdAt: T0, receiptJws: null }
    await store.outboundShares.insertRevision(revision, [fakeDigest('served')])
    await store.outboundShares.startTransfer('share-1', 1, [{ digest: fakeDigest('asked'), size: 10 }])
    const both = [fakeDigest('served'), fakeDigest('asked')]
    t.same(await referenced(store, both), [true, true], 'processing')
    await store.outboundShares.updateStatus('share-1', 'delivered', null, null, T0)
    t.same(await referenced(store, both), [true, true], 'delivered')
    t.same(await referenced(store, both, T0 + 86_400), [false, false], 'past its expiry')
    await store.outboundShares.updateStatus('share-1', 'revoked', null, null, T0)
    t.same(await referenced(store, both), [false, false], 'revoked')
  })

  t.test('an external case names its chunks while it is receiving or complete and not expired', async (t) => {
    const { store } = await openStore(t)
    const share = inboundShareRecord()
    const original = chunksOf(share.manifest)
    await store.inboundShares.insert(share)
    t.ok((await referenced(store, original)).every(Boolean), 'receiving')
    await store.inboundShares.update({ ...share, status: 'complete' })
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
    await store.inboundShares.insertRevision(revision)
    t.same(await referenced(store, chunksOf(pending)), [true, true])
    await store.inboundShares.updateRevision({ ...revision, transfer: 'rejected', receiptJws: 'r.e.c' })
    t.same(await referenced(store, chunksOf(pending)), [false, false], 'a rejected revision names nothing')
    const applied = [fakeEvidenceItem('ev-applied')]
    await store.inboundShares.setAppliedState({ inboundId: share.id, revision: 2, case: share.manifest.case, evidence: applied, updatedAt: T0 })
    t.same(await referenced(store, chunksOf({ evidence: applied })), [true, true], 'the applied state')

    await store.inboundShares.update({ ...share, status: 'revoked' })
    t.notOk((await referenced(store, [...original, ...chunksOf({ evidence: applied })])).some(Boolean), 'revoked: nothing')
  })

  t.test('forgetDeliveredChunk: no partner counts as having delivered a deleted chunk', async (t) => {
    const { store } = await openStore(t)
    const [gone, kept] = [fakeDigest('gone'), fakeDigest('kept')]
    for (const org of ['river-pd', 'lake-pd']) for (const digest of [gone, kept]) await store.chunks.recordDelivered(org, digest, T0)
    await store.chunks.forgetDelivered(gone)
    t.same(await store.chunks.delivered('river-pd', [gone, kept]), new Set([kept]))
    t.same(await store.chunks.delivered('lake-pd', [gone, kept]), new Set([kept]))
  })

  // spec: CW-POS-004, CW-POS-005
  t.test('recordPartnerChunks: a group of chunks recorded for one partner at once, all or none', async (t) => {
    const { store } = await openStore(t)
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => fakeDigest(name)) as [string, string, string, string]
    await store.chunks.recordDelivered('river-pd', a, T0)
    await store.chunks.recordDeliveredAll('river-pd', [a, b, c, b], T0 + 1)
    await store.chunks.recordDeliveredAll('river-pd', [], T0)
    t.same(await store.chunks.delivered('river-pd', [a, b, c, d]), new Set([a, b, c]), 'a recorded chunk again, a digest twice: each once')
    t.same(await store.chunks.delivered('lake-pd', [a, b, c, d]), new Set(), 'per partner')
    await t.rejects(store.chunks.recordDeliveredAll('lake-pd', [c, d], Number.NaN))
    t.same(await store.chunks.delivered('lake-pd', [c, d]), new Set(), 'a failed group records none of its chunks')
  })

  t.test('sharesNamingChunks: the shares of the case in force that name any of the chunks', async (t) => {
    const { store } = await openStore(t)
    await store.cases.insert(caseRecord({ id: 'case-2' }))
    await store.outboundShares.insert(outboundShareRecord())
    await store.outboundShares.insert(outboundShareRecord({ id: 'share-2', caseId: 'case-2' }))
    const revision = (shareId: string) => ({ shareId, revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest(shareId), createdAt: T0, receiptJws: null })
    await store.outboundShares.insertRevision(revision('share-1'), [fakeDigest('a'), fakeDigest('b')])
    await store.outboundShares.insertRevision(revision('share-2'), [fakeDigest('c')])
    t.same(await store.chunks.sharesNaming('case-1', [fakeDigest('x'), fakeDigest('b')], T0), ['share-1'])
    t.same(await store.chunks.sharesNaming('case-1', [fakeDigest('c')], T0), [], "another case's share does not count")
    t.same(await store.chunks.sharesNaming('case-1', [], T0), [])
    t.same(await store.chunks.sharesNaming('case-1', [fakeDigest('a')], T0 + 86_400), [], 'expired')
    await store.outboundShares.updateStatus('share-1', 'revoked', null, null, T0)
    t.same(await store.chunks.sharesNaming('case-1', [fakeDigest('a')], T0), [], 'revoked')
  })
}
