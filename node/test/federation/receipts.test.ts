/**
 * EP-3 `POST /federation/v1/receipts` (SPEC.md CW-REC-003, CW-FED-009): the sender records a
 * receipt only from the share's partner, for a manifest it sent, and then moves the share.
 */
import t from 'tap'
import { refusalOf } from '../support/refusals.ts'
import { clientFor, startTestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { rawRequest } from '../support/mtls.ts'
import { evidence, signedManifest, signedReceipt, type SignedManifest } from '../../../testkit/fixtures/manifests.ts'
import { storeOutbound } from '../support/outbound.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

const node = await startTestNode(t, alpha)
await node.addPartner(bravo)
await node.addPartner(charlie)
const fromBravo = clientFor(t, node, bravo)
const fromCharlie = clientFor(t, node, charlie)
const alphaAsPartner = node.asPartner()

/** A share alpha sent to bravo (revision 1, still processing). */
async function sentShare(): Promise<SignedManifest> {
  const photo = await evidence('ev-photo', 1000)
  const signed = await signedManifest(alpha, 'bravo', { items: [photo.item] })
  await storeOutbound(node.store, node.blobs, signed, [photo])
  return signed
}

async function stateOf(signed: SignedManifest) {
  const share = await node.store.outboundShares.get(signed.manifest.share.id)
  const revision = await node.store.outboundShares.getRevision(signed.manifest.share.id, 1)
  return { status: share?.status, statusCode: share?.statusCode, statusDetail: share?.statusDetail, receiptJws: revision?.receiptJws }
}

// spec: CW-FED-009, CW-REC-003, CW-FED-008
t.test('a delivered receipt from the partner marks the share delivered; the same receipt again changes nothing', async (t) => {
  const signed = await sentShare()
  const receipt = await signedReceipt(bravo, signed)
  t.same(await fromBravo.sendReceipt(alphaAsPartner, receipt), { share: signed.manifest.share.id, revision: 1, status: 'delivered' })
  const after = await stateOf(signed)
  t.same(after, { status: 'delivered', statusCode: null, statusDetail: null, receiptJws: receipt })

  t.same(await fromBravo.sendReceipt(alphaAsPartner, receipt), { share: signed.manifest.share.id, revision: 1, status: 'delivered' })
  t.same(await stateOf(signed), after)
  // A freshly signed receipt with the same outcome is also a retry.
  await fromBravo.sendReceipt(alphaAsPartner, await signedReceipt(bravo, signed))
  t.same(await stateOf(signed), after)
})

// spec: CW-FED-008, CW-REC-001
t.test('a rejected receipt marks the share rejected with its problem', async (t) => {
  const signed = await sentShare()
  const receipt = await signedReceipt(bravo, signed, {
    status: 'rejected',
    problem: { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', detail: 'evidence "ev-photo" does not match its digest' },
  })
  await fromBravo.sendReceipt(alphaAsPartner, receipt)
  t.same(await stateOf(signed), {
    status: 'rejected',
    statusCode: 'CW_ERR_CHUNK_DIGEST_MISMATCH',
    statusDetail: 'evidence "ev-photo" does not match its digest',
    receiptJws: receipt,
  })
  // Now a delivered receipt for the same revision conflicts.
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, await signedReceipt(bravo, signed))), { code: 'CW_ERR_CONFLICT', status: 409 })
})

// spec: CW-FED-009, CW-TLS-003
t.test("a receipt signed by charlie over bravo's connection is a peer mismatch", async (t) => {
  const signed = await sentShare()
  const receipt = await signedReceipt(charlie, signed)
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, receipt)), { code: 'CW_ERR_PEER_MISMATCH', status: 403 })
  t.same(await stateOf(signed), { status: 'processing', statusCode: null, statusDetail: null, receiptJws: null })
})

