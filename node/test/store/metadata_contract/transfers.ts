/**
 * What the local API tells of an outbound share besides its status (SPEC.md CW-LOC-031): the
 * items the sending policy held back from each revision, and the partner's progress through the
 * chunks it asked for — each chunk counted once, for the share's current revision only.
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */
import type { Test } from 'tap'
import type { MetadataStore } from '../../../src/store/metadata_store.ts'
import { T0, caseRecord, fakeDigest, outboundShareRecord, partnerRecord, policyRecord } from '../../support/records.ts'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'

export function transfersContract(t: Test, harness: MetadataStoreHarness): void {
  async function shareStore(t: Test): Promise<MetadataStore> {
    const { store } = await harness.open(t)
    await store.policies.insert(policyRecord())
    await store.partners.upsert(partnerRecord())
    await store.cases.insert(caseRecord())
    await store.outboundShares.insert(outboundShareRecord())
    const revision = { shareId: 'share-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m1'), createdAt: T0, receiptJws: null }
    await store.outboundShares.insertRevision(revision, [])
    return store
  }

  // spec: CW-BAT-002, CW-FED-005
  t.test('servableChunks: the digests of a batch isChunkServable holds for, in one query', async (t) => {
    const store = await shareStore(t)
    const [a, b, other] = [fakeDigest('a'), fakeDigest('b'), fakeDigest('other')]
    const revision2 = { shareId: 'share-1', revision: 2, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m2'), createdAt: T0, receiptJws: null }
    await store.outboundShares.insertRevision(revision2, [a, b])
    const asked = [a, other, b, a]
    t.same(await store.outboundShares.servableChunks('river-pd', 'share-1', asked, T0), new Set([a, b]), 'only those the share lists')
    for (const digest of asked)
      t.equal(
        await store.outboundShares.isChunkServable('river-pd', 'share-1', digest, T0),
        (await store.outboundShares.servableChunks('river-pd', 'share-1', [digest], T0)).has(digest),
      )
    t.same(await store.outboundShares.servableChunks('lake-pd', 'share-1', asked, T0), new Set(), 'another partner')
    t.same(await store.outboundShares.servableChunks('river-pd', 'share-9', asked, T0), new Set(), 'no such share')
    t.same(await store.outboundShares.servableChunks('river-pd', 'share-1', asked, T0 + 86_400), new Set(), 'at its expiry')
    t.same(await store.outboundShares.servableChunks('river-pd', 'share-1', [], T0), new Set())
    await store.outboundShares.updateStatus('share-1', 'revoked', null, null, T0 + 1)
    t.same(await store.outboundShares.servableChunks('river-pd', 'share-1', asked, T0), new Set(), 'revoked')
  })

  t.test('held-back items come back in the order recorded, per revision, each once', async (t) => {
    const store = await shareStore(t)
    const items = [
      { evidenceId: 'ev-9', name: 'secret.pdf', reason: 'do-not-disclose' as const },
      { evidenceId: 'ev-2', name: 'audio.wav', reason: 'category-excluded' as const },
      { evidenceId: 'ev-5', name: 'notes.txt', reason: 'attachments-excluded' as const },
    ]
    await store.outboundShares.insertHeldBack('share-1', 1, items)
    await store.outboundShares.insertHeldBack('share-1', 1, [items[0]!])
    await store.outboundShares.insertHeldBack('share-1', 1, [])
    t.same(await store.outboundShares.listHeldBack('share-1', 1), items)
    t.same(await store.outboundShares.listHeldBack('share-1', 2), [])
    await t.rejects(store.outboundShares.insertHeldBack('nope', 1, items), { code: 'CW_ERR_CONFLICT' }, 'a share must exist')
    t.same(await store.outboundShares.listHeldBack('nope', 1), [])
  })

  t.test("a transfer counts the chunks the partner asked for, each served chunk once, on the share's current revision", async (t) => {
    const store = await shareStore(t)
    const [a, b, c] = [fakeDigest('a'), fakeDigest('b'), fakeDigest('c')]
    t.equal(await store.outboundShares.getTransfer('share-1', 1), undefined)
    await store.outboundShares.startTransfer('share-1', 1, [
      { digest: a, size: 100 },
      { digest: b, size: 50 },
    ])
    t.same(await store.outboundShares.getTransfer('share-1', 1), {
      shareId: 'share-1',
      revision: 1,
      chunksTotal: 2,
      bytesTotal: 150,
      chunksDone: 0,
      bytesDone: 0,
    })
    await store.outboundShares.recordChunkServed('share-1', a)
    await store.outboundShares.recordChunkServed('share-1', a)
    await store.outboundShares.recordChunkServed('share-1', fakeDigest('not asked for'))
    t.match(await store.outboundShares.getTransfer('share-1', 1), { chunksDone: 1, bytesDone: 100 }, 'a chunk served twice counts once')

    await store.outboundShares.startTransfer('share-1', 1, [
      { digest: a, size: 100 },
      { digest: c, size: 7 },
    ])
    t.match(
      await store.outboundShares.getTransfer('share-1', 1),
      { chunksTotal: 3, bytesTotal: 157, chunksDone: 1, bytesDone: 100 },
      'an answer again adds the new chunks and keeps what was served',
    )
    await t.rejects(store.outboundShares.startTransfer('share-1', 1, [{ digest: 'sha256:nothex', size: 1 }]), TypeError)
    await t.rejects(store.outboundShares.startTransfer('share-1', 1, [{ digest: fakeDigest('d'), size: -1 }]), TypeError)
    t.match(await store.outboundShares.getTransfer('share-1', 1), { chunksTotal: 3 }, 'a refused answer stores nothing')

    const revision2 = { shareId: 'share-1', revision: 2, manifestJws: 'd.e.f', manifestDigest: fakeDigest('m2'), createdAt: T0 + 1, receiptJws: null }
    await store.outboundShares.insertRevision(revision2, [])
    await store.outboundShares.startTransfer('share-1', 2, [{ digest: b, size: 50 }])
    await store.outboundShares.recordChunkServed('share-1', b)
    t.match(await store.outboundShares.getTransfer('share-1', 1), { chunksDone: 1, bytesDone: 100 }, 'an earlier revision no longer moves')
    t.match(await store.outboundShares.getTransfer('share-1', 2), { chunksTotal: 1, bytesTotal: 50, chunksDone: 1, bytesDone: 50 })
  })
}
