/**
 * EP-1 `POST /federation/v1/offers` (SPEC.md §16): what a receiver accepts, what it refuses,
 * and that a refusal stores nothing.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { canonicalJson, onwardGrant, originGrant, signGrant, type CaseManifest } from '#protocol'
import { signPayloadBytes } from '../../../conformance/src/raw_jws.ts'
import { JOB } from '../../src/jobs/kinds.ts'
import { refusalOf } from '../support/refusals.ts'
import { clientFor, startTestNode, type TestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { rawRequest } from '../support/mtls.ts'
import { evidence, nowSeconds, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

/** alpha's node with bravo and charlie as partners, and bravo's client towards it. */
async function receiver(t: Test) {
  const node = await startTestNode(t, alpha)
  await node.addPartner(bravo)
  await node.addPartner(charlie)
  return { node, fromBravo: clientFor(t, node, bravo), alphaAsPartner: node.asPartner() }
}

/** Nothing of a refused offer is stored: no external case, no job. */
async function assertNothingStored(t: Test, node: TestNode): Promise<void> {
  t.same(await node.store.inboundShares.list(), [], 'no inbound share')
  t.same(await node.store.jobs.list(), [], 'no job')
}

// spec: CW-FED-003, CW-FED-001, CW-POS-001, CW-POS-002, CW-POS-004
t.test('an accepted offer is stored, queues the pull and lists every chunk bravo has not delivered itself', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const photo = await evidence('ev-photo', 150_000)
  // The same bytes twice: one item's chunks are listed once in `needed`.
  const copy = { ...photo.item, id: 'ev-copy' }
  const video = await evidence('ev-video', 70_000, { category: 'video' })
  const [delivered, stored] = [...video.chunks.keys()] as [string, string]
  // One chunk bravo delivered before (possession proven), one the node holds from elsewhere.
  await node.blobs.put(delivered, video.chunks.get(delivered)!)
  await node.store.chunks.recordDelivered('bravo', delivered, 1)
  await node.blobs.put(stored, video.chunks.get(stored)!)
  // A chunk charlie delivered counts for charlie only.
  const [fromCharlie] = [...photo.chunks.keys()] as [string]
  await node.blobs.put(fromCharlie, photo.chunks.get(fromCharlie)!)
  await node.store.chunks.recordDelivered('charlie', fromCharlie, 1)
  const signed = await signedManifest(bravo, 'alpha', { items: [photo.item, copy, video.item] })

  const { status, answer } = await fromBravo.offer(alphaAsPartner, signed.jws)
  t.equal(status, 202)
  // Before the possession rule (issue 11) the chunk held from elsewhere was left out too.
  const expected = [...photo.chunks.keys(), ...[...video.chunks.keys()].filter((d) => d !== delivered)]
  t.same(answer, { share: signed.manifest.share.id, revision: 1, status: 'receiving', needed: expected })

  const inbound = await node.store.inboundShares.find('bravo', signed.manifest.share.id)
  t.match(inbound, {
    senderOrg: 'bravo',
    senderName: 'Org bravo',
    revision: 1,
    status: 'receiving',
    manifestDigest: signed.digest,
    expiresAt: signed.manifest.exp,
    policy: testPolicy(FEDERATION),
    receiptJws: null,
  })
  const jobs = await node.store.jobs.list(inbound!.id)
  t.match(jobs, [{ kind: JOB.fetch, ref: inbound!.id, state: 'pending', payload: { revision: 1 } }])

  // The signed manifest is kept: its header and signature, with the payload detached — the
  // manifest's stored text, whose base64url gives back the very JWS bravo signed.
  const db = new DatabaseSync(join(node.ctx.config.dir, 'caseway.db'), { readOnly: true })
  t.teardown(() => db.close())
  const row = db.prepare('SELECT manifest_jws, manifest FROM inbound_shares WHERE id = ?').get(inbound!.id)!
  const [header, payload, signature] = signed.jws.split('.') as [string, string, string]
  t.equal(row['manifest_jws'], `${header}..${signature}`)
  t.equal(Buffer.from(String(row['manifest'])).toString('base64url'), payload)
})

// spec: CW-FED-004, CW-SIG-012
t.test('offering the identical manifest again answers 200 and changes nothing', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const photo = await evidence('ev-photo', 70_000)
  const signed = await signedManifest(bravo, 'alpha', { items: [photo.item] })
  const first = await fromBravo.offer(alphaAsPartner, signed.jws)
  const before = await node.store.inboundShares.list()

  const again = await fromBravo.offer(alphaAsPartner, signed.jws)
  t.equal(again.status, 200)
  t.same(again.answer, first.answer)
  t.same(await node.store.inboundShares.list(), before)
  t.equal((await node.store.jobs.list()).length, 1)
})

