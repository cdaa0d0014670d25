/**
 * EP-2 `GET /federation/v1/shares/{shareId}/chunks/{digest}` (SPEC.md CW-FED-005, CW-FED-006):
 * the sender serves a chunk only to the share's partner, while the share is live, whole or as
 * one byte range.
 */
import t from 'tap'
import { digestBytes } from '#protocol'
import { selectRange } from '../../src/sending/serve_chunk.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { startTestNode } from '../support/federation_node.ts'
import { rawRequest, type RawResponse } from '../support/mtls.ts'
import { evidence, nowSeconds, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { storeOutbound } from '../support/outbound.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

// alpha sends; bravo and charlie are its partners; the share goes to bravo.
const node = await startTestNode(t, alpha)
await node.addPartner(bravo)
await node.addPartner(charlie)
const photo = await evidence('ev-photo', 100_000)
const [first, last] = [...photo.chunks.keys()] as [string, string]
const firstBytes = photo.chunks.get(first)!
const signed = await signedManifest(alpha, 'bravo', { items: [photo.item] })
const share = await storeOutbound(node.store, node.blobs, signed, [photo])

function get(org: TestOrg, shareId: string, digest: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const tls = { ca: alpha.caPem, cert: org.identity.tls.cert, key: org.identity.tls.key }
  return rawRequest(`${node.url}/federation/v1/shares/${encodeURIComponent(shareId)}/chunks/${encodeURIComponent(digest)}`, tls, { headers })
}

// spec: CW-FED-005, CW-FED-006
t.test("the share's partner gets the whole chunk", async (t) => {
  const response = await get(bravo, share.id, first)
  t.equal(response.status, 200)
  t.equal(response.headers['content-type'], 'application/octet-stream')
  t.equal(response.headers['content-length'], String(firstBytes.length))
  t.equal(response.headers['accept-ranges'], 'bytes')
  t.equal(digestBytes(response.body), first)
  const tail = await get(bravo, share.id, last)
  t.same(tail.body, photo.chunks.get(last))
})

// spec: CW-FED-005
t.test('anyone else gets 404, whether or not the share or the chunk exists', async (t) => {
  const answers = [
    await get(charlie, share.id, first), // another partner, real share and chunk
    await get(bravo, 'no-such-share', first),
    await get(bravo, share.id, digestBytes('not in this share')),
    await get(bravo, share.id, 'sha256:XYZ'),
  ]
  for (const response of answers) {
    t.equal(response.status, 404)
    t.equal(response.json()['code'], 'CW_ERR_NOT_FOUND')
  }
  t.equal(answers[0]!.json()['detail'], answers[2]!.json()['detail'], 'the same answer for a foreign share and a missing chunk')
})

// spec: CW-FED-006
t.test('a single range is served as 206 with Content-Range', async (t) => {
  const size = firstBytes.length
  const cases: Array<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=100-', 100, size - 1],
    ['bytes=-10', size - 10, size - 1],
    ['bytes=500-999999', 500, size - 1],
  ]
  for (const [range, start, end] of cases) {
    const response = await get(bravo, share.id, first, { range })
    t.equal(response.status, 206, range)
    t.equal(response.headers['content-range'], `bytes ${start}-${end}/${size}`, range)
    t.equal(response.headers['content-length'], String(end - start + 1), range)
    t.same(response.body, firstBytes.subarray(start, end + 1), range)
  }
})

// spec: CW-FED-006
t.test('a range that cannot be satisfied is 416 CW_ERR_RANGE_INVALID', async (t) => {
  const size = firstBytes.length
  for (const range of ['bytes=500-0', `bytes=${size}-`, 'bytes=0-1,5-9', 'bogus', 'bytes=0-x', 'bytes=-0', 'bytes=-']) {
    const response = await get(bravo, share.id, first, { range })
    t.equal(response.status, 416, range)
    t.equal(response.json()['code'], 'CW_ERR_RANGE_INVALID', range)
    t.equal(response.headers['content-range'], `bytes */${size}`, range)
  }
  // A unit other than bytes is ignored (RFC 9110 §14.2): the whole chunk.
  t.equal((await get(bravo, share.id, first, { range: 'items=0-1' })).status, 200)
})

// spec: CW-FED-006
t.test('selectRange', async (t) => {
  t.equal(selectRange(undefined, 10), null)
  t.same(selectRange('bytes=2-4', 10), { start: 2, end: 4 })
  t.same(selectRange('bytes=9-9', 10), { start: 9, end: 9 })
  t.same(selectRange('bytes=-20', 10), { start: 0, end: 9 })
  t.throws(() => selectRange('bytes=10-', 10), { code: 'CW_ERR_RANGE_INVALID', size: 10 })
  t.throws(() => selectRange('bytes=0-', 0), { code: 'CW_ERR_RANGE_INVALID' })
  t.throws(() => selectRange('bytes=99999999999999999999-', 10), { code: 'CW_ERR_RANGE_INVALID' })
})

// spec: CW-FED-005, CW-REV-002
t.test('a revoked share answers 410 CW_ERR_SHARE_REVOKED to its partner, 404 to others', async (t) => {
  const video = await evidence('ev-video', 70_000, { category: 'video' })
  const revoked = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [video.item] }), [video])
  const digest = [...video.chunks.keys()][0]!
  t.equal((await get(bravo, revoked.id, digest)).status, 200)
  await node.store.outboundShares.updateStatus(revoked.id, 'revoked', null, null, nowSeconds())

  const response = await get(bravo, revoked.id, digest)
  t.equal(response.status, 410)
  t.equal(response.json()['code'], 'CW_ERR_SHARE_REVOKED')
  t.equal((await get(charlie, revoked.id, digest)).status, 404)
})

// spec: CW-FED-005
t.test('an expired share answers 410 CW_ERR_SHARE_EXPIRED', async (t) => {
  const doc = await evidence('ev-doc', 1000, { category: 'document' })
  const expired = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [doc.item] }), [doc], {
    expiresAt: nowSeconds() - 1,
  })
  const response = await get(bravo, expired.id, [...doc.chunks.keys()][0]!)
  t.equal(response.status, 410)
  t.equal(response.json()['code'], 'CW_ERR_SHARE_EXPIRED')
})

// spec: CW-FED-005
t.test('a chunk in a revoked share and a live one: 410 through the revoked share, 200 through the live one', async (t) => {
  const again = await evidence('ev-again', photo.bytes)
  const second = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [again.item] }), [again])
  await node.store.outboundShares.updateStatus(second.id, 'revoked', null, null, nowSeconds())
  t.equal((await get(bravo, second.id, first)).status, 410)
  t.equal((await get(bravo, share.id, first)).status, 200)
})
