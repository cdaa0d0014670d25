/**
 * The link-share tables of the SQLite store: a link share round-trips; it becomes ready (with
 * its members, in order) or failed only while processing; revoking it twice changes nothing;
 * its capability token is found by hash; it belongs to a stored case.
 *
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */

import type { Test } from 'tap'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import type { LinkShareMember, LinkShareRecord, MetadataStore } from '../../../src/store/metadata_store.ts'

/** A link share of case-1 as the contract's stores keep it. */
export function link(overrides: Partial<LinkShareRecord> = {}): LinkShareRecord {
  return {
    id: 'link-1',
    caseId: 'case-1',
    createdBy: 'alice',
    recipient: { kind: 'local-user', value: 'bob' },
    scope: 'folders',
    folderIds: ['f-1'],
    evidenceIds: [],
    format: 'zip',
    retainFolderStructure: true,
    attachments: { auditTrail: true, tableOfContents: false, transcripts: true },
    message: 'for the hearing',
    state: 'processing',
    failure: null,
    createdAt: 100,
    updatedAt: 100,
    expiresAt: 1000,
    revokedAt: null,
    revokedBy: null,
    package: null,
    tokenHash: null,
    ...overrides,
  }
}

export function linkSharesContract(t: Test, harness: MetadataStoreHarness): void {
  async function openStore(t: Test): Promise<MetadataStore> {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    await store.cases.insert({ id: 'case-1', fields: { title: 'T' }, createdAt: 1, updatedAt: 1, importedFrom: null })
    return store
  }

  const members: LinkShareMember[] = [
    { path: 'package-manifest.jws', size: 10, crc32: 7, source: { kind: 'generated', digest: 'sha256:' + 'a'.repeat(64) } },
    { path: 'evidence/b.txt', size: 3, crc32: 0xffffffff, source: { kind: 'evidence', id: 'ev-2' } },
    { path: 'evidence/a.txt', size: 0, crc32: 0, source: { kind: 'evidence', id: 'ev-1' } },
  ]
  const built = { createdAt: 150, size: 4096, digest: 'sha256:' + 'b'.repeat(64), items: 2 }

  t.test('a link share becomes ready once, with its members in order', async (t) => {
    const store = await openStore(t)
    await store.linkShares.insert(link())
    t.same(await store.linkShares.get('link-1'), link())
    t.equal(await store.linkShares.complete('link-1', built, members, 160), true)
    t.same(await store.linkShares.get('link-1'), link({ state: 'ready', updatedAt: 160, package: built }))
    t.same(await store.linkShares.listMembers('link-1'), members)
    t.equal(await store.linkShares.complete('link-1', built, members, 170), false, 'not processing any more')
    t.same(await store.linkShares.listMembers('link-1'), members, 'members are not stored twice')
    // spec: CW-PKG-016 — a ready package whose delivery to a partner is refused fails; a revoked one stays revoked.
    t.equal(await store.linkShares.fail('link-1', 'refused by the partner', 170), true)
    t.equal((await store.linkShares.get('link-1'))?.state, 'failed')
    await store.linkShares.revoke('link-1', 'ann', 180)
    t.equal(await store.linkShares.fail('link-1', 'late', 190), false)
  })

  t.test('a processing link share fails with its reason; a revoked one neither completes nor fails', async (t) => {
    const store = await openStore(t)
    await store.linkShares.insert(link())
    await store.linkShares.insert(link({ id: 'link-2', createdAt: 101 }))
    t.equal(await store.linkShares.fail('link-1', 'evidence ev-1 is missing', 120), true)
    t.match(await store.linkShares.get('link-1'), { state: 'failed', failure: 'evidence ev-1 is missing', updatedAt: 120 })
    t.equal(await store.linkShares.revoke('link-2', 'alice', 130), true)
    t.equal(await store.linkShares.revoke('link-2', 'carol', 140), false, 'revoked once')
    t.match(await store.linkShares.get('link-2'), { state: 'revoked', revokedBy: 'alice', revokedAt: 130 })
    t.equal(await store.linkShares.complete('link-2', built, members, 150), false)
    t.same(await store.linkShares.listMembers('link-2'), [])
    t.same(
      (await store.linkShares.list('case-1')).map((l) => l.id),
      ['link-1', 'link-2'],
    )
    t.same(await store.linkShares.list('case-2'), [])
  })

  t.test('a capability token is found by its hash only; a link share needs its case', async (t) => {
    const store = await openStore(t)
    await store.linkShares.insert(link({ recipient: { kind: 'email', value: 'clerk@example.org' }, tokenHash: 'c'.repeat(64) }))
    t.equal((await store.linkShares.findByTokenHash('c'.repeat(64)))?.id, 'link-1')
    t.equal(await store.linkShares.findByTokenHash('d'.repeat(64)), undefined)
    await t.rejects(store.linkShares.insert(link({ id: 'link-9', caseId: 'no-such-case' })), { code: 'CW_ERR_CONFLICT' })
    await t.rejects(store.linkShares.insert(link({ id: 'link-3', tokenHash: 'c'.repeat(64) })), { code: 'CW_ERR_CONFLICT' }, 'one token, one link')
  })
}