// spec: CW-FED-004, CW-SIG-012
t.test('concurrent identical offers make one share: one 202, the others 200', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const signed = await signedManifest(bravo, 'alpha', { items: [(await evidence('ev', 1000)).item] })
  const results = await Promise.all(Array.from({ length: 5 }, () => fromBravo.offer(alphaAsPartner, signed.jws)))
  t.same(results.map((r) => r.status).sort(), [200, 200, 200, 200, 202])
  t.equal((await node.store.inboundShares.list()).length, 1)
})

// spec: CW-SIG-012, CW-FED-004
t.test('another manifest reusing an accepted (iss, jti) is a replay, and is not stored', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const first = await signedManifest(bravo, 'alpha', { jti: 'manifest-jti-1' })
  await fromBravo.offer(alphaAsPartner, first.jws)
  const other = await signedManifest(bravo, 'alpha', { jti: 'manifest-jti-1' })

  const refusal = await refusalOf(fromBravo.offer(alphaAsPartner, other.jws))
  t.match(refusal, { code: 'CW_ERR_REPLAY', status: 409 })
  t.equal(await node.store.inboundShares.find('bravo', other.manifest.share.id), undefined)
})

// spec: CW-FED-004, CW-MAN-001
t.test('revisions: a newer one replaces, an older or conflicting one is stale', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const shareId = 'share-revisions'
  const r1 = await signedManifest(bravo, 'alpha', { shareId })
  const r2 = await signedManifest(bravo, 'alpha', { shareId, revision: 2, previous: r1.digest })
  t.equal((await fromBravo.offer(alphaAsPartner, r1.jws)).status, 202)
  t.equal((await fromBravo.offer(alphaAsPartner, r2.jws)).status, 202)
  const stored = await node.store.inboundShares.find('bravo', shareId)
  t.match(stored, { revision: 2, manifestDigest: r2.digest, status: 'receiving' })

  // r1 again (its jti was accepted with the same content, so no replay): older than r2.
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, r1.jws)), { code: 'CW_ERR_STALE_REVISION', status: 409 })
  // Another manifest for revision 2.
  const r2b = await signedManifest(bravo, 'alpha', { shareId, revision: 2, previous: r1.digest, fields: { title: 'changed' } })
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, r2b.jws)), { code: 'CW_ERR_STALE_REVISION' })
  // Revision 3 that does not follow the accepted revision 2.
  const r3 = await signedManifest(bravo, 'alpha', { shareId, revision: 3, previous: r1.digest })
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, r3.jws)), { code: 'CW_ERR_STALE_REVISION' })

  t.same(await node.store.inboundShares.find('bravo', shareId), stored, 'refusals changed nothing')
  // The refused manifests' jtis were not remembered: a fixed revision 3 with r3's jti is accepted.
  const r3fixed = await signedManifest(bravo, 'alpha', { shareId, revision: 3, previous: r2.digest, jti: r3.manifest.jti })
  t.equal((await fromBravo.offer(alphaAsPartner, r3fixed.jws)).status, 202)
})

// spec: CW-FED-001, CW-TLS-003
t.test("a manifest signed by charlie sent over bravo's connection is a peer mismatch", async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const signed = await signedManifest(charlie, 'alpha')
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, signed.jws)), { code: 'CW_ERR_PEER_MISMATCH', status: 403 })
  await assertNothingStored(t, node)
})

// spec: CW-FED-001, CW-SIG-010
t.test('a manifest addressed to another organization is refused', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const signed = await signedManifest(bravo, 'charlie')
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, signed.jws)), { code: 'CW_ERR_AUDIENCE_MISMATCH', status: 422 })
  await assertNothingStored(t, node)
})

// spec: CW-SIG-008, CW-FED-001, CW-SIG-013
t.test('a tampered manifest is refused and leaves no trace', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const signed = await signedManifest(bravo, 'alpha', { jti: 'tampered-jti' })
  const [header, , signature] = signed.jws.split('.') as [string, string, string]
  const changed: CaseManifest = { ...signed.manifest, case: { ...signed.manifest.case, fields: { title: 'Something else' } } }
  const payload = Buffer.from(JSON.stringify(changed)).toString('base64url')
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, `${header}.${payload}.${signature}`)), { code: 'CW_ERR_SIGNATURE_INVALID', status: 422 })
  await assertNothingStored(t, node)
  // Its jti was not remembered either.
  const genuine = await signedManifest(bravo, 'alpha', { jti: 'tampered-jti' })
  t.equal((await fromBravo.offer(alphaAsPartner, genuine.jws)).status, 202)
})

// spec: CW-POL-003, CW-FED-001
t.test('a manifest carrying what its policy excludes is refused', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const audio = await evidence('ev-audio', 1000, { category: 'audio' })
  const violating = await signedManifest(bravo, 'alpha', { items: [audio.item] })
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, violating.jws)), { code: 'CW_ERR_POLICY_VIOLATION', status: 403 })

  const secret = await evidence('ev-secret', 1000, { doNotDisclose: true })
  const undisclosable = await signedManifest(bravo, 'alpha', { items: [secret.item] })
  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, undisclosable.jws)), { code: 'CW_ERR_DO_NOT_DISCLOSE', status: 403 })
  await assertNothingStored(t, node)
})

