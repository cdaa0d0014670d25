/**
 * Sharing onward over real mutual TLS with three nodes (SPEC.md §11): alpha shares with bravo
 * allowing onward sharing to charlie; bravo shares onward under a narrower policy; charlie
 * verifies the chain and pulls the chunks from bravo. Forbidden onward shares are refused by
 * bravo locally and, when forced onto the wire, by the receiver; a revocation by alpha cascades.
 * charlie pins alpha as a trust-only anchor (CW-PROV-008): alpha's grant verifies, but alpha
 * cannot connect to charlie; without that anchor charlie refuses the chain.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import type { SharingPolicy } from '#protocol'
import { userActor } from '../../src/events.ts'
import { localApp } from '../../src/local/app.ts'
import { refusalOf } from '../support/refusals.ts'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { getExternalCase } from '../../src/receiving/external_cases.ts'
import { getImportDetails, importExternalCase } from '../../src/receiving/import_case.ts'
import { buildOnwardManifest, grantPayload, shareOnward } from '../../src/sending/share_onward.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { revokeShare } from '../../src/revocation/revoke_share.ts'
import { createToken } from '../../src/access/tokens.ts'
import type { InboundShareRecord } from '../../src/store/metadata_store.ts'
import { clientFor, partnerRecordOf, startTestNode, type TestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { rawRequest } from '../support/mtls.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo, charlie, delta] = (await createTestOrgs(['alpha', 'bravo', 'charlie', 'delta'])) as [TestOrg, TestOrg, TestOrg, TestOrg]
const reader = { userId: 'reader', role: 'member' as const, groups: [] }

function onwardAllowed(partners = ['charlie']): SharingPolicy {
  const wide = testPolicy(FEDERATION)
  return { ...wide, id: 'policy-onward', permissions: { ...wide.permissions, shareOnward: { allowed: true, maxDepth: 1, partners } } }
}

/** Narrower than `onwardAllowed`: no import, no updates, no further onward sharing, shorter. */
function narrow(): SharingPolicy {
  const wide = testPolicy(FEDERATION, { content: { caseFields: ['title'], evidenceCategories: ['photo'] } })
  return {
    ...wide,
    id: 'policy-narrow',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0, partners: [] } },
    maxDurationSeconds: 7 * 86_400,
  }
}

/** `anchor`: whether charlie pins alpha (trust-only) as the anchor of alpha's grant. */
async function threeNodes(t: Test, anchor = true) {
  const [a, b, c] = (await Promise.all([alpha, bravo, charlie].map((org) => startTestNode(t, org, { runJobs: true })))) as [TestNode, TestNode, TestNode]
  await a.addPartner(bravo, b.url)
  await b.addPartner(alpha, a.url)
  await b.addPartner(charlie, c.url)
  await c.addPartner(bravo, b.url)
  // charlie's anchor for alpha's grant (CW-PROV-008): alpha's CA pinned trust-only, not as a partner.
  if (anchor) await c.addPartner(alpha, a.url, true, true)
  return { a, b, c }
}

