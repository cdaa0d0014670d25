/**
 * Packages carried between nodes (SPEC.md §22, CW-PKG-011..017), as the stores keep them: the
 * sender's signed offer of a link share is kept once and its acceptance recorded once; an
 * inbound package round-trips, is found by its sender's package id, becomes received (with its
 * chunks, which the blob collector then keeps while it is in force) or refused only while
 * receiving, and is revoked once.
 *
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */
// spec: CW-PKG-012, CW-PKG-014, CW-PKG-015, CW-PKG-016, CW-PKG-017, CW-LOC-054
import type { Test } from 'tap'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import type { CaseViewer, InboundPackageRecord, ListPosition, MetadataStore } from '../../../src/store/metadata_store.ts'
import { link } from './link_shares.ts'

const DIGEST = (c: string) => `sha256:${c.repeat(64)}`

export function inboundPackagesContract(t: Test, harness: MetadataStoreHarness): void {
  async function openStore(t: Test): Promise<MetadataStore> {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    return store
  }

  function inbound(overrides: Partial<InboundPackageRecord> = {}): InboundPackageRecord {
    return {
      id: 'in-1',
      senderOrg: 'metro-pd',
      packageId: 'pkg-1',
      state: 'receiving',
      offer: { jws: 'h.p.s', digest: DIGEST('1'), jti: 'jti-1', format: 'zip', size: 4096, manifest: DIGEST('2'), message: 'for the hearing' },
      recipients: [
        { kind: 'user', id: 'clerk' },
        { kind: 'group', id: 'intake' },
      ],
      expiresAt: 1000,
      failure: null,
      senderName: null,
      caseId: null,
      content: null,
      createdAt: 100,
      updatedAt: 100,
      receivedAt: null,
      revokedAt: null,
      ...overrides,
    }
  }

  t.test('an inbound package round-trips, is found by its sender and package id, and lists newest first', async (t) => {
    const store = await openStore(t)
    await store.inboundPackages.insert(inbound())
    await store.inboundPackages.insert(
      inbound({ id: 'in-2', packageId: 'pkg-2', offer: null, state: 'revoked', revokedAt: 150, createdAt: 150, updatedAt: 150 }),
    )
    t.same(await store.inboundPackages.get('in-1'), inbound())
    t.same(
      await store.inboundPackages.find('metro-pd', 'pkg-2'),
      inbound({ id: 'in-2', packageId: 'pkg-2', offer: null, state: 'revoked', revokedAt: 150, createdAt: 150, updatedAt: 150 }),
      'a revocation that came before its offer',
    )
    t.equal(await store.inboundPackages.find('county-da', 'pkg-1'), undefined, 'another sender’s package id is another package')
    t.same(
      (await store.inboundPackages.list()).map((p) => p.id),
      ['in-2', 'in-1'],
    )
    await t.rejects(store.inboundPackages.insert(inbound({ id: 'in-3' })), 'one package per sender and package id')
  })

  t.test('a package becomes received or refused only while receiving; revoked once', async (t) => {
    const store = await openStore(t)
    await store.inboundPackages.insert(inbound())
    await store.inboundPackages.insert(inbound({ id: 'in-2', packageId: 'pkg-2' }))
    const received = { senderName: 'Metro PD', caseId: 'case-9', chunkSize: 2048, chunks: [DIGEST('a'), DIGEST('b')] }
    t.equal(await store.inboundPackages.complete('in-1', received, 200), true)
    t.same(
      await store.inboundPackages.get('in-1'),
      inbound({
        state: 'received',
        senderName: 'Metro PD',
        caseId: 'case-9',
        content: { chunkSize: 2048, chunks: [DIGEST('a'), DIGEST('b')] },
        receivedAt: 200,
        updatedAt: 200,
      }),
    )
    t.equal(await store.inboundPackages.complete('in-1', received, 210), false, 'not receiving any more')
    t.equal(await store.inboundPackages.refuse('in-1', 'late', 210), false)
    t.equal(await store.inboundPackages.refuse('in-2', 'a member does not match its digest', 220), true)
    t.match(await store.inboundPackages.get('in-2'), { state: 'refused', failure: 'a member does not match its digest', updatedAt: 220 })
    t.equal(await store.inboundPackages.revoke('in-1', 300), true)
    t.match(await store.inboundPackages.get('in-1'), { state: 'revoked', revokedAt: 300 })
    t.equal(await store.inboundPackages.revoke('in-1', 310), false, 'revoked once')
  })

  t.test("a received package's chunks are kept while it is in force", async (t) => {
    const store = await openStore(t)
    await store.inboundPackages.insert(inbound())
    await store.inboundPackages.complete('in-1', { senderName: 'Metro PD', caseId: 'case-9', chunkSize: 2048, chunks: [DIGEST('c')] }, 200)
    t.ok((await store.chunks.referenced(500)).has(DIGEST('c')), 'received and unexpired')
    t.notOk((await store.chunks.referenced(1000)).has(DIGEST('c')), 'expired')
    await store.inboundPackages.revoke('in-1', 600)
    t.notOk((await store.chunks.referenced(600)).has(DIGEST('c')), 'revoked')
  })

  t.test("a link share's package offer is kept once signed, and its acceptance recorded once", async (t) => {
    const store = await openStore(t)
    await store.cases.insert({ id: 'case-1', fields: { title: 'T' }, createdAt: 1, updatedAt: 1, importedFrom: null })
    await store.linkShares.insert(link({ recipient: { kind: 'partner-user', value: 'county-da/clerk' }, state: 'ready' }))
    t.equal(await store.linkShares.getOffer('link-1'), undefined, 'no offer signed yet')
    await store.linkShares.setOffer('link-1', 'h.offer.s', 110)
    t.same(await store.linkShares.getOffer('link-1'), { jws: 'h.offer.s', offeredAt: null })
    t.equal(await store.linkShares.markOffered('link-1', 120), true)
    t.equal(await store.linkShares.markOffered('link-1', 130), false, 'recorded once')
    t.same(await store.linkShares.getOffer('link-1'), { jws: 'h.offer.s', offeredAt: 120 })
    await t.rejects(store.linkShares.setOffer('link-9', 'h.offer.s', 110), { code: 'CW_ERR_NOT_FOUND' }, 'an unknown link share')
  })

  t.test('the packages a viewer may see, page by page: newest first, each once, a revocation never offered in none', async (t) => {
    const store = await openStore(t)
    const addressed: Record<string, InboundPackageRecord['recipients']> = {
      'in-1': [{ kind: 'user', id: 'clerk' }],
      'in-2': [{ kind: 'group', id: 'intake' }],
      'in-3': [{ kind: 'user', id: 'judge' }],
      'in-4': [
        { kind: 'user', id: 'judge' },
        { kind: 'group', id: 'intake' },
      ],
      'in-5': [{ kind: 'user', id: 'clerk' }],
    }
    for (const [id, recipients] of Object.entries(addressed)) await store.inboundPackages.insert(inbound({ id, packageId: `pkg-${id}`, recipients }))
    await store.inboundPackages.insert(inbound({ id: 'in-tombstone', packageId: 'pkg-never-offered', offer: null, state: 'revoked' }))
    const viewer = (overrides: Partial<CaseViewer>): CaseViewer => ({ userId: 'nobody', groups: [], seesAll: false, ...overrides })
    async function walk(who: CaseViewer, limit: number): Promise<string[][]> {
      const read: string[][] = []
      let after: ListPosition | undefined
      for (;;) {
        const page = await store.inboundPackages.listVisible(who, after === undefined ? { limit } : { limit, after })
        read.push(page.items.map((held) => held.id))
        if (page.next === null) return read
        after = page.next
      }
    }
    t.same(await walk(viewer({ seesAll: true }), 2), [['in-5', 'in-4'], ['in-3', 'in-2'], ['in-1']], 'an administrator: every offered package, newest first')
    t.same(await walk(viewer({ userId: 'clerk' }), 1), [['in-5'], ['in-1']], 'a user: those naming them')
    t.same(await walk(viewer({ userId: 'clerk', groups: ['intake'] }), 10), [['in-5', 'in-4', 'in-2', 'in-1']], 'and those naming their groups')
    t.same(await walk(viewer({ userId: 'judge', groups: ['other'] }), 10), [['in-4', 'in-3']])
    t.same(await walk(viewer({}), 10), [[]], 'nobody else: one empty last page')

    const first = await store.inboundPackages.listVisible(viewer({ seesAll: true }), { limit: 2 })
    await store.inboundPackages.insert(inbound({ id: 'in-6', packageId: 'pkg-in-6', createdAt: 50 }))
    await store.inboundPackages.revoke('in-3', 200)
    const rest = await store.inboundPackages.listVisible(viewer({ seesAll: true }), { limit: 10, after: first.next ?? 0 })
    t.same(
      rest.items.map((held) => [held.id, held.state]),
      [
        ['in-3', 'revoked'],
        ['in-2', 'receiving'],
        ['in-1', 'receiving'],
      ],
      'one offered between pages, or revoked, neither repeats nor skips one',
    )
  })
}
