/**
 * EP-20 `POST /federation/v1/shares/{shareId}/chunk-batches` (SPEC.md CW-VER-007,
 * CW-BAT-001..003): the sender lists the feature on every answer and serves the chunks asked
 * for, whole and in request order, each authorized as EP-2 authorizes one; any digest EP-2 would
 * refuse, or a request over the bounds, refuses the whole batch with a problem document and no
 * chunk byte. A node with `federation.chunkBatches: false` lists nothing and has no such route.
 */
import t, { type Test } from 'tap'
import { CHUNK_BATCH_LIMITS, digestBytes, JOSE_MEDIA_TYPE } from '#protocol'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { startTestNode } from '../support/federation_node.ts'
import { rawRequest, type RawResponse } from '../support/mtls.ts'
import { evidence, nowSeconds, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { storeOutbound } from '../support/outbound.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

// alpha sends; bravo and charlie are its partners; the shares go to bravo.
const node = await startTestNode(t, alpha)
await node.addPartner(bravo)
await node.addPartner(charlie)
const photo = await evidence('ev-photo', 100_000)
const note = await evidence('ev-note', 1000, { category: 'document' })
const signed = await signedManifest(alpha, 'bravo', { items: [photo.item, note.item] })
const share = await storeOutbound(node.store, node.blobs, signed, [photo, note])
const chunks = new Map([...photo.chunks, ...note.chunks])
const digests = [...chunks.keys()]

function post(org: TestOrg, shareId: string, body: string | Buffer, contentType = 'application/json', url = node.url): Promise<RawResponse> {
  const tls = { ca: alpha.caPem, cert: org.identity.tls.cert, key: org.identity.tls.key }
  return rawRequest(`${url}/federation/v1/shares/${encodeURIComponent(shareId)}/chunk-batches`, tls, {
    method: 'POST',
    headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
    body,
  })
}

const batchOf = (list: readonly string[]) => JSON.stringify({ digests: list })

function expectProblem(t: Test, response: RawResponse, status: number, code: string, what: string): void {
  t.equal(response.status, status, what)
  t.equal(response.json()['code'], code, what)
  t.match(response.headers['content-type'], /^application\/problem\+json/, what)
}

// spec: CW-BAT-001, CW-BAT-003
t.test('the chunks asked for, whole, in request order, with their total length', async (t) => {
  const asked = [...digests].reverse()
  const response = await post(bravo, share.id, batchOf(asked))
  t.equal(response.status, 200)
  t.equal(response.headers['content-type'], 'application/octet-stream')
  const expected = Buffer.concat(asked.map((digest) => chunks.get(digest)!))
  t.equal(response.headers['content-length'], String(expected.length))
  t.ok(response.body.equals(expected), 'the bytes of each chunk, one after the other, nothing between')
})

// spec: CW-VER-007
t.test('every answer lists the chunk-batch feature, refusals included', async (t) => {
  const tls = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const health = await rawRequest(`${node.url}/federation/v1/healthz`, tls)
  t.equal(health.headers['caseway-features'], 'chunk-batch')
  const missing = await rawRequest(`${node.url}/federation/v1/shares/nope/chunks/${digests[0]}`, tls)
  t.equal(missing.status, 404)
  t.equal(missing.headers['caseway-features'], 'chunk-batch')
  t.equal((await post(bravo, share.id, '{')).headers['caseway-features'], 'chunk-batch')
})

// spec: CW-BAT-002, CW-FED-005
t.test('one digest EP-2 would refuse refuses the whole batch, before any chunk byte', async (t) => {
  const other = await evidence('ev-other', 2000, { category: 'document' })
  const otherShare = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [other.item] }), [other])
  const cases: Array<[TestOrg, string, string[], string]> = [
    [bravo, share.id, [digests[0]!, digestBytes('not in this share')], 'a digest the share does not list'],
    [bravo, share.id, [digests[0]!, [...other.chunks.keys()][0]!], "another share's digest"],
    [charlie, share.id, [digests[0]!], 'another partner'],
    [bravo, 'no-such-share', [digests[0]!], 'an unknown share'],
  ]
  const details = new Set<unknown>()
  for (const [org, shareId, list, what] of cases) {
    const response = await post(org, shareId, batchOf(list))
    expectProblem(t, response, 404, 'CW_ERR_NOT_FOUND', what)
    details.add(response.json()['detail'])
  }
  t.equal(details.size, 1, 'one answer whichever it is (CW-FED-005)')

  await node.store.outboundShares.updateStatus(otherShare.id, 'revoked', null, null, nowSeconds())
  expectProblem(t, await post(bravo, otherShare.id, batchOf([...other.chunks.keys()])), 410, 'CW_ERR_SHARE_REVOKED', 'a revoked share')
  expectProblem(t, await post(charlie, otherShare.id, batchOf([...other.chunks.keys()])), 404, 'CW_ERR_NOT_FOUND', "another partner's revoked share")
  const late = await evidence('ev-late', 1000, { category: 'document' })
  const expired = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [late.item] }), [late], {
    expiresAt: nowSeconds() - 1,
  })
  expectProblem(t, await post(bravo, expired.id, batchOf([...late.chunks.keys()])), 410, 'CW_ERR_SHARE_EXPIRED', 'an expired share')
})

