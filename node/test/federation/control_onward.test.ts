/**
 * The conformance control endpoint EP-9 (SPEC.md §21) over real mutual TLS between two fixture
 * nodes: alpha plays the harness (it shares a case with bravo, then calls bravo's EP-9 as
 * itself), bravo is the node under test and shares that case back onward to alpha; alpha's
 * revocation of its share cascades through bravo to alpha's copy of the onward share.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { assertControlShareAnswer, assertProblemDocument, assertRevocationAnswer, FEDERATION_PATHS, type SharingPolicy } from '#protocol'
import { userActor } from '../../src/events.ts'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { getExternalCase } from '../../src/receiving/external_cases.ts'
import { grantPayload } from '../../src/sending/share_onward.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { revokeShare } from '../../src/revocation/revoke_share.ts'
import type { InboundShareRecord } from '../../src/store/metadata_store.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { startTestNode, type TestNode } from '../support/federation_node.ts'
import { rawRequest, type RawResponse } from '../support/mtls.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]
const reader = { userId: 'reader', role: 'member' as const, groups: [] }

/** Onward sharing allowed `maxDepth` hops (to any partner unless `partners`). */
function onwardPolicy(maxDepth: number, partners?: string[]): SharingPolicy {
  const wide = testPolicy(FEDERATION)
  return {
    ...wide,
    id: `policy-onward-${maxDepth}`,
    permissions: { ...wide.permissions, shareOnward: { allowed: maxDepth > 0, maxDepth, ...(partners === undefined ? {} : { partners }) } },
  }
}

/** alpha (the caller) and bravo (control on unless told), partners of each other. */
async function pair(t: Test, control = true): Promise<{ a: TestNode; b: TestNode }> {
  const [a, b] = (await Promise.all([startTestNode(t, alpha, { runJobs: true }), startTestNode(t, bravo, { runJobs: true, conformanceControl: control })])) as [
    TestNode,
    TestNode,
  ]
  await a.addPartner(bravo, b.url)
  await b.addPartner(alpha, a.url)
  return { a, b }
}

/** alpha shares a new case with bravo under `policy`; resolves once bravo holds it completely. */
async function deliver(a: TestNode, b: TestNode, policy: SharingPolicy) {
  await assignPolicy(a.ctx, 'bravo', (await createPolicy(a.ctx, policy)).id)
  const theCase = await createCase(a.ctx, { fields: { title: 'Burglary at 12 Elm St', summary: 'Back door forced' } })
  const photo = await uploadEvidence(a.ctx, theCase.id, { name: 'door.jpg', category: 'photo', mediaType: 'image/jpeg' }, Readable.from([randomBytes(70_000)]))
  const { share } = await createShare(a.ctx, { caseId: theCase.id, partnerOrg: 'bravo', scope: 'case', createdBy: 'alice' })
  const inbound = await inboundAt(b, 'alpha', share.id, (status) => status === 'complete', 'delivery to bravo')
  return { share, photo, inbound }
}

