/**
 * Revisions over real TLS (SPEC.md §10 "Revisions"): live shares make revisions on the sender,
 * the receiver keeps them pending apart from what it shows, presents the differences and
 * applies what its users select, when the policy permits; out-of-order, duplicate and skipped
 * revisions; an imported case receives the applied updates.
 */
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import type { SharingPolicy } from '#protocol'
import { refusalOf } from '../support/refusals.ts'
import { createCase, updateCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { getExternalCase } from '../../src/receiving/external_cases.ts'
import { importExternalCase } from '../../src/receiving/import_case.ts'
import { createShare, getShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { addRecipients, updateShare } from '../../src/sending/revisions.ts'
import { applyUpdates, listUpdates } from '../../src/receiving/updates.ts'
import { userActor } from '../../src/events.ts'
import { clientFor, startTestNode, type TestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { evidence, signedManifest, type Evidence } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]
const reader = { userId: 'reader', role: 'member' as const, groups: [] }
const alice = userActor('alice')

async function pair(t: Test, policy: SharingPolicy = testPolicy(FEDERATION)) {
  const [sender, receiver] = await Promise.all([startTestNode(t, alpha, { runJobs: true }), startTestNode(t, bravo, { runJobs: true })])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  const created = await createPolicy(sender.ctx, policy)
  await assignPolicy(sender.ctx, 'bravo', created.id)
  const theCase = await createCase(sender.ctx, { fields: { title: 'Burglary at 12 Elm St', summary: 'Back door forced' } })
  return { sender, receiver, caseId: theCase.id }
}

function upload(node: TestNode, caseId: string, name: string, bytes: Buffer) {
  return uploadEvidence(node.ctx, caseId, { name, category: 'photo', mediaType: 'image/jpeg' }, Readable.from([bytes]))
}

function delivered(sender: TestNode, shareId: string, revision: number) {
  return waitFor(
    `share ${shareId} revision ${revision} delivered`,
    async () => {
      const share = await sender.store.outboundShares.get(shareId)
      return share?.revision === revision && share.status === 'delivered' ? share : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
}

function verified(receiver: TestNode, shareId: string, revision: number) {
  return waitFor(
    `revision ${revision} verified`,
    async () => {
      const inbound = await receiver.store.inboundShares.find('alpha', shareId)
      if (inbound === undefined) return undefined
      const row = await receiver.store.inboundShares.getRevision(inbound.id, revision)
      return row?.transfer === 'verified' ? { inbound, row } : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
}

// spec: CW-REVN-001, CW-MAN-001, CW-REVN-003, CW-REVN-005, CW-REVN-006
t.test('a live case share makes revisions on upload and field change; the receiver keeps them pending until applied', async (t) => {
  const { sender, receiver, caseId } = await pair(t)
  await upload(sender, caseId, 'door.jpg', randomBytes(1000))
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'case', createdBy: 'alice' })
  await delivered(sender, share.id, 1)
  const inbound = (await receiver.store.inboundShares.find('alpha', share.id))!
  const first = await sender.store.outboundShares.getRevision(share.id, 1)

  const window = await upload(sender, caseId, 'window.jpg', randomBytes(70_000))
  const afterUpload = await sender.store.outboundShares.get(share.id)
  t.equal(afterUpload?.revision, 2, 'evidence upload made revision 2')
  t.equal(afterUpload?.status, 'processing')
  const second = (await sender.store.outboundShares.getRevision(share.id, 2))!
  const payload = JSON.parse(Buffer.from(second.manifestJws.split('.')[1]!, 'base64url').toString())
  t.equal(payload.share.previous, first!.manifestDigest, 'previous = digest of revision 1')
  t.equal(payload.evidence.length, 2)
  t.equal(JSON.parse(Buffer.from(payload.grants[0].split('.')[1], 'base64url').toString()).revision, 2, 'a new origin grant')
  // "delivered" = received and verified, not applied.
  await delivered(sender, share.id, 2)
  await verified(receiver, share.id, 2)

  await updateCase(sender.ctx, caseId, { fields: { title: 'Burglary at 12 Elm Street' } })
  t.equal((await sender.store.outboundShares.get(share.id))?.revision, 3, 'a field change made revision 3')
  await updateCase(sender.ctx, caseId, { fields: { notShared: 'x' } })
  t.equal((await sender.store.outboundShares.get(share.id))?.revision, 3, 'a field the policy does not share makes no revision')
  await delivered(sender, share.id, 3)
  await verified(receiver, share.id, 3)

  const shown = await getExternalCase(receiver.ctx, reader, inbound.id)
  t.equal(shown.revision, 1, 'the external case still shows revision 1')
  t.equal(shown.evidence?.length, 1)
  t.equal(shown.case?.fields['title'], 'Burglary at 12 Elm St')

  const available = await listUpdates(receiver.ctx, reader, inbound.id)
  t.equal(available.appliedRevision, 1)
  t.same(
    available.updates.map((update) => update.revision),
    [2, 3],
  )
  const r3 = available.updates[1]!
  t.same(r3.case, [{ updateId: 'field:title', field: 'title', old: 'Burglary at 12 Elm St', new: 'Burglary at 12 Elm Street' }])
  t.match(r3.evidence, [{ updateId: `item:${window.id}`, change: 'added', itemId: window.id, name: 'window.jpg', size: 70_000, digest: window.digest }])

  // Apply one update but not the other.
  const applied = await applyUpdates(receiver.ctx, reader, inbound.id, { revision: 3, updateIds: ['field:title'] })
  t.match(applied, { revision: 3, applied: ['field:title'], remaining: 1 })
  const after = await getExternalCase(receiver.ctx, reader, inbound.id)
  t.equal(after.case?.fields['title'], 'Burglary at 12 Elm Street')
  t.equal(after.evidence?.length, 1, 'the item was not applied')
  t.equal((await receiver.store.inboundShares.getRevision(inbound.id, 2))?.status, 'superseded')
  const left = await listUpdates(receiver.ctx, reader, inbound.id)
  t.same(
    left.updates.map((update) => [update.revision, update.case.length, update.evidence.length]),
    [[3, 0, 1]],
  )

  await applyUpdates(receiver.ctx, reader, inbound.id, { revision: 3 })
  t.equal((await getExternalCase(receiver.ctx, reader, inbound.id)).evidence?.length, 2)
  t.equal((await receiver.store.inboundShares.getRevision(inbound.id, 3))?.status, 'applied')
  t.same((await listUpdates(receiver.ctx, reader, inbound.id)).updates, [])
})

// spec: CW-REVN-001
t.test('an evidence share is not live: /update makes a revision, recipients are added by a revision', async (t) => {
  const { sender, caseId } = await pair(t)
  const a = await upload(sender, caseId, 'a.jpg', randomBytes(100))
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'evidence', evidenceIds: [a.id], createdBy: 'alice' })
  const b = await upload(sender, caseId, 'b.jpg', randomBytes(100))
  await updateCase(sender.ctx, caseId, { fields: { title: 'Changed' } })
  t.equal((await getShare(sender.ctx, share.id)).revision, 1, 'no revision from uploads or field changes')

  const updated = await updateShare(sender.ctx, share.id, { evidenceIds: [b.id] }, alice)
  t.match(updated, { revision: 2, status: 'processing', evidenceIds: [a.id, b.id] })
  await t.rejects(updateShare(sender.ctx, share.id, { evidenceIds: ['nope'] }, alice), { code: 'CW_ERR_BAD_REQUEST' })

  const more = await addRecipients(sender.ctx, share.id, { recipients: [{ kind: 'user', id: 'dana' }] }, alice)
  t.equal(more.revision, 3)
  t.same(more.recipients, [
    { kind: 'agency', id: 'bravo' },
    { kind: 'user', id: 'dana' },
  ])
  const third = (await sender.store.outboundShares.getRevision(share.id, 3))!
  const payload = JSON.parse(Buffer.from(third.manifestJws.split('.')[1]!, 'base64url').toString())
  t.same(payload.share.recipients, more.recipients, 'the revision names the added recipient')
  await t.rejects(addRecipients(sender.ctx, share.id, { recipients: [{ kind: 'agency', id: 'charlie' }] }, alice), { code: 'CW_ERR_BAD_REQUEST' })
})

async function receiverOnly(t: Test) {
  const node = await startTestNode(t, alpha)
  await node.addPartner(bravo)
  return { node, fromBravo: clientFor(t, node, bravo), alphaAsPartner: node.asPartner() }
}

// spec: CW-FED-004, CW-REVN-002, CW-REVN-003
t.test('later revisions: in order pending, the same again idempotent, skipped or out of order refused', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiverOnly(t)
  const shareId = 'share-order'
  const r1 = await signedManifest(bravo, 'alpha', { shareId })
  t.equal((await fromBravo.offer(alphaAsPartner, r1.jws)).status, 202)
  const inbound = (await node.store.inboundShares.find('bravo', shareId))!
  await node.store.inboundShares.update({ ...inbound, status: 'complete', completedAt: inbound.receivedAt })

  const r2 = await signedManifest(bravo, 'alpha', { shareId, revision: 2, previous: r1.digest, fields: { title: 'two' } })
  const r3 = await signedManifest(bravo, 'alpha', { shareId, revision: 3, previous: r2.digest, fields: { title: 'three' } })
  const r4 = await signedManifest(bravo, 'alpha', { shareId, revision: 4, previous: r3.digest })
  // Skipping revision 2: refused, so the sender offers in order.
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, r3.jws)), { code: 'CW_ERR_STALE_REVISION', status: 409 })
  const accepted = await fromBravo.offer(alphaAsPartner, r2.jws)
  t.match(accepted, { status: 202, answer: { revision: 2, status: 'receiving', needed: [] } })
  t.match(await node.store.inboundShares.find('bravo', shareId), { revision: 1, manifestDigest: r1.digest }, 'the applied revision stays')
  t.match(await node.store.inboundShares.getRevision(inbound.id, 2), { status: 'pending', manifestDigest: r2.digest })
  t.equal((await fromBravo.offer(alphaAsPartner, r2.jws)).status, 200, 'revision 2 twice: idempotent')
  t.equal((await fromBravo.offer(alphaAsPartner, r1.jws)).status, 200, 'revision 1 again: idempotent')
  // Out of order: 4 before 3.
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, r4.jws)), { code: 'CW_ERR_STALE_REVISION' })
  // A revision 3 whose previous is revision 1.
  const wrong = await signedManifest(bravo, 'alpha', { shareId, revision: 3, previous: r1.digest })
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, wrong.jws)), { code: 'CW_ERR_STALE_REVISION' })
  t.equal((await fromBravo.offer(alphaAsPartner, r3.jws)).status, 202, 'revision 3 in order')
  t.equal((await fromBravo.offer(alphaAsPartner, r4.jws)).status, 202, 'revision 4 in order')
  t.same(
    (await node.store.inboundShares.listRevisions(inbound.id)).map((row) => [row.revision, row.status]),
    [
      [2, 'pending'],
      [3, 'pending'],
      [4, 'pending'],
    ],
  )
})