// spec: CW-PROV-004, CW-POL-005, CW-FED-001
t.test('an onward share that widens its parent policy is refused', async (t) => {
  const { node, fromBravo, alphaAsPartner } = await receiver(t)
  const iat = nowSeconds()
  const photo = await evidence('ev-photo', 1000)
  // charlie (originator) → bravo: no download; bravo → alpha: download. Widened.
  const parentPolicy = testPolicy(FEDERATION)
  parentPolicy.permissions.download = false
  const parent = originGrant({ iss: 'charlie', aud: 'bravo', share: 'c-share', policy: parentPolicy, iat, exp: iat + 86_400, evidence: [photo.item.digest] })
  const child = onwardGrant(parent, {
    aud: 'alpha',
    share: 'b-share',
    policy: { ...testPolicy(FEDERATION), permissions: { ...testPolicy(FEDERATION).permissions, shareOnward: { allowed: true, maxDepth: 1 } } },
    iat,
    exp: iat + 86_400,
  })
  const grants = [await signGrant(parent, charlie.identity.signer), await signGrant(child, bravo.identity.signer)]
  const signed = await signedManifest(bravo, 'alpha', { shareId: 'b-share', items: [photo.item], grants, iat })

  t.match(await refusalOf(fromBravo.offer(alphaAsPartner, signed.jws)), { code: 'CW_ERR_POLICY_WIDENED', status: 403 })
  await assertNothingStored(t, node)
})

// spec: CW-FED-002, CW-FMT-005, CW-FED-011
t.test('bodies: application/jose only, within the manifest limit', async (t) => {
  const { node } = await receiver(t)
  const tls = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const offers = `${node.url}/federation/v1/offers`
  const signed = await signedManifest(bravo, 'alpha')

  const asJson = await rawRequest(offers, tls, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jws: signed.jws }) })
  t.equal(asJson.status, 415)
  t.match(asJson.json(), { code: 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', type: 'urn:caseway:problem:unsupported-media-type' })
  t.match(asJson.headers['content-type'], /^application\/problem\+json/)

  const empty = await rawRequest(offers, tls, { method: 'POST' })
  t.equal(empty.status, 415)

  const limit = node.ctx.config.limits.manifestBytes
  const tooLarge = await rawRequest(offers, tls, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: Buffer.alloc(limit + 1, 0x41) })
  t.equal(tooLarge.status, 413)
  t.equal(tooLarge.json()['code'], 'CW_ERR_TOO_LARGE')

  const accepted = await rawRequest(offers, tls, { method: 'POST', headers: { 'content-type': 'application/jose; charset=utf-8' }, body: signed.jws })
  t.equal(accepted.status, 202)
  t.same(Object.keys(accepted.json()).sort(), ['needed', 'revision', 'share', 'status'])
  t.equal((await node.store.inboundShares.list()).length, 1, 'only the accepted offer was stored')
})

// spec: CW-FMT-006, CW-FMT-004, CW-FED-001
t.test('an e-mail recipient that is not exactly one plain address is refused: a partner cannot steer our mail server', async (t) => {
  const { node } = await receiver(t)
  const tls = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const offers = `${node.url}/federation/v1/offers`
  const hostile = [
    'ada@county-pd.example\r\nBcc: evil@elsewhere.example',
    'ada@county-pd.example, evil@elsewhere.example',
    '"Ada" <evil@elsewhere.example>',
    'Ada <evil@elsewhere.example>',
    'undisclosed-recipients: evil@elsewhere.example;',
    'ada@county-pd.example (evil@elsewhere.example)',
    'ada@county-pd.example\nevil@elsewhere.example',
    'ada@[127.0.0.1]',
    'ada',
  ]
  for (const id of hostile) {
    // Our signer refuses such a manifest; a hostile partner signs the bytes itself.
    const { manifest } = await signedManifest(bravo, 'alpha')
    manifest.share.recipients = [
      { kind: 'user', id: 'det-smith' },
      { kind: 'email', id },
    ]
    const jws = signPayloadBytes('manifest', canonicalJson(manifest), bravo.identity.signer)
    const answer = await rawRequest(offers, tls, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jws })
    t.equal(answer.status, 422, JSON.stringify(id))
    t.match(answer.json(), { code: 'CW_ERR_SCHEMA_INVALID', at: '/share/recipients/1/id' }, JSON.stringify(id))
  }
  await assertNothingStored(t, node)

  const plain = await signedManifest(bravo, 'alpha', { recipients: [{ kind: 'email', id: "o'brien+intake@county-pd.example" }] })
  t.equal(
    (await rawRequest(offers, tls, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: plain.jws })).status,
    202,
    'one plain address is accepted',
  )
})