function inboundAt(node: TestNode, from: string, shareId: string, check: (status: string) => boolean, what: string): Promise<InboundShareRecord> {
  return waitFor(
    what,
    async () => {
      const found = await node.store.inboundShares.find(from, shareId)
      return found !== undefined && check(found.status) ? found : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
}

/** POST `body` (JSON) to `node` as `as` (its TLS identity). */
function post(node: TestNode, as: TestOrg, path: string, body?: unknown): Promise<RawResponse> {
  const text = body === undefined ? undefined : JSON.stringify(body)
  return rawRequest(
    node.url + path,
    { ca: node.org.caPem, cert: as.identity.tls.cert, key: as.identity.tls.key },
    { method: 'POST', headers: text === undefined ? {} : { 'content-type': 'application/json' }, ...(text === undefined ? {} : { body: text }) },
  )
}

function refused(t: Test, response: RawResponse, status: number, code: string, at?: string): Record<string, unknown> {
  t.equal(response.status, status, `answered ${status}`)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  const problem = response.json()
  t.doesNotThrow(() => assertProblemDocument(problem), 'a problem document (CW-ERR-001)')
  t.equal(problem['code'], code)
  if (at !== undefined) t.equal(problem['at'], at, `at ${at}`)
  return problem
}

// spec: CW-CTL-002, CW-CTL-003, CW-PROV-001, CW-PROV-003, CW-PROV-004, CW-POL-005, CW-REV-003, CW-REV-006
t.test("EP-9 shares the caller's case back onward to it with one hop less; the caller's revocation cascades to it", async (t) => {
  const { a, b } = await pair(t)
  const { share, photo, inbound } = await deliver(a, b, onwardPolicy(2))

  const created = await post(b, alpha, FEDERATION_PATHS.controlShareOnward(share.id), {})
  t.equal(created.status, 201)
  const answer = created.json()
  t.doesNotThrow(() => assertControlShareAnswer(answer))
  t.equal(answer['case'], inbound.id, "the case is bravo's external case")
  const onwardId = answer['share'] as string

  // bravo's onward share: to alpha's agency, against the external case, the caller's doing.
  const onward = (await b.store.outboundShares.get(onwardId))!
  t.match(onward, { caseId: inbound.id, partnerOrg: 'alpha', recipients: [{ kind: 'agency', id: 'alpha' }], createdBy: 'conformance:alpha' })
  t.same(onward.policy.permissions.shareOnward, { allowed: true, maxDepth: 1 }, 'one hop less')
  t.same(onward.policy.content, inbound.policy.content, 'otherwise the received policy')

  // alpha receives it: two grants, alpha's then bravo's, the originator's digests.
  const back = await inboundAt(a, 'bravo', onwardId, (status) => status === 'complete', 'the onward share at alpha')
  const grants = back.manifest.grants.map(grantPayload)
  t.same(
    grants.map((g) => [g.iss, g.aud, g.depth, g.originator]),
    [
      ['alpha', 'bravo', 0, 'alpha'],
      ['bravo', 'alpha', 1, 'alpha'],
    ],
  )
  t.same(
    back.manifest.evidence.map((item) => item.digest),
    [photo.digest],
  )
  t.same(back.manifest.share.recipients, [{ kind: 'agency', id: 'alpha' }])
  t.equal(back.policy.permissions.shareOnward.maxDepth, 1, "the effective policy is bravo's grant's")
  const external = await getExternalCase(a.ctx, reader, back.id)
  t.match(external, { sender: { org: 'bravo' }, shareId: onwardId, status: 'complete', access: 'recipient' })
  t.same(
    external.provenance?.map((hop) => [hop.depth, hop.from.org, hop.to.org]),
    [
      [0, 'alpha', 'bravo'],
      [1, 'bravo', 'alpha'],
    ],
    "alpha's users see the chain",
  )

  // alpha revokes its share: bravo revokes the onward share, and alpha receives that revocation.
  await revokeShare(a.ctx, share.id, { actor: userActor('alice') })
  await inboundAt(b, 'alpha', share.id, (status) => status === 'revoked', 'bravo to take the revocation')
  // The cascade follows the inbound revocation's commit (and its audit entry) within the same request.
  const cascaded = await waitFor('the cascade at bravo', async () => ((await b.store.outboundShares.get(onwardId))?.status === 'revoked' ? true : undefined), {
    timeoutMs: 10_000,
  })
  t.ok(cascaded, 'cascaded at bravo')
  await inboundAt(a, 'bravo', onwardId, (status) => status === 'revoked', "alpha to take bravo's revocation")
  await t.rejects(getExternalCase(a.ctx, reader, back.id), { code: 'CW_ERR_SHARE_REVOKED' })

  // The revoked share cannot be shared onward again; the onward share is a control share: EP-7 answers for it.
  refused(t, await post(b, alpha, FEDERATION_PATHS.controlShareOnward(share.id), {}), 410, 'CW_ERR_SHARE_REVOKED')
  const again = await post(b, alpha, FEDERATION_PATHS.controlRevoke(onwardId), {})
  t.equal(again.status, 200)
  t.doesNotThrow(() => assertRevocationAnswer(again.json()))
  t.same(again.json(), { share: onwardId, status: 'revoked' })
})

// spec: CW-CTL-002, CW-CTL-003, CW-PROV-004, CW-REV-003
t.test('EP-9 at the last hop the policy allows: the onward policy allows no more; EP-7 revokes the onward share', async (t) => {
  const { a, b } = await pair(t)
  const { share, inbound } = await deliver(a, b, onwardPolicy(1, ['alpha', 'charlie']))
  const created = await post(b, alpha, FEDERATION_PATHS.controlShareOnward(share.id))
  t.equal(created.status, 201, 'an empty body is {}')
  const onwardId = created.json()['share'] as string
  t.same((await b.store.outboundShares.get(onwardId))?.policy.permissions.shareOnward, { allowed: false, maxDepth: 0, partners: ['alpha', 'charlie'] })
  const back = await inboundAt(a, 'bravo', onwardId, (status) => status === 'complete', 'the onward share at alpha')

  // EP-8 adds nothing to an onward share: it has no case of bravo's (404, as for a share EP-6 did not make).
  refused(t, await post(b, alpha, FEDERATION_PATHS.controlEvidence(onwardId), { items: [{ size: 1, category: 'photo' }] }), 404, 'CW_ERR_NOT_FOUND')
  const revoked = await post(b, alpha, FEDERATION_PATHS.controlRevoke(onwardId), {})
  t.same(revoked.json(), { share: onwardId, status: 'revoked' })
  await waitFor('alpha to take the revocation', async () => ((await a.store.inboundShares.get(back.id))?.status === 'revoked' ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 25,
  })
  t.equal((await b.store.inboundShares.get(inbound.id))?.status, 'complete', "alpha's own share stays")
})

// spec: CW-CTL-002, CW-PROV-004
t.test("EP-9 refusals: a share the caller never sent is 404; a policy without onward sharing is the node's own 403", async (t) => {
  const { a, b } = await pair(t)
  await b.addPartner(charlie)
  const { share } = await deliver(a, b, testPolicy(FEDERATION))

  const unknown = refused(t, await post(b, alpha, FEDERATION_PATHS.controlShareOnward('no-such-share'), {}), 404, 'CW_ERR_NOT_FOUND')
  // charlie, an enabled partner, names alpha's share: not a share charlie sent — the same answer.
  const notCharlies = refused(t, await post(b, charlie, FEDERATION_PATHS.controlShareOnward(share.id), {}), 404, 'CW_ERR_NOT_FOUND')
  t.equal(notCharlies['detail'], (unknown['detail'] as string).replace('no-such-share', share.id), 'the same answer as an unknown id')
  refused(t, await post(b, alpha, FEDERATION_PATHS.controlShareOnward(share.id), { reason: 'x' }), 400, 'CW_ERR_BAD_REQUEST', '/reason')

  // widePolicy allows 2 hops; a policy that allows none is refused before anything is signed.
  const { share: closed } = await deliver(a, b, onwardPolicy(0))
  refused(t, await post(b, alpha, FEDERATION_PATHS.controlShareOnward(closed.id), {}), 403, 'CW_ERR_CHAIN_DEPTH_EXCEEDED', '/permissions/shareOnward')
  // A list of onward partners without the caller: the node's own refusal too.
  const { share: elsewhere } = await deliver(a, b, onwardPolicy(1, ['charlie']))
  refused(t, await post(b, alpha, FEDERATION_PATHS.controlShareOnward(elsewhere.id), {}), 403, 'CW_ERR_PARTNER_NOT_ALLOWED')
  t.same(await b.store.outboundShares.list(), [], 'bravo shared nothing onward')
})

// spec: CW-CTL-001
t.test('off: EP-9 is an unknown path (404 CW_ERR_NOT_FOUND), even for a share the caller sent', async (t) => {
  const { a, b } = await pair(t, false)
  const { share } = await deliver(a, b, onwardPolicy(2))
  refused(t, await post(b, alpha, FEDERATION_PATHS.controlShareOnward(share.id), {}), 404, 'CW_ERR_NOT_FOUND')
  t.same(await b.store.outboundShares.list(), [], 'bravo shared nothing onward')
})
