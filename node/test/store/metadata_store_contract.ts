/**
 * The contract every MetadataStore keeps (`node/src/store/metadata_store.ts`), run against each
 * implementation by its own test file: SQLite (`sqlite/sqlite_metadata_store.test.ts`) and
 * PostgreSQL on a real server (`postgres/postgres_metadata_store.test.ts`). What is only true of
 * one implementation (SQLite's file, WAL, query plans, its single writer) stays in that file.
 * The aggregates the stores keep in files of their own have their part in `metadata_contract/`.
 */
import type { Test } from 'tap'
import type { JobClaim, MetadataStore, UnitOfWork } from '../../src/store/metadata_store.ts'
import {
  OWNER,
  T0,
  caseRecord,
  evidenceRecord,
  fakeDigest,
  inboundShareRecord,
  jobRecord,
  outboundShareRecord,
  partnerRecord,
  policyRecord,
} from '../support/records.ts'
import { auditContract } from './metadata_contract/audit.ts'
import { chunkReferencesContract } from './metadata_contract/chunk_references.ts'
import { inboundPackagesContract } from './metadata_contract/inbound_packages.ts'
import { linkSharesContract } from './metadata_contract/link_shares.ts'
import { notificationsContract } from './metadata_contract/notifications.ts'
import { operationsContract } from './metadata_contract/operations.ts'
import { pagedListsContract } from './metadata_contract/paged_lists.ts'
import { principalsContract } from './metadata_contract/principals.ts'
import { transfersContract } from './metadata_contract/transfers.ts'

export interface MetadataStoreHarness {
  /**
   * A new, empty store, closed when `t` ends; `reopen` opens another store on the same
   * database (closed when `t` ends too).
   */
  open(t: Test): Promise<{ store: MetadataStore; reopen(): Promise<MetadataStore> }>
}

/** A claim by `OWNER` that holds through every test's times. */
const claim = (kinds?: string[]): JobClaim => ({ owner: OWNER, leaseUntil: T0 + 1000, ...(kinds === undefined ? {} : { kinds }) })