/** The local API of `node`, with a member token for `reader`. */
async function localApiOf(t: Test, node: TestNode) {
  const app = Fastify({ logger: false })
  await app.register(localApp, { ctx: node.ctx })
  await app.ready()
  t.teardown(() => app.close())
  const { token } = await createToken(node.ctx, { userId: reader.userId, role: 'member' })
  return (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
}

/** alpha shares a case with bravo under `policy`; resolves with bravo's complete external case. */
async function deliver(a: TestNode, b: TestNode, policy: SharingPolicy) {
  const stored = await createPolicy(a.ctx, policy)
  await assignPolicy(a.ctx, 'bravo', stored.id)
  const theCase = await createCase(a.ctx, { fields: { title: 'Burglary at 12 Elm St', summary: 'Back door forced' } })
  const photo = await uploadEvidence(a.ctx, theCase.id, { name: 'door.jpg', category: 'photo', mediaType: 'image/jpeg' }, Readable.from([randomBytes(150_000)]))
  await uploadEvidence(a.ctx, theCase.id, { name: 'statement.pdf', category: 'document', mediaType: 'application/pdf' }, Readable.from([randomBytes(2000)]))
  const { share } = await createShare(a.ctx, { caseId: theCase.id, partnerOrg: 'bravo', scope: 'case', createdBy: 'alice' })
  const inbound = await waitFor(
    'delivery to bravo',
    async () => {
      const found = await b.store.inboundShares.find('alpha', share.id)
      return found?.status === 'complete' ? found : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
  return { share, photo, inbound }
}

async function completeAt(node: TestNode, from: string, shareId: string): Promise<InboundShareRecord> {
  return waitFor(
    `delivery to ${node.org.org}`,
    async () => {
      const found = await node.store.inboundShares.find(from, shareId)
      return found?.status === 'complete' ? found : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
}

// spec: CW-PROV-001, CW-PROV-003, CW-PROV-004, CW-PROV-007, CW-POL-005, CW-REV-006, CW-PROV-012, CW-PROV-013
t.test(
  'bravo shares onward to charlie under a narrower policy; charlie verifies the chain and pulls from bravo; alpha revokes and both lose access',
  async (t) => {
    const { a, b, c } = await threeNodes(t)
    const { share, photo, inbound } = await deliver(a, b, onwardAllowed())

    const importable: SharingPolicy = { ...narrow(), permissions: { ...narrow().permissions, import: true } }
    const onward = await shareOnward(b.ctx, reader, { inboundId: inbound.id, partnerOrg: 'charlie', policy: importable })
    t.equal(onward.share.caseId, inbound.id, 'stored against the external case, so revocation cascades')
    t.equal(onward.manifest.grants.length, 2)
    t.same(
      onward.manifest.evidence.map((item) => item.digest),
      [photo.digest],
      'only the categories the onward policy allows',
    )
    t.same(onward.manifest.evidence[0]!.chunks, photo.chunks, "the originator's chunk list")
    t.same(onward.manifest.case.fields, { title: 'Burglary at 12 Elm St' })

    const atCharlie = await completeAt(c, 'bravo', onward.share.id)
    const grants = atCharlie.manifest.grants.map(grantPayload)
    t.same(
      grants.map((g) => [g.iss, g.aud, g.depth, g.originator]),
      [
        ['alpha', 'bravo', 0, 'alpha'],
        ['bravo', 'charlie', 1, 'alpha'],
      ],
    )
    t.equal(atCharlie.policy.id, 'policy-narrow', 'the effective policy is the last grant’s')
    t.ok(await getExternalCase(c.ctx, reader, atCharlie.id))

    // Provenance at charlie: the whole chain, originator first, over the local API (response schemas).
    const get = await localApiOf(t, c)
    const external = await get(`/api/v1/external-cases/${atCharlie.id}`)
    t.equal(external.statusCode, 200)
    const expectedChain = [
      {
        depth: 0,
        from: { org: 'alpha', name: 'Org alpha' },
        to: { org: 'bravo', name: 'Org bravo' },
        issuedAt: grants[0]!.iat,
        expiresAt: grants[0]!.exp,
        policy: { id: 'policy-onward', version: 1, name: grants[0]!.policy.name, permissions: grants[0]!.policy.permissions },
      },
      {
        depth: 1,
        from: { org: 'bravo', name: 'Org bravo' },
        to: { org: 'charlie', name: 'Org charlie' },
        issuedAt: grants[1]!.iat,
        expiresAt: grants[1]!.exp,
        policy: { id: 'policy-narrow', version: 1, name: grants[1]!.policy.name, permissions: importable.permissions },
      },
    ]
    t.same(external.json().provenance, expectedChain)
    t.equal(expectedChain[0]!.policy.permissions.shareOnward.maxDepth, 1, "the originator's hop allows one more")
    t.ok(expectedChain[1]!.expiresAt <= expectedChain[0]!.expiresAt)
    const imported = await importExternalCase(c.ctx, reader, atCharlie.id)
    const details = await get(`/api/v1/cases/${imported.case.id}/import-details`)
    t.equal(details.statusCode, 200)
    t.match(details.json(), {
      senderOrg: 'bravo',
      inboundId: atCharlie.id,
      receivedAt: atCharlie.receivedAt,
      accessLevel: 'full',
      policy: { id: 'policy-narrow' },
    })
    t.same(details.json().provenance, expectedChain)
    t.same((await getImportDetails(c.ctx, reader, imported.case.id)).provenance, expectedChain)

    await revokeShare(a.ctx, share.id, { actor: userActor('alice'), reason: 'Court order' })
    await waitFor('charlie to revoke', async () => ((await c.store.inboundShares.get(atCharlie.id))?.status === 'revoked' ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 25,
    })
    t.equal((await b.store.inboundShares.get(inbound.id))?.status, 'revoked')
    t.equal((await b.store.outboundShares.get(onward.share.id))?.status, 'revoked')
    await t.rejects(getExternalCase(c.ctx, reader, atCharlie.id), { code: 'CW_ERR_SHARE_REVOKED' })
    await t.rejects(getExternalCase(b.ctx, reader, inbound.id), { code: 'CW_ERR_SHARE_REVOKED' })
  },
)

// spec: CW-PROV-004, CW-POL-005, CW-PROV-009
t.test('forbidden onward shares: refused by bravo locally, and by the receiver when forced onto the wire', async (t) => {
  const { a, b, c } = await threeNodes(t)
  const { inbound } = await deliver(a, b, onwardAllowed())
  const widened: SharingPolicy = { ...onwardAllowed(), id: 'policy-longer', maxDurationSeconds: 60 * 86_400 }
  const now = Math.floor(Date.now() / 1000)

  // Widened policy.
  await t.rejects(shareOnward(b.ctx, reader, { inboundId: inbound.id, partnerOrg: 'charlie', policy: widened }), { code: 'CW_ERR_POLICY_WIDENED' })
  const forcedWide = await buildOnwardManifest(b.ctx, inbound, {
    shareId: 'forced-wide',
    partnerOrg: 'charlie',
    policy: { ...widened, maxDurationSeconds: 60 * 86_400 },
    evidenceIds: [],
    message: undefined,
    recipients: [],
    now,
  })
  t.match(await refusalOf(clientFor(t, c, bravo).offer(c.asPartner(), forcedWide.revision.manifestJws)), { code: 'CW_ERR_POLICY_WIDENED' })

  // Partner not listed: alpha's policy names charlie only; a second share names delta only.
  await t.rejects(shareOnward(b.ctx, reader, { inboundId: inbound.id, partnerOrg: 'alpha', policy: narrow() }), { code: 'CW_ERR_PARTNER_NOT_ALLOWED' })
  const { inbound: forDelta } = await deliver(a, b, { ...onwardAllowed(['delta']), id: 'policy-delta' })
  await t.rejects(shareOnward(b.ctx, reader, { inboundId: forDelta.id, partnerOrg: 'charlie', policy: narrow() }), { code: 'CW_ERR_PARTNER_NOT_ALLOWED' })
  const forcedPartner = await buildOnwardManifest(b.ctx, forDelta, {
    shareId: 'forced-partner',
    partnerOrg: 'charlie',
    policy: narrow(),
    evidenceIds: [],
    message: undefined,
    recipients: [],
    now,
  })
  t.match(await refusalOf(clientFor(t, c, bravo).offer(c.asPartner(), forcedPartner.revision.manifestJws)), { code: 'CW_ERR_PARTNER_NOT_ALLOWED' })

  // Too deep: charlie received under a policy without onward sharing.
  const onward = await shareOnward(b.ctx, reader, { inboundId: inbound.id, partnerOrg: 'charlie', policy: narrow() })
  const atCharlie = await completeAt(c, 'bravo', onward.share.id)
  await t.rejects(shareOnward(c.ctx, reader, { inboundId: atCharlie.id, partnerOrg: 'bravo', policy: narrow() }), { code: 'CW_ERR_CHAIN_DEPTH_EXCEEDED' })
  // delta pins all three (anchors for every link) and charlie as a partner.
  const d = await startTestNode(t, delta)
  for (const org of [alpha, bravo, charlie]) await d.addPartner(org)
  const forcedDeep = await buildOnwardManifest(c.ctx, atCharlie, {
    shareId: 'forced-deep',
    partnerOrg: 'delta',
    policy: narrow(),
    evidenceIds: [],
    message: undefined,
    recipients: [],
    now,
  })
  t.match(await refusalOf(clientFor(t, d, charlie).offer(d.asPartner(), forcedDeep.revision.manifestJws)), { code: 'CW_ERR_CHAIN_DEPTH_EXCEEDED' })
})

// spec: CW-PROV-008, CW-TLS-003, CW-TRUST-004, CW-TLS-006
t.test('a trust-only anchor verifies grants but cannot connect, and is never shared with', async (t) => {
  const { a, b, c } = await threeNodes(t)
  const alphaTls = { ca: charlie.caPem, cert: alpha.identity.tls.cert, key: alpha.identity.tls.key }
  const healthz = `${c.url}/federation/v1/healthz`
  const attempt = (): Promise<{ status?: number; body: Record<string, unknown> }> =>
    rawRequest(healthz, alphaTls).then(
      (r) => ({ status: r.status, body: r.json() }),
      (e: unknown) => ({ body: { error: String(e) } }),
    )

  // Trust-only from the start: alpha's CA is pinned, so the connection is answered, and refused.
  const first = await attempt()
  t.equal(first.status, 403, 'a problem document, not a TLS failure')
  t.equal(first.body['code'], 'CW_ERR_PARTNER_UNKNOWN')
  t.same(
    (await c.ctx.tlsAnchors()).map((anchor) => anchor.org),
    ['bravo'],
  )
  t.same((await c.ctx.trustAnchors()).map((anchor) => anchor.org).sort(), ['alpha', 'bravo', 'charlie'], 'partners, trust-only orgs and its own CA')

  // A full partner connects; once trust-only (before the listener reloads) the request is refused.
  await c.addPartner(alpha, a.url)
  t.equal((await attempt()).status, 200)
  await c.store.partners.upsert({ ...partnerRecordOf(alpha, a.url), trustOnly: true })
  const refused = await attempt()
  t.equal(refused.status, 403)
  t.equal(refused.body['code'], 'CW_ERR_PARTNER_UNKNOWN')
  await c.ctx.trustChanged()
  const reloaded = await attempt()
  t.equal(reloaded.status, 403, 'after the reload: the same refusal')
  t.equal(reloaded.body['code'], 'CW_ERR_PARTNER_UNKNOWN')

  // Nothing is shared with a trust-only organization.
  const { inbound } = await deliver(a, b, onwardAllowed(['charlie', 'delta']))
  await b.addPartner(delta, 'https://127.0.0.1:1', true, true)
  await t.rejects(shareOnward(b.ctx, reader, { inboundId: inbound.id, partnerOrg: 'delta', policy: narrow() }), { code: 'CW_ERR_CONFLICT' })
  await a.addPartner(delta, 'https://127.0.0.1:1', true, true)
  await assignPolicy(a.ctx, 'delta', 'policy-onward')
  const theCase = await createCase(a.ctx, { fields: { title: 'Trust only' } })
  await t.rejects(createShare(a.ctx, { caseId: theCase.id, partnerOrg: 'delta', scope: 'case', createdBy: 'alice' }), { code: 'CW_ERR_CONFLICT' })
})

// spec: CW-PROV-002, CW-PROV-008
t.test("without alpha's anchor charlie refuses the onward manifest: CW_ERR_CHAIN_UNTRUSTED", async (t) => {
  const { a, b, c } = await threeNodes(t, false)
  const { inbound } = await deliver(a, b, onwardAllowed())
  const now = Math.floor(Date.now() / 1000)
  const built = await buildOnwardManifest(b.ctx, inbound, {
    shareId: 'unanchored',
    partnerOrg: 'charlie',
    policy: narrow(),
    evidenceIds: [],
    message: undefined,
    recipients: [],
    now,
  })
  t.match(await refusalOf(clientFor(t, c, bravo).offer(c.asPartner(), built.revision.manifestJws)), { code: 'CW_ERR_CHAIN_UNTRUSTED' })
  t.equal(await c.store.inboundShares.find('bravo', 'unanchored'), undefined, 'nothing stored')
})