/** A receiver (jobs not running) with the chunks of `items` already in its blob store: nothing to pull. */
async function offline(t: Test) {
  const receiver = await receiverOnly(t)
  const put = async (...items: Evidence[]) => {
    for (const item of items) for (const [digest, bytes] of item.chunks) await receiver.node.blobs.put(digest, bytes)
  }
  return { ...receiver, put }
}

// spec: CW-REVN-006, CW-REVN-007
t.test('differences: field old/new, item added/removed/modified; an imported case receives what is applied; refused without applyUpdates', async (t) => {
  const { node, fromBravo, alphaAsPartner, put } = await offline(t)
  const a = await evidence('a', 2000)
  const c = await evidence('c', 300)
  const a2 = await evidence('a', 2500, { name: 'a-v2.jpg' })
  const d = await evidence('d', 400)
  await put(a, c, a2, d)
  const shareId = 'share-diff'
  const r1 = await signedManifest(bravo, 'alpha', { shareId, items: [a.item, c.item] })
  await fromBravo.offer(alphaAsPartner, r1.jws)
  const inbound = (await node.store.inboundShares.find('bravo', shareId))!
  await node.store.inboundShares.update({ ...inbound, status: 'complete', completedAt: inbound.receivedAt })
  const imported = await importExternalCase(node.ctx, reader, inbound.id)

  const r2 = await signedManifest(bravo, 'alpha', {
    shareId,
    revision: 2,
    previous: r1.digest,
    items: [a2.item, d.item],
    fields: { title: 'Renamed', summary: 'New' },
  })
  await fromBravo.offer(alphaAsPartner, r2.jws)
  // What the fetch job records once every item matched its digest (jobs do not run here).
  await node.ctx.store.inboundShares.updateRevision({
    ...(await node.store.inboundShares.getRevision(inbound.id, 2))!,
    transfer: 'verified',
    verifiedAt: inbound.receivedAt,
  })

  const { updates } = await listUpdates(node.ctx, reader, inbound.id)
  t.same(updates[0]!.case, [
    { updateId: 'field:title', field: 'title', old: 'Burglary at 12 Elm St', new: 'Renamed' },
    { updateId: 'field:summary', field: 'summary', old: null, new: 'New' },
  ])
  t.same(updates[0]!.evidence, [
    {
      updateId: 'item:a',
      change: 'modified',
      itemId: 'a',
      name: 'a-v2.jpg',
      size: 2500,
      digest: a2.item.digest,
      previous: { name: a.item.name, size: 2000, digest: a.item.digest },
    },
    { updateId: 'item:d', change: 'added', itemId: 'd', name: d.item.name, size: 400, digest: d.item.digest },
    { updateId: 'item:c', change: 'removed', itemId: 'c', name: c.item.name, size: 300, digest: c.item.digest },
  ])

  const result = await applyUpdates(node.ctx, reader, inbound.id, { revision: 2, updateIds: ['item:a', 'item:c', 'field:title'] })
  t.equal(result.importedCaseId, imported.case.id)
  const shown = await getExternalCase(node.ctx, reader, inbound.id)
  t.same(
    shown.evidence?.map((item) => [item.id, item.digest]),
    [['a', a2.item.digest]],
  )
  t.same(shown.case?.fields, { title: 'Renamed' })
  const local = await node.store.cases.listEvidence(imported.case.id)
  t.same(
    local.map((item) => [item.name, item.digest]),
    [['a-v2.jpg', a2.item.digest]],
    'the imported case got the modified item and lost the removed one',
  )
  t.same((await node.store.cases.get(imported.case.id))?.fields, { title: 'Renamed' })
  await t.rejects(applyUpdates(node.ctx, reader, inbound.id, { revision: 2, updateIds: ['item:zzz'] }), { code: 'CW_ERR_BAD_REQUEST' })
  await applyUpdates(node.ctx, reader, inbound.id, { revision: 2, updateIds: ['item:d'] })
  t.equal((await node.store.cases.listEvidence(imported.case.id)).length, 2, 'the added item reached the imported case')

  // A share whose policy does not permit applyUpdates.
  const strict: SharingPolicy = { ...testPolicy(FEDERATION), id: 'strict', permissions: { ...testPolicy(FEDERATION).permissions, applyUpdates: false } }
  const s1 = await signedManifest(bravo, 'alpha', { shareId: 'share-strict', policy: strict })
  await fromBravo.offer(alphaAsPartner, s1.jws)
  const other = (await node.store.inboundShares.find('bravo', 'share-strict'))!
  await node.store.inboundShares.update({ ...other, status: 'complete', completedAt: other.receivedAt })
  const s2 = await signedManifest(bravo, 'alpha', { shareId: 'share-strict', revision: 2, previous: s1.digest, policy: strict, fields: { title: 'x' } })
  await fromBravo.offer(alphaAsPartner, s2.jws)
  await t.rejects(applyUpdates(node.ctx, reader, other.id, { revision: 2 }), { code: 'CW_ERR_ACTION_NOT_ALLOWED' })
  t.equal((await getExternalCase(node.ctx, reader, other.id)).case?.fields['title'], 'Burglary at 12 Elm St')
})

// spec: CW-REVN-005
t.test('a pending revision still receiving cannot be applied yet', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiverOnly(t)
  const shareId = 'share-receiving'
  const r1 = await signedManifest(bravo, 'alpha', { shareId })
  await fromBravo.offer(alphaAsPartner, r1.jws)
  const inbound = (await node.store.inboundShares.find('bravo', shareId))!
  await node.store.inboundShares.update({ ...inbound, status: 'complete', completedAt: inbound.receivedAt })
  const big = await evidence('big', 100_000)
  const r2 = await signedManifest(bravo, 'alpha', { shareId, revision: 2, previous: r1.digest, items: [big.item] })
  const answer = await fromBravo.offer(alphaAsPartner, r2.jws)
  t.same(answer.answer.needed, big.item.chunks, 'needed is computed for the pending revision')
  await t.rejects(applyUpdates(node.ctx, reader, inbound.id, { revision: 2 }), { code: 'CW_ERR_CONFLICT' })
})