export function metadataStoreContract(t: Test, harness: MetadataStoreHarness): void {
  // The aggregates kept in files of their own, as the stores keep their SQL.
  t.test('audit trail', async (t) => auditContract(t, harness))
  t.test('chunk references', async (t) => chunkReferencesContract(t, harness))
  t.test('link shares', async (t) => linkSharesContract(t, harness))
  t.test('inbound packages and package offers', async (t) => inboundPackagesContract(t, harness))
  t.test('notifications and added recipients', async (t) => notificationsContract(t, harness))
  t.test('operations', async (t) => operationsContract(t, harness))
  t.test('principals and case access', async (t) => principalsContract(t, harness))
  t.test('held-back items and transfer progress', async (t) => transfersContract(t, harness))
  t.test('lists page by page', async (t) => pagedListsContract(t, harness))

  const openStore = (t: Test) => harness.open(t)

  /** A store with a policy, a partner and a case, ready for shares. */
  async function seededStore(t: Test): Promise<MetadataStore> {
    const { store } = await openStore(t)
    await store.policies.insert(policyRecord())
    await store.partners.upsert(partnerRecord())
    await store.partners.upsert(partnerRecord({ org: 'lake-pd', name: 'Lake PD' }))
    await store.cases.insert(caseRecord())
    return store
  }

  t.test('tokens round-trip by hash', async (t) => {
    const { store } = await openStore(t)
    const token = {
      id: 'tok-1',
      hash: 'ab'.repeat(32),
      role: 'admin' as const,
      userId: 'alice',
      name: 'ci',
      createdAt: T0,
      expiresAt: T0 + 86400,
      lastUsedAt: null,
      revokedAt: null,
    }
    await store.tokens.insert(token)
    t.same(await store.tokens.findByHash(token.hash), token)
    t.equal(await store.tokens.findByHash('cd'.repeat(32)), undefined)
    await t.rejects(store.tokens.insert({ ...token, id: 'tok-2' }), { code: 'CW_ERR_CONFLICT' }, 'hash is unique')
    await t.rejects(store.tokens.insert({ ...token, id: 'tok-3', hash: 'ef'.repeat(32), role: 'root' as 'admin' }), TypeError)
  })

  t.test('tokens are listed, touched and revoked (one, or all of a user)', async (t) => {
    const { store } = await openStore(t)
    const base = { role: 'member' as const, name: '', createdAt: T0, expiresAt: T0 + 86400, lastUsedAt: null, revokedAt: null }
    await store.tokens.insert({ ...base, id: 'a1', hash: '01'.repeat(32), userId: 'alice' })
    await store.tokens.insert({ ...base, id: 'a2', hash: '02'.repeat(32), userId: 'alice', createdAt: T0 + 1 })
    await store.tokens.insert({ ...base, id: 'b1', hash: '03'.repeat(32), userId: 'bob' })
    t.same(
      (await store.tokens.list()).map((x) => x.id),
      ['a2', 'a1', 'b1'],
    )
    t.same(
      (await store.tokens.list('alice')).map((x) => x.id),
      ['a2', 'a1'],
    )
    await store.tokens.touch('a1', T0 + 5)
    t.equal((await store.tokens.get('a1'))?.lastUsedAt, T0 + 5)
    t.equal(await store.tokens.revoke('a1', T0 + 6), true)
    t.equal(await store.tokens.revoke('a1', T0 + 7), false, 'already revoked')
    t.equal((await store.tokens.get('a1'))?.revokedAt, T0 + 6, 'the first revocation time stays')
    t.same(await store.tokens.revokeOfUser('alice', T0 + 8), ['a2'])
    t.equal((await store.tokens.get('b1'))?.revokedAt, null)
  })

  t.test('partners upsert, get and list', async (t) => {
    const { store } = await openStore(t)
    await store.policies.insert(policyRecord())
    const river = partnerRecord()
    await store.partners.upsert(river)
    await store.partners.upsert(partnerRecord({ org: 'lake-pd', name: 'Lake PD', enabled: false, policyId: null, policyVersion: null }))
    t.same(await store.partners.get('river-pd'), river)
    t.equal((await store.partners.get('lake-pd'))?.enabled, false)
    t.equal(await store.partners.get('hill-pd'), undefined)

    await store.partners.upsert({ ...river, name: 'River PD (new)', enabled: false })
    t.same(await store.partners.get('river-pd'), { ...river, name: 'River PD (new)', enabled: false }, 'upsert replaces')
    t.same(
      (await store.partners.list()).map((p) => p.org),
      ['lake-pd', 'river-pd'],
    )
    await t.rejects(store.partners.upsert(partnerRecord({ org: 'x', policyId: 'unknown', policyVersion: 1 })), { code: 'CW_ERR_CONFLICT' })
  })

  t.test('policies are versioned and immutable', async (t) => {
    const { store } = await openStore(t)
    const v1 = policyRecord()
    const v2 = policyRecord({ version: 2, policy: { ...policyRecord().policy, version: 2, name: 'Wide v2' }, createdAt: T0 + 10 })
    await store.policies.insert(v2)
    await store.policies.insert(v1)
    t.same(await store.policies.get('policy-wide'), v2, 'latest version by default')
    t.same(await store.policies.get('policy-wide', 1), v1)
    t.equal(await store.policies.get('policy-wide', 3), undefined)
    t.equal(await store.policies.get('other'), undefined)
    t.same(await store.policies.list(), [v1, v2])
    await t.rejects(store.policies.insert(v1), { code: 'CW_ERR_CONFLICT' })
  })

  t.test('cases, folders and evidence round-trip', async (t) => {
    const { store } = await openStore(t)
    const record = caseRecord()
    await store.cases.insert(record)
    await store.cases.insert(caseRecord({ id: 'case-2', importedFrom: 'ext-9', createdAt: T0 + 1 }))
    t.same(await store.cases.get('case-1'), record)
    t.equal(await store.cases.get('nope'), undefined)
    await store.cases.updateFields('case-1', { title: 'Renamed', tags: ['a', 'b'] }, T0 + 5)
    t.same(await store.cases.get('case-1'), { ...record, fields: { title: 'Renamed', tags: ['a', 'b'] }, updatedAt: T0 + 5 })
    await t.rejects(store.cases.updateFields('nope', {}, T0), { code: 'CW_ERR_NOT_FOUND' })
    t.same(
      (await store.cases.list()).map((c) => [c.id, c.importedFrom]),
      [
        ['case-1', null],
        ['case-2', 'ext-9'],
      ],
    )

    const root = { id: 'f-root', caseId: 'case-1', parentId: null, name: 'Evidence' }
    const photos = { id: 'f-photos', caseId: 'case-1', parentId: 'f-root', name: 'Photos' }
    await store.cases.insertFolder(root)
    await store.cases.insertFolder(photos)
    await store.cases.insertFolder({ ...root, caseId: 'case-2' })
    t.same(await store.cases.listFolders('case-1'), [root, photos])
    t.same(await store.cases.listFolders('case-3'), [])

    const photo = evidenceRecord({ folderId: 'f-photos' })
    const note = evidenceRecord({ id: 'ev-2', name: 'note.txt', attachmentOf: 'ev-1', doNotDisclose: true, size: 0, chunks: [] })
    await store.cases.insertEvidence(photo)
    await store.cases.insertEvidence(note)
    t.same(await store.cases.getEvidence('ev-1'), photo)
    t.same(await store.cases.getEvidence('ev-2'), note)
    t.same(await store.cases.listEvidence('case-1'), [photo, note])
    t.same(await store.cases.listEvidence('case-2'), [])
    await t.rejects(store.cases.insertEvidence(evidenceRecord({ id: 'ev-3', folderId: 'f-elsewhere' })), { code: 'CW_ERR_CONFLICT' })
    await t.rejects(
      store.cases.insertEvidence(evidenceRecord({ id: 'ev-4', caseId: 'case-2', folderId: 'f-photos' })),
      { code: 'CW_ERR_CONFLICT' },
      'folder of another case',
    )
  })

  t.test('methods return copies and keep none of the caller objects', async (t) => {
    const { store } = await openStore(t)
    const record = caseRecord()
    await store.cases.insert(record)
    ;(record.fields as Record<string, string>)['title'] = 'changed by caller'
    const first = (await store.cases.get('case-1'))!
    t.equal(first.fields['title'], 'Burglary at 12 Elm St')
    ;(first.fields['offenses'] as string[]).push('arson')
    t.same((await store.cases.get('case-1'))!.fields['offenses'], ['burglary', 'trespass'])
    t.not(await store.cases.get('case-1'), await store.cases.get('case-1'))
  })

  t.test('outbound shares, revisions and receipts', async (t) => {
    const store = await seededStore(t)
    const share = outboundShareRecord()
    await store.outboundShares.insert(share)
    await store.outboundShares.insert(outboundShareRecord({ id: 'share-2', caseId: 'case-9', partnerOrg: 'lake-pd', createdAt: T0 + 1 }))
    t.same(await store.outboundShares.get('share-1'), share)
    t.equal(await store.outboundShares.get('nope'), undefined)
    t.same(
      (await store.outboundShares.list()).map((s) => s.id),
      ['share-1', 'share-2'],
    )
    t.same(
      (await store.outboundShares.list('case-1')).map((s) => s.id),
      ['share-1'],
    )
    await t.rejects(store.outboundShares.insert(outboundShareRecord({ id: 'share-3', partnerOrg: 'unknown' })), { code: 'CW_ERR_CONFLICT' })

    await store.outboundShares.updateStatus('share-1', 'rejected', 'CW_ERR_POLICY_VIOLATION', 'field not allowed', T0 + 7)
    t.same(await store.outboundShares.get('share-1'), {
      ...share,
      status: 'rejected',
      statusCode: 'CW_ERR_POLICY_VIOLATION',
      statusDetail: 'field not allowed',
      updatedAt: T0 + 7,
    })
    await t.rejects(store.outboundShares.updateStatus('nope', 'delivered', null, null, T0), { code: 'CW_ERR_NOT_FOUND' })

    const rev1 = { shareId: 'share-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m1'), createdAt: T0 + 8, receiptJws: null }
    await store.outboundShares.insertRevision(rev1, [fakeDigest('c1'), fakeDigest('c2'), fakeDigest('c1')])
    const rev2 = { ...rev1, revision: 2, manifestJws: 'd.e.f', manifestDigest: fakeDigest('m2'), createdAt: T0 + 9 }
    await store.outboundShares.insertRevision(rev2, [])
    t.same(await store.outboundShares.getRevision('share-1', 1), rev1)
    t.same(await store.outboundShares.getRevision('share-1', 2), rev2)
    t.equal(await store.outboundShares.getRevision('share-1', 3), undefined)
    const current = (await store.outboundShares.get('share-1'))!
    t.equal(current.revision, 2, 'the share moves to its newest revision')
    t.equal(current.updatedAt, T0 + 9)
    t.same(
      await store.outboundShares.getState('share-1'),
      { id: 'share-1', partnerOrg: current.partnerOrg, status: 'rejected', expiresAt: current.expiresAt, revision: 2 },
      'the state serving a chunk checks, without the lists',
    )
    t.equal(await store.outboundShares.getState('nope'), undefined)
    await t.rejects(store.outboundShares.insertRevision(rev1, []), { code: 'CW_ERR_CONFLICT' }, 'a revision is stored once')
    await t.rejects(store.outboundShares.insertRevision({ ...rev1, shareId: 'nope' }, []), { code: 'CW_ERR_CONFLICT' })

    await store.outboundShares.setReceipt('share-1', 1, 'r.e.c')
    t.equal((await store.outboundShares.getRevision('share-1', 1))?.receiptJws, 'r.e.c')
    await t.rejects(store.outboundShares.setReceipt('share-1', 5, 'r.e.c'), { code: 'CW_ERR_NOT_FOUND' })
  })

  t.test('a revision with an invalid chunk digest stores nothing', async (t) => {
    const store = await seededStore(t)
    await store.outboundShares.insert(outboundShareRecord())
    const revision = { shareId: 'share-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m'), createdAt: T0, receiptJws: null }
    await t.rejects(store.outboundShares.insertRevision(revision, [fakeDigest('ok'), '../../etc/passwd']), TypeError)
    t.equal(await store.outboundShares.getRevision('share-1', 1), undefined)
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', fakeDigest('ok'), T0), false)
  })

  // Its speed is measured by `npm run bench` (many small items), never asserted here.
  t.test('insertOutboundRevision indexes 10,000 chunk digests, each servable', async (t) => {
    const store = await seededStore(t)
    await store.outboundShares.insert(outboundShareRecord())
    const digests = Array.from({ length: 10_000 }, (_, i) => fakeDigest(`chunk-${i}`))
    const revision = { shareId: 'share-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m'), createdAt: T0, receiptJws: null }
    await store.outboundShares.insertRevision(revision, digests)
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', digests[0]!, T0 + 1), true)
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', digests[9_999]!, T0 + 1), true)
  })

  t.test('isChunkServable: only to the share partner, only while the share is live', async (t) => {
    const store = await seededStore(t)
    const chunk = fakeDigest('chunk')
    const revision = (shareId: string) => ({ shareId, revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest(shareId), createdAt: T0, receiptJws: null })
    await store.outboundShares.insert(outboundShareRecord({ id: 'share-1', expiresAt: T0 + 100 }))
    await store.outboundShares.insertRevision(revision('share-1'), [chunk])

    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', chunk, T0), true, 'right partner')
    t.equal(await store.outboundShares.isChunkServable('lake-pd', 'share-1', chunk, T0), false, 'another partner')
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', fakeDigest('other'), T0), false, 'a chunk not in the share')
    await store.outboundShares.insert(outboundShareRecord({ id: 'share-3', expiresAt: T0 + 100 }))
    await store.outboundShares.insertRevision(revision('share-3'), [fakeDigest('other')])
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-3', chunk, T0), false, 'a chunk of another share of the same partner')
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', chunk, T0 + 100), false, 'at expiresAt')
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', chunk, T0 + 99), true, 'just before expiresAt')

    await store.outboundShares.updateStatus('share-1', 'revoked', null, null, T0 + 1)
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', chunk, T0), false, 'revoked')
    await store.outboundShares.updateStatus('share-1', 'expired', null, null, T0 + 1)
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', chunk, T0), false, 'expired status')
    await store.outboundShares.updateStatus('share-1', 'failed', 'CW_ERR_UNAVAILABLE', 'peer down', T0 + 1)
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', chunk, T0), true, 'failed shares still retry, so stay servable')

    // The same chunk in a live share to lake-pd does not make it servable to river-pd after revocation.
    await store.outboundShares.updateStatus('share-1', 'revoked', null, null, T0 + 2)
    await store.outboundShares.insert(outboundShareRecord({ id: 'share-2', partnerOrg: 'lake-pd' }))
    await store.outboundShares.insertRevision(revision('share-2'), [chunk])
    t.equal(await store.outboundShares.isChunkServable('lake-pd', 'share-2', chunk, T0), true)
    t.equal(await store.outboundShares.isChunkServable('lake-pd', 'share-1', chunk, T0), false, 'not through a share addressed to another partner')
    t.equal(await store.outboundShares.isChunkServable('river-pd', 'share-1', chunk, T0), false)
  })

  t.test('inbound shares round-trip; the signed manifest is stored, never read back', async (t) => {
    const { store } = await openStore(t)
    const share = inboundShareRecord()
    const { manifestJws: _signed, ...read } = share
    await store.inboundShares.insert(share)
    t.same(await store.inboundShares.get('ext-1'), read)
    t.notOk('manifestJws' in ((await store.inboundShares.get('ext-1')) ?? {}), 'a read leaves the JWS out')
    t.same(await store.inboundShares.find('hill-pd', 'share-1'), read)
    t.equal(await store.inboundShares.find('lake-pd', 'share-1'), undefined)
    t.equal(await store.inboundShares.get('nope'), undefined)
    await t.rejects(store.inboundShares.insert({ ...share, id: 'ext-2' }), { code: 'CW_ERR_CONFLICT' }, 'one local copy per sender share')

    // A share as read is written back without its JWS: the same manifest stays.
    const updated = { ...read, revision: 2, status: 'complete' as const, completedAt: T0 + 60, receiptJws: 'r.e.c' }
    await store.inboundShares.update(updated)
    t.same(await store.inboundShares.get('ext-1'), updated)
    await t.rejects(store.inboundShares.update({ ...share, id: 'nope' }), { code: 'CW_ERR_NOT_FOUND' })
    // Another revision's manifest (another digest) replaces the manifest, and needs its JWS.
    const advanced = { ...updated, revision: 3, manifestDigest: fakeDigest('manifest-3'), manifest: { ...share.manifest, jti: 'jti-3', evidence: [] } }
    await t.rejects(store.inboundShares.update(advanced), TypeError, 'another manifest without its JWS')
    t.same(await store.inboundShares.get('ext-1'), updated, 'and nothing changed')
    await store.inboundShares.update({ ...advanced, manifestJws: 'eyJ.manifest-3.sig' })
    t.same(await store.inboundShares.get('ext-1'), advanced)
    await t.rejects(store.inboundShares.update({ ...advanced, id: 'nope' }), { code: 'CW_ERR_NOT_FOUND' }, 'a new manifest for no share')
    await store.inboundShares.insert(inboundShareRecord({ id: 'ext-2', shareId: 'share-2', receivedAt: T0 + 1 }))
    t.same(
      (await store.inboundShares.list()).map((s) => s.id),
      ['ext-1', 'ext-2'],
    )
  })

  t.test('listInboundRevisionStates: the revisions by revision, without their manifests', async (t) => {
    const { store } = await openStore(t)
    const share = inboundShareRecord({ status: 'complete' })
    await store.inboundShares.insert(share)
    const revision = (number: number, status: 'pending' | 'applied' | 'superseded', transfer: 'receiving' | 'verified' | 'rejected') => ({
      inboundId: share.id,
      revision: number,
      manifestJws: `eyJ.revision-${number}.sig`,
      manifestDigest: fakeDigest(`revision-${number}`),
      manifest: { ...share.manifest, share: { ...share.manifest.share, revision: number } },
      policy: share.policy,
      status,
      transfer,
      receiptJws: transfer === 'receiving' ? null : 'r.e.c',
      receiptSent: false,
      receivedAt: T0 + number,
      verifiedAt: null,
    })
    // Inserted out of order: the listing orders them.
    for (const row of [revision(4, 'pending', 'receiving'), revision(2, 'superseded', 'verified'), revision(3, 'pending', 'verified')]) {
      await store.inboundShares.insertRevision(row)
    }
    t.same(await store.inboundShares.listRevisionStates(share.id), [
      { revision: 2, manifestDigest: fakeDigest('revision-2'), status: 'superseded', transfer: 'verified', receivedAt: T0 + 2 },
      { revision: 3, manifestDigest: fakeDigest('revision-3'), status: 'pending', transfer: 'verified', receivedAt: T0 + 3 },
      { revision: 4, manifestDigest: fakeDigest('revision-4'), status: 'pending', transfer: 'receiving', receivedAt: T0 + 4 },
    ])
    await store.inboundShares.updateRevision({ ...revision(4, 'pending', 'receiving'), transfer: 'verified' })
    t.equal((await store.inboundShares.listRevisionStates(share.id))[2]?.transfer, 'verified', 'the index follows updates')
    t.same(await store.inboundShares.listRevisionStates('nope'), [])
  })

  t.test('getInboundShareState: the fields a polled request checks, none of the manifests', async (t) => {
    const { store } = await openStore(t)
    const share = inboundShareRecord()
    await store.inboundShares.insert(share)
    const state = {
      id: share.id,
      senderOrg: share.senderOrg,
      revision: 1,
      manifestDigest: share.manifestDigest,
      status: 'receiving',
      expiresAt: share.expiresAt,
    }
    t.same(await store.inboundShares.getState(share.id), state)
    await store.inboundShares.update({ ...share, revision: 2, manifestDigest: fakeDigest('revision-2'), status: 'complete' })
    t.same(await store.inboundShares.getState(share.id), { ...state, revision: 2, manifestDigest: fakeDigest('revision-2'), status: 'complete' })
    t.equal(await store.inboundShares.getState('nope'), undefined)
    const revised = { ...state, revision: 2, manifestDigest: fakeDigest('revision-2'), status: 'complete' }
    t.same(await store.inboundShares.findStateByDigest(share.senderOrg, fakeDigest('revision-2')), revised, 'by the digest of its manifest')
    t.equal(await store.inboundShares.findStateByDigest(share.senderOrg, share.manifestDigest), undefined, 'a manifest it no longer holds')
    t.equal(await store.inboundShares.findStateByDigest('lake-pd', fakeDigest('revision-2')), undefined, "another sender's")
    await store.inboundShares.insertRevision({
      inboundId: share.id,
      revision: 3,
      manifestJws: 'eyJ.revision-3.sig',
      manifestDigest: fakeDigest('revision-3'),
      manifest: share.manifest,
      policy: share.policy,
      status: 'pending',
      transfer: 'receiving',
      receiptJws: null,
      receiptSent: false,
      receivedAt: T0 + 3,
      verifiedAt: null,
    })
    t.same(await store.inboundShares.findStateByDigest(share.senderOrg, fakeDigest('revision-3')), revised, 'by the digest of a revision held apart')
    t.equal(await store.inboundShares.findStateByDigest('lake-pd', fakeDigest('revision-3')), undefined)
  })

  t.test('getAppliedStateVersion: every write of an applied state raises its version', async (t) => {
    const { store } = await openStore(t)
    const share = inboundShareRecord({ status: 'complete' })
    await store.inboundShares.insert(share)
    t.equal(await store.inboundShares.getAppliedStateVersion(share.id), undefined, 'no update applied yet')
    const state = { inboundId: share.id, revision: 2, case: share.manifest.case, evidence: share.manifest.evidence, updatedAt: T0 }
    await store.inboundShares.setAppliedState(state)
    const first = await store.inboundShares.getAppliedStateVersion(share.id)
    t.equal(first?.revision, 2)
    // The same revision and second again (a second selection applied at once) is still a new version.
    await store.inboundShares.setAppliedState({ ...state, evidence: [] })
    const second = await store.inboundShares.getAppliedStateVersion(share.id)
    t.equal(second?.revision, 2)
    t.ok(second!.version > first!.version)
    t.same((await store.inboundShares.getAppliedState(share.id))?.evidence, [])
    await store.inboundShares.setAppliedState({ ...state, revision: 3 })
    const third = await store.inboundShares.getAppliedStateVersion(share.id)
    t.equal(third?.revision, 3)
    t.ok(third!.version > second!.version)
  })

  // spec: CW-SIG-012
  t.test('rememberJti records (iss, jti) once and returns the first digest after', async (t) => {
    const { store } = await openStore(t)
    t.equal(await store.replay.remember('hill-pd', 'jti-1', fakeDigest('a'), T0 + 100), undefined)
    t.equal(await store.replay.remember('hill-pd', 'jti-1', fakeDigest('a'), T0 + 100), fakeDigest('a'), 'same object again')
    t.equal(await store.replay.remember('hill-pd', 'jti-1', fakeDigest('b'), T0 + 200), fakeDigest('a'), 'another object, same jti')
    t.equal(await store.replay.remember('lake-pd', 'jti-1', fakeDigest('c'), T0 + 100), undefined, 'jti is per issuer')
    t.equal(await store.replay.remember('hill-pd', 'jti-2', fakeDigest('d'), T0 + 300), undefined)

    await store.replay.forgetExpired(T0 + 100)
    t.equal(await store.replay.remember('hill-pd', 'jti-2', fakeDigest('e'), T0 + 300), fakeDigest('d'), 'unexpired ones are kept')
    t.equal(await store.replay.remember('hill-pd', 'jti-1', fakeDigest('f'), T0 + 400), undefined, 'expired ones are forgotten')
  })

  t.test('rememberJti survives reopening', async (t) => {
    const { store: first, reopen } = await harness.open(t)
    await first.replay.remember('hill-pd', 'jti-1', fakeDigest('a'), T0 + 100)
    await first.close()
    const second = await reopen()
    t.equal(await second.replay.remember('hill-pd', 'jti-1', fakeDigest('b'), T0 + 100), fakeDigest('a'))
  })

  t.test('jobs: enqueue ignores a live duplicate', async (t) => {
    const { store } = await openStore(t)
    await store.jobs.enqueue(jobRecord())
    await store.jobs.enqueue(jobRecord({ id: 'job-2', payload: { revision: 2 } }))
    t.same(
      (await store.jobs.list()).map((j) => j.id),
      ['job-1'],
      'pending duplicate ignored',
    )
    await store.jobs.claimDue(T0, 10, claim())
    await store.jobs.enqueue(jobRecord({ id: 'job-3', createdAt: T0 + 1 }))
    t.same(
      (await store.jobs.list()).map((j) => [j.id, j.state]),
      [
        ['job-1', 'running'],
        ['job-3', 'pending'],
      ],
      'a job enqueued while its twin runs waits',
    )
    t.same(await store.jobs.claimDue(T0 + 1, 10, claim()), [], 'and is not claimed while the twin runs')
    await store.jobs.complete('job-1', T0 + 1, OWNER)
    t.same(
      (await store.jobs.claimDue(T0 + 1, 10, claim())).map((j) => j.id),
      ['job-3'],
      'claimed once the twin is done',
    )
    await store.jobs.enqueue(jobRecord({ id: 'job-4', createdAt: T0 + 2 }))
    await store.jobs.fail('job-3', 'boom', T0 + 5, false, T0 + 2, OWNER)
    await store.jobs.enqueue(jobRecord({ id: 'job-5', kind: 'receipt', createdAt: T0 + 3 }))
    t.same(
      (await store.jobs.list()).map((j) => [j.id, j.state]),
      [
        ['job-1', 'done'],
        ['job-3', 'done'],
        ['job-4', 'pending'],
        ['job-5', 'pending'],
      ],
      'a failed job with a pending successor is superseded by it',
    )
    await t.rejects(store.jobs.enqueue(jobRecord({ id: 'job-6', ref: 'other', state: 'sleeping' as 'pending' })), TypeError)
  })

  t.test('jobs: claim due ones in runAt order, count the attempt, complete', async (t) => {
    const { store } = await openStore(t)
    await store.jobs.enqueue(jobRecord({ id: 'late', ref: 'a', runAt: T0 + 30 }))
    await store.jobs.enqueue(jobRecord({ id: 'second', ref: 'b', runAt: T0 + 10 }))
    await store.jobs.enqueue(jobRecord({ id: 'first', ref: 'c', runAt: T0 }))
    await store.jobs.enqueue(jobRecord({ id: 'other-kind', kind: 'notify', ref: 'd', runAt: T0 }))

    t.same(await store.jobs.claimDue(T0 - 1, 10, claim()), [], 'nothing due yet')
    const claimed = await store.jobs.claimDue(T0 + 10, 10, claim(['deliver']))
    t.same(
      claimed.map((j) => [j.id, j.state, j.attempts, j.updatedAt]),
      [
        ['first', 'running', 1, T0 + 10],
        ['second', 'running', 1, T0 + 10],
      ],
    )
    t.same(await store.jobs.claimDue(T0 + 10, 10, claim(['deliver'])), [], 'a claimed job is not claimed twice')
    t.same(
      (await store.jobs.claimDue(T0 + 60, 1, claim())).map((j) => j.id),
      ['other-kind'],
      'limit, oldest runAt first',
    )
    t.same(
      (await store.jobs.claimDue(T0 + 60, 1, claim())).map((j) => j.id),
      ['late'],
    )
    t.same(await store.jobs.claimDue(T0 + 60, 5, claim([])), [])

    await store.jobs.complete('first', T0 + 70, OWNER)
    const first = (await store.jobs.list('c'))[0]!
    t.same([first.state, first.updatedAt, first.payload], ['done', T0 + 70, { revision: 1 }])
    await t.rejects(store.jobs.complete('nope', T0, OWNER), { code: 'CW_ERR_NOT_FOUND' })
  })

  t.test('jobs: fail to pending with backoff, or dead; reset running after a crash', async (t) => {
    const { store } = await openStore(t)
    await store.jobs.enqueue(jobRecord({ id: 'a', ref: 'a' }))
    await store.jobs.enqueue(jobRecord({ id: 'b', ref: 'b' }))
    await store.jobs.enqueue(jobRecord({ id: 'c', ref: 'c' }))
    await store.jobs.claimDue(T0, 10, claim())

    await store.jobs.fail('a', 'CW_ERR_UNAVAILABLE: peer down', T0 + 30, false, T0 + 1, OWNER)
    const [a] = await store.jobs.list('a')
    t.same([a!.state, a!.runAt, a!.lastError, a!.attempts, a!.updatedAt], ['pending', T0 + 30, 'CW_ERR_UNAVAILABLE: peer down', 1, T0 + 1])
    t.same(await store.jobs.claimDue(T0 + 29, 10, claim()), [], 'not before its runAt')
    t.same(
      (await store.jobs.claimDue(T0 + 30, 10, claim())).map((j) => [j.id, j.attempts]),
      [['a', 2]],
    )

    await store.jobs.fail('b', 'bad manifest', T0 + 1, true, T0 + 1, OWNER)
    t.equal((await store.jobs.list('b'))[0]!.state, 'dead')
    await store.jobs.enqueue(jobRecord({ id: 'b2', ref: 'b' }))
    t.equal((await store.jobs.list('b')).length, 2, 'a dead job does not block a new one')
    await t.rejects(store.jobs.fail('nope', 'x', T0, false, T0, OWNER), { code: 'CW_ERR_NOT_FOUND' })

    t.equal(await store.jobs.resetRunning(T0 + 50, OWNER), 2, 'a and c were running')
    t.same(
      (await store.jobs.list()).filter((j) => j.state === 'running'),
      [],
    )
    t.equal(await store.jobs.resetRunning(T0 + 50, OWNER), 0)
    t.same((await store.jobs.claimDue(T0 + 50, 10, claim())).map((j) => j.id).sort(), ['a', 'b2', 'c'])
  })

  // spec: CW-LOC-050, CW-LOC-051, CW-LOC-052
  t.test('jobs: a claim is a lease; once it runs out another replica takes the job over, and the first can record nothing', async (t) => {
    const { store } = await openStore(t)
    const [A, B] = ['replica-a', 'replica-b']
    await store.jobs.enqueue(jobRecord({ id: 'a', ref: 'a' }))
    await store.jobs.enqueue(jobRecord({ id: 'b', ref: 'b' }))
    const byA = await store.jobs.claimDue(T0, 10, { owner: A, leaseUntil: T0 + 30 })
    t.same(
      byA.map((j) => [j.id, j.claimedBy, j.leaseUntil]),
      [
        ['a', A, T0 + 30],
        ['b', A, T0 + 30],
      ],
    )
    t.same(await store.jobs.claimDue(T0 + 30, 10, { owner: B, leaseUntil: T0 + 60 }), [], 'a lease holds until its last second')
    t.same(await store.jobs.renewLeases(A, ['a'], T0 + 90), [], 'A renews what it holds')
    t.same(await store.jobs.renewLeases(B, ['b'], T0 + 90), ['b'], 'B cannot renew what A holds')

    const byB = await store.jobs.claimDue(T0 + 31, 10, { owner: B, leaseUntil: T0 + 61 })
    t.same(
      byB.map((j) => [j.id, j.claimedBy, j.attempts]),
      [['b', B, 2]],
      'the job whose lease ran out is taken over, counting an attempt; the renewed one is not',
    )
    await t.rejects(store.jobs.complete('b', T0 + 32, A), { code: 'CW_ERR_CONFLICT' }, 'A lost b: its completion is refused')
    await t.rejects(store.jobs.fail('b', 'late', T0 + 40, false, T0 + 32, A), { code: 'CW_ERR_CONFLICT' })
    t.same(await store.jobs.renewLeases(A, ['a', 'b'], T0 + 120), ['b'], 'and A learns it lost b at its next renewal')
    t.match((await store.jobs.list('b'))[0], { state: 'running', claimedBy: B, lastError: null }, 'nothing A tried changed b')

    // B dies holding b while a newer job for b waits: the newer one supersedes it.
    await store.jobs.enqueue(jobRecord({ id: 'b-next', ref: 'b', createdAt: T0 + 40 }))
    t.same(await store.jobs.claimDue(T0 + 61, 10, { owner: A, leaseUntil: T0 + 91 }), [], 'not while B holds b')
    t.same(
      (await store.jobs.claimDue(T0 + 62, 10, { owner: A, leaseUntil: T0 + 92 })).map((j) => j.id),
      ['b-next'],
    )
    t.match((await store.jobs.list('b'))[0], { id: 'b', state: 'done', lastError: 'superseded by a newer job', claimedBy: null })

    t.equal(await store.jobs.resetRunning(T0 + 70, B), 0, "a restarting replica puts back only its own jobs, not A's")
    t.equal(await store.jobs.resetRunning(T0 + 70, A), 2, 'A restarting puts back a and b-next')
    t.match(await store.jobs.list(), [{ id: 'a', state: 'pending', claimedBy: null, leaseUntil: null }, { id: 'b' }, { id: 'b-next', state: 'pending' }])
  })

  t.test('transaction commits all or nothing', async (t) => {
    const { store } = await openStore(t)
    const value = await store.transaction(async (tx) => {
      await tx.cases.insert(caseRecord({ id: 'a' }))
      await tx.cases.insert(caseRecord({ id: 'b' }))
      t.same(
        (await tx.cases.list()).map((c) => c.id),
        ['a', 'b'],
        'reads see the transaction own writes',
      )
      return 42
    })
    t.equal(value, 42)
    t.same(
      (await store.cases.list()).map((c) => c.id),
      ['a', 'b'],
    )

    await t.rejects(
      store.transaction(async (tx) => {
        await tx.cases.insert(caseRecord({ id: 'c' }))
        await tx.replay.remember('hill-pd', 'jti-1', fakeDigest('x'), T0)
        throw new Error('boom')
      }),
      { message: 'boom' },
    )
    t.equal(await store.cases.get('c'), undefined, 'rolled back')
    t.equal(await store.replay.remember('hill-pd', 'jti-1', fakeDigest('y'), T0), undefined, 'rolled back')

    await t.rejects(
      store.transaction(async (tx) => {
        await tx.cases.insert(caseRecord({ id: 'd' }))
        await tx.cases.insert(caseRecord({ id: 'a' }))
      }),
      { code: 'CW_ERR_CONFLICT' },
    )
    t.equal(await store.cases.get('d'), undefined, 'a failing statement rolls back the whole transaction')
  })

  t.test('a nested transaction is a savepoint', async (t) => {
    const { store } = await openStore(t)
    await store.transaction(async (tx) => {
      await tx.cases.insert(caseRecord({ id: 'outer' }))
      await t.rejects(
        tx.transaction(async (inner) => {
          await inner.cases.insert(caseRecord({ id: 'inner' }))
          throw new Error('inner fails')
        }),
      )
      await tx.transaction(async (inner) => inner.cases.insert(caseRecord({ id: 'inner-ok' })))
    })
    t.same(
      (await store.cases.list()).map((c) => c.id),
      ['outer', 'inner-ok'],
    )
  })

  t.test('the transaction store cannot be used after the transaction', async (t) => {
    const { store } = await openStore(t)
    let leaked: UnitOfWork | undefined
    await store.transaction(async (tx) => {
      leaked = tx
    })
    await t.rejects(leaked!.cases.insert(caseRecord()), { message: /after its transaction ended/ })
    t.same(await store.cases.list(), [])
  })

  t.test('calling the outer store inside its transaction fails instead of deadlocking', async (t) => {
    const { store } = await openStore(t)
    await t.rejects(
      store.transaction(async (tx) => {
        await tx.cases.insert(caseRecord({ id: 'a' }))
        await store.cases.insert(caseRecord({ id: 'b' }))
      }),
      { message: /inside its own transaction/ },
    )
    t.same(await store.cases.list(), [], 'rolled back')
    let later: Promise<unknown> | undefined
    await store.transaction(async () => {
      later = new Promise((resolve) => setTimeout(resolve, 20)).then(() => store.cases.insert(caseRecord({ id: 'c' })))
    })
    await later
    t.ok(await store.cases.get('c'), 'a callback that runs after the transaction may use the store')
  })

  t.test('a closed store refuses calls; bad arguments are TypeErrors', async (t) => {
    const { store } = await openStore(t)
    const pending = store.cases.insert(caseRecord())
    await store.close()
    await pending
    await t.rejects(store.cases.list(), { message: /closed/ })
    await store.close()

    const { store: open } = await openStore(t)
    await t.rejects(open.cases.insert(caseRecord({ createdAt: 1.5 })), TypeError, 'timestamps are integer seconds')
    await t.rejects(open.jobs.claimDue(T0, -1, claim()), TypeError)
    await t.rejects(open.jobs.claimDue(T0, 1, { owner: '', leaseUntil: T0 }), TypeError, 'a claim names its replica')
    await t.rejects(open.transaction(null as unknown as () => Promise<void>), TypeError)
  })

  t.test('a caller after a transaction sees its writes; one after a rollback never does', async (t) => {
    const { store } = await openStore(t)
    await store.transaction(async (tx) => {
      await tx.cases.insert(caseRecord({ id: 'a' }))
      await tx.cases.insert(caseRecord({ id: 'b' }))
    })
    t.same(
      (await store.cases.list()).map((c) => c.id),
      ['a', 'b'],
    )
    await t.rejects(
      store.transaction(async (tx) => {
        await tx.cases.insert(caseRecord({ id: 'd' }))
        throw new Error('abort')
      }),
    )
    t.equal(await store.cases.get('d'), undefined)
  })

  t.test('a failed statement inside a transaction leaves it usable, as its caller may go on', async (t) => {
    const { store } = await openStore(t)
    await store.cases.insert(caseRecord({ id: 'a' }))
    await store.transaction(async (tx) => {
      await t.rejects(tx.cases.insert(caseRecord({ id: 'a' })), { code: 'CW_ERR_CONFLICT' })
      await tx.cases.insert(caseRecord({ id: 'b' }))
    })
    t.same(
      (await store.cases.list()).map((c) => c.id),
      ['a', 'b'],
    )
  })
}