// spec: CW-FED-009
t.test('a receipt for a share sent to someone else, or to no one, is not found', async (t) => {
  const signed = await sentShare()
  const foreign = await signedReceipt(charlie, signed)
  t.match(await refusalOf(fromCharlie.sendReceipt(alphaAsPartner, foreign)), { code: 'CW_ERR_NOT_FOUND', status: 404 })
  const missing = await signedReceipt(bravo, signed, { share: 'no-such-share' })
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, missing)), { code: 'CW_ERR_NOT_FOUND', status: 404 })
  t.equal((await stateOf(signed)).status, 'processing')
})

// spec: CW-FED-009, CW-REC-003
t.test('a receipt for another manifest or an unknown revision is stale', async (t) => {
  const signed = await sentShare()
  const otherManifest = await signedReceipt(bravo, signed, { manifest: `sha256:${'0'.repeat(64)}` })
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, otherManifest)), { code: 'CW_ERR_STALE_REVISION', status: 409 })
  const unknownRevision = await signedReceipt(bravo, signed, { revision: 2 })
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, unknownRevision)), { code: 'CW_ERR_STALE_REVISION' })
  t.equal((await stateOf(signed)).status, 'processing')
})

// spec: CW-SIG-010, CW-REC-003
t.test('a receipt addressed to another organization is refused', async (t) => {
  const signed = await sentShare()
  const receipt = await signedReceipt(bravo, signed, { aud: 'charlie' })
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, receipt)), { code: 'CW_ERR_AUDIENCE_MISMATCH', status: 422 })
})

// spec: CW-SIG-012
t.test('another receipt reusing an accepted (iss, jti) is a replay', async (t) => {
  const first = await sentShare()
  const second = await sentShare()
  await fromBravo.sendReceipt(alphaAsPartner, await signedReceipt(bravo, first, { jti: 'receipt-jti-1' }))
  const replay = await signedReceipt(bravo, second, { jti: 'receipt-jti-1' })
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, replay)), { code: 'CW_ERR_REPLAY', status: 409 })
  t.equal((await stateOf(second)).status, 'processing')
})

// spec: CW-SIG-005
t.test('a manifest is not a receipt', async (t) => {
  const signed = await sentShare()
  const manifestFromBravo = await signedManifest(bravo, 'alpha')
  t.match(await refusalOf(fromBravo.sendReceipt(alphaAsPartner, manifestFromBravo.jws)), { code: 'CW_ERR_TYP_INVALID', status: 422 })
  t.equal((await stateOf(signed)).status, 'processing')
})

// spec: CW-FMT-005, CW-FED-011
t.test('a receipt body over 1 MiB is refused before it is parsed', async (t) => {
  const tls = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const response = await rawRequest(`${node.url}/federation/v1/receipts`, tls, {
    method: 'POST',
    headers: { 'content-type': 'application/jose' },
    body: Buffer.alloc(1024 * 1024 + 1, 0x41),
  })
  t.equal(response.status, 413)
  t.equal(response.json()['code'], 'CW_ERR_TOO_LARGE')
})

// spec: CW-REC-003
t.test('a receipt for an older revision is recorded on it without moving the share', async (t) => {
  const r1 = await sentShare()
  const shareId = r1.manifest.share.id
  const r2 = await signedManifest(alpha, 'bravo', { shareId, revision: 2, previous: r1.digest })
  await node.store.outboundShares.insertRevision(
    { shareId, revision: 2, manifestJws: r2.jws, manifestDigest: r2.digest, createdAt: r2.manifest.iat, receiptJws: null },
    [],
  )
  t.equal((await node.store.outboundShares.get(shareId))?.revision, 2)

  const late = await signedReceipt(bravo, r1)
  await fromBravo.sendReceipt(alphaAsPartner, late)
  t.equal((await node.store.outboundShares.getRevision(shareId, 1))?.receiptJws, late)
  t.equal((await node.store.outboundShares.get(shareId))?.status, 'processing', 'revision 2 is still in flight')

  await fromBravo.sendReceipt(alphaAsPartner, await signedReceipt(bravo, r2))
  t.equal((await node.store.outboundShares.get(shareId))?.status, 'delivered')
})
