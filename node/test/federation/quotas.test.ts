/**
 * Per-partner quotas on offers (SPEC.md CW-QUO-001..006, issue 11 finding 11): items per offer,
 * offers pending, evidence bytes per day — each counted per partner organization and refused
 * `429 CW_ERR_QUOTA_EXCEEDED` (with `Retry-After` when waiting frees it); a large manifest is
 * verified off the event loop; an identical re-offer is recognised by its digest before it is
 * verified again, except that a revoked share still answers `CW_ERR_SHARE_REVOKED`.
 */
import t, { type Test } from 'tap'
import { evidence, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { rawRequest, type RawResponse } from '../support/mtls.ts'
import { clientFor, startTestNode, type TestNode } from '../support/federation_node.ts'
import { PeerRefusal } from '../../src/peer/errors.ts'
import { OFF_LOOP_VERIFY_BYTES } from '../../src/limits.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

async function receiver(t: Test, partners: Record<string, number>): Promise<TestNode> {
  // The first large offer starts the verification worker, which takes a few seconds on a busy machine.
  const node = await startTestNode(t, alpha, { limits: { partners }, requestTimeoutMs: 60_000 })
  await node.addPartner(bravo)
  await node.addPartner(charlie)
  return node
}

function offer(node: TestNode, from: TestOrg, jws: string): Promise<RawResponse> {
  return rawRequest(
    `${node.url}/federation/v1/offers`,
    { ca: alpha.caPem, cert: from.identity.tls.cert, key: from.identity.tls.key },
    {
      method: 'POST',
      headers: { 'content-type': 'application/jose' },
      body: jws,
    },
  )
}

async function items(count: number, size = 10) {
  const made = []
  for (let i = 0; i < count; i += 1) made.push((await evidence(`ev-${i}`, size)).item)
  return made
}

// spec: CW-QUO-001, CW-FED-017
t.test('an offer with more items than the partner quota is refused 429 CW_ERR_QUOTA_EXCEEDED without Retry-After, and stores nothing', async (t) => {
  const node = await receiver(t, { itemsPerOffer: 2 })
  const big = await signedManifest(bravo, 'alpha', { items: await items(3) })
  const refused = await offer(node, bravo, big.jws)
  t.equal(refused.status, 429)
  t.match(refused.json(), { code: 'CW_ERR_QUOTA_EXCEEDED', type: 'urn:caseway:problem:quota-exceeded', status: 429 })
  t.equal(refused.headers['retry-after'], undefined, 'waiting does not help: no Retry-After')
  t.same(await node.store.inboundShares.list(), [], 'nothing stored')
  const seen = await clientFor(t, node, bravo)
    .offer(node.asPartner(), big.jws)
    .catch((error: unknown) => error)
  t.ok(seen instanceof PeerRefusal, 'the peer client sees a refusal')
  t.match(seen, { code: 'CW_ERR_QUOTA_EXCEEDED', status: 429, retryAfterMs: undefined, retryable: false }, 'which a sender must not repeat')
  const fits = await signedManifest(bravo, 'alpha', { items: await items(2) })
  t.equal((await offer(node, bravo, fits.jws)).status, 202, 'two items are accepted')
})

// spec: CW-QUO-002, CW-QUO-004
t.test("pending offers are counted per partner: bravo's full queue does not stop charlie", async (t) => {
  const node = await receiver(t, { pendingOffers: 2 })
  for (let i = 0; i < 2; i += 1) t.equal((await offer(node, bravo, (await signedManifest(bravo, 'alpha', { items: await items(1) })).jws)).status, 202)
  const third = await offer(node, bravo, (await signedManifest(bravo, 'alpha', { items: await items(1) })).jws)
  t.equal(third.status, 429)
  t.equal(third.json()['code'], 'CW_ERR_QUOTA_EXCEEDED')
  t.ok(Number(third.headers['retry-after']) >= 1, `Retry-After: ${third.headers['retry-after']}`)
  const seen = await clientFor(t, node, bravo)
    .offer(node.asPartner(), (await signedManifest(bravo, 'alpha', { items: await items(1) })).jws)
    .catch((error: unknown) => error)
  t.match(seen, { code: 'CW_ERR_QUOTA_EXCEEDED', status: 429, retryable: true }, 'the peer client may repeat it later')
  t.equal((await offer(node, charlie, (await signedManifest(charlie, 'alpha', { items: await items(1) })).jws)).status, 202, 'charlie is not affected')
  // A finished transfer frees its place.
  const [first] = await node.store.inboundShares.list()
  await node.store.inboundShares.update({ ...first!, status: 'complete', completedAt: first!.receivedAt })
  t.equal((await offer(node, bravo, (await signedManifest(bravo, 'alpha', { items: await items(1) })).jws)).status, 202, 'accepted once one completed')
})

// spec: CW-QUO-003
t.test('evidence bytes per day per partner: over the budget 429 with Retry-After until the oldest offer leaves the window', async (t) => {
  const node = await receiver(t, { bytesPerDay: 1000 })
  t.equal((await offer(node, bravo, (await signedManifest(bravo, 'alpha', { items: await items(1, 600) })).jws)).status, 202)
  const over = await offer(node, bravo, (await signedManifest(bravo, 'alpha', { items: await items(1, 600) })).jws)
  t.equal(over.status, 429)
  t.equal(over.json()['code'], 'CW_ERR_QUOTA_EXCEEDED')
  const retryAfter = Number(over.headers['retry-after'])
  t.ok(retryAfter > 86_000 && retryAfter <= 86_400, `Retry-After ${retryAfter}: when the first offer is a day old`)
  t.equal((await offer(node, charlie, (await signedManifest(charlie, 'alpha', { items: await items(1, 600) })).jws)).status, 202, "charlie's own budget")
  const never = await offer(node, charlie, (await signedManifest(charlie, 'alpha', { items: await items(1, 2000) })).jws)
  t.equal(never.status, 429)
  t.equal(never.headers['retry-after'], undefined, 'an offer larger than the whole budget never fits: no Retry-After')
})

// spec: CW-QUO-006, CW-FED-004
t.test('an identical re-offer is answered by its digest, without verifying it again; a revoked share still answers 410', async (t) => {
  const node = await receiver(t, {})
  const signed = await signedManifest(bravo, 'alpha', { items: await items(1) })
  t.equal((await offer(node, bravo, signed.jws)).status, 202)
  // Verification starts by asking for the trust anchors: count that.
  const anchors = node.ctx.trustAnchors.bind(node.ctx)
  let verifications = 0
  node.ctx.trustAnchors = () => {
    verifications += 1
    return anchors()
  }
  const again = await offer(node, bravo, signed.jws)
  t.equal(again.status, 200)
  t.match(again.json(), { share: signed.manifest.share.id, revision: 1, status: 'receiving' })
  t.equal(verifications, 0, 'answered without verifying the manifest again')

  const inbound = (await node.store.inboundShares.find('bravo', signed.manifest.share.id))!
  await node.store.inboundShares.update({ ...inbound, status: 'revoked' })
  const revoked = await offer(node, bravo, signed.jws)
  t.equal(revoked.status, 410)
  t.equal(revoked.json()['code'], 'CW_ERR_SHARE_REVOKED', 'revocation wins over the retry answer')
})

// spec: CW-QUO-005, CW-FED-001
t.test('a manifest over 1 MiB is verified on a worker thread: the listener answers healthz meanwhile, and refusals keep their codes', async (t) => {
  const node = await receiver(t, {})
  const many = await items(2500)
  const big = await signedManifest(bravo, 'alpha', { items: many })
  t.ok(big.jws.length > OFF_LOOP_VERIFY_BYTES, `${big.jws.length} bytes: verified off the event loop`)
  const asBravo = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  let answered = false
  const accepted = offer(node, bravo, big.jws).finally(() => {
    answered = true
  })
  // healthz is answered while the offer is still being verified (or the offer was quicker: then it is answered anyway).
  const health = await rawRequest(`${node.url}/federation/v1/healthz`, asBravo)
  t.equal(health.status, 200)
  t.comment(`healthz answered ${answered ? 'after' : 'before'} the offer`)
  t.equal((await accepted).status, 202)
  t.same((await node.store.inboundShares.find('bravo', big.manifest.share.id))?.manifest, big.manifest, 'the manifest stored is the one signed')

  // Another share with the same items, carrying the first one's signature.
  const other = await signedManifest(bravo, 'alpha', { items: many })
  const broken = other.jws.slice(0, other.jws.lastIndexOf('.') + 1) + big.jws.slice(big.jws.lastIndexOf('.') + 1)
  const refused = await offer(node, bravo, broken)
  t.equal(refused.status, 422)
  t.equal(refused.json()['code'], 'CW_ERR_SIGNATURE_INVALID', 'the worker reports the problem code of the failing check')
})