// spec: CW-BAT-001, CW-FED-002, CW-FED-013
t.test('a body that is not the schema, not JSON, not application/json or too large is refused', async (t) => {
  const many = Array.from({ length: CHUNK_BATCH_LIMITS.maxChunks + 1 }, (_, n) => (n === 0 ? digests[0]! : digestBytes(String(n))))
  const bad: Array<[string, string]> = [
    [batchOf(many), 'over 1,024 digests'],
    [batchOf([]), 'no digest'],
    [batchOf([digests[0]!, digests[0]!]), 'a digest twice'],
    [batchOf(['sha256:XYZ']), 'a malformed digest'],
    [JSON.stringify({ digests: [digests[0]], extra: true }), 'an unknown member'],
    ['{"digests": [', 'not JSON'],
    ['[]', 'not an object'],
  ]
  for (const [body, what] of bad) expectProblem(t, await post(bravo, share.id, body), 400, 'CW_ERR_BAD_REQUEST', what)
  expectProblem(t, await post(bravo, share.id, batchOf([digests[0]!]), JOSE_MEDIA_TYPE), 415, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', 'application/jose')
  expectProblem(t, await post(bravo, share.id, batchOf([digests[0]!]), 'text/plain'), 415, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', 'text/plain')
  const padded = batchOf([digests[0]!]).replace('{', `{${' '.repeat(CHUNK_BATCH_LIMITS.bodyBytes)}`)
  expectProblem(t, await post(bravo, share.id, padded), 413, 'CW_ERR_TOO_LARGE', 'a body over 128 KiB')
  // JSON is taken by EP-20 only: EP-1 still refuses it as an unsupported media type (CW-FED-002).
  const tls = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const offer = await rawRequest(`${node.url}/federation/v1/offers`, tls, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(offer.status, 415)
  t.equal(offer.json()['code'], 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
})

// spec: CW-BAT-002
t.test('chunks holding more than 16 MiB in all are refused 413 before any byte', async (t) => {
  const big = await evidence('ev-big', CHUNK_BATCH_LIMITS.maxBytes + 65_536, { category: 'video' })
  const bigShare = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [big.item] }), [big])
  const all = [...big.chunks.keys()]
  expectProblem(t, await post(bravo, bigShare.id, batchOf(all)), 413, 'CW_ERR_TOO_LARGE', `${all.length} chunks of 64 KiB`)
  const response = await post(bravo, bigShare.id, batchOf(all.slice(0, 256)))
  t.equal(response.status, 200, 'exactly 16 MiB is served')
  t.equal(response.body.length, 16 * 1024 * 1024)
})

// spec: CW-VER-007, CW-BAT-004
t.test('a node that does not serve batches lists no feature and has no such route', async (t) => {
  const plain = await startTestNode(t, alpha, { chunkBatches: false })
  await plain.addPartner(bravo)
  const copy = await storeOutbound(plain.store, plain.blobs, signed, [photo, note])
  const response = await post(bravo, copy.id, batchOf(digests), 'application/json', plain.url)
  expectProblem(t, response, 404, 'CW_ERR_NOT_FOUND', 'EP-20 on a node without it')
  t.equal(response.headers['caseway-features'], undefined)
  t.ok(response.headers['caseway-versions'] !== undefined, 'an answer of the node itself (it lists its versions)')
})
