import { randomBytes } from 'node:crypto'
import t from 'tap'
import { verifyManifest, enforceManifest } from '#protocol'
import { piecesOf } from '../../support/fixtures.ts'
import { createTestOrg } from '../../../../testkit/fixtures/orgs.ts'
import { createTestApp } from '../../support/local_app.ts'
import { policyBody } from '../../../../testkit/fixtures/policies.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
const da = await createTestOrg('county-da')
await ta.call({ method: 'POST', url: '/api/v1/partners', payload: { bundle: da.bundle, fingerprint: da.bundle.caFingerprint } })
const policy = (await ta.call({ method: 'POST', url: '/api/v1/policies', payload: policyBody({ id: 'da-policy' }) })).json()
await ta.call({ method: 'PUT', url: '/api/v1/partners/county-da/policy', payload: { policyId: 'da-policy' } })

// The member owns the case (CW-LOC-002); the admin may administer it too.
const theCase = (
  await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Assault', description: 'internal' } }, token: ta.memberToken })
).json()
async function uploadItem(query: Record<string, string>): Promise<{ id: string; digest: string }> {
  const response = await ta.call({
    method: 'POST',
    url: `/api/v1/cases/${theCase.id}/evidence?${new URLSearchParams(query).toString()}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: piecesOf(randomBytes(5000)),
  })
  return response.json()
}
const video = await uploadItem({ name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4' })
const secret = await uploadItem({ name: 'source.mp4', category: 'video', mediaType: 'video/mp4', doNotDisclose: 'true' })
const audio = await uploadItem({ name: 'call.wav', category: 'audio', mediaType: 'audio/wav' })

// spec: CW-POL-002
t.test('naming do-not-disclose evidence is 403 CW_ERR_DO_NOT_DISCLOSE naming the item', async (t) => {
  const response = await ta.call({
    method: 'POST',
    url: '/api/v1/shares',
    payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds: [video.id, secret.id] },
    token: ta.memberToken,
  })
  t.equal(response.statusCode, 403)
  t.match(response.json(), { code: 'CW_ERR_DO_NOT_DISCLOSE', at: '/evidenceIds/1' })
  t.match(response.json().detail, secret.id)
})

// spec: CW-POL-002
t.test('naming evidence of a category the policy excludes is 403 CW_ERR_POLICY_VIOLATION', async (t) => {
  const response = await ta.call({
    method: 'POST',
    url: '/api/v1/shares',
    payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds: [audio.id] },
  })
  t.equal(response.statusCode, 403)
  t.match(response.json(), { code: 'CW_ERR_POLICY_VIOLATION', at: '/evidenceIds/0' })
})

// spec: CW-POL-002, CW-POL-003, CW-MAN-001
t.test('a case share leaves DND out, is processing, and its manifest verifies for the partner', async (t) => {
  const response = await ta.call({
    method: 'POST',
    url: '/api/v1/shares',
    payload: {
      caseId: theCase.id,
      partnerOrg: 'county-da',
      scope: 'case',
      message: 'Please review',
      recipients: [{ kind: 'email', id: 'ada@county-da.example' }],
    },
    token: ta.memberToken,
  })
  t.equal(response.statusCode, 201)
  const share = response.json()
  t.match(share, {
    caseId: theCase.id,
    partnerOrg: 'county-da',
    scope: 'case',
    status: 'processing',
    statusCode: null,
    revision: 1,
    createdBy: 'det-smith',
    message: 'Please review',
  })
  t.same(share.policy, policy.policy)
  t.same(ta.jobs.at(-1), { kind: 'offer', ref: share.id, payload: { revision: 1 } })
  const revision = await ta.ctx.store.outboundShares.getRevision(share.id, 1)
  const verified = await verifyManifest(revision!.manifestJws, { trustAnchors: [ta.self.anchor], audience: 'county-da' })
  enforceManifest(verified)
  t.same(
    verified.manifest.evidence.map((item) => item.id),
    [video.id],
  )
  t.same(verified.manifest.case.fields, { title: 'Assault' })

  t.same((await ta.call({ method: 'GET', url: `/api/v1/shares/${share.id}` })).json(), share)
  t.same(
    (await ta.call({ method: 'GET', url: `/api/v1/shares?caseId=${theCase.id}` })).json().shares.map((s: { id: string }) => s.id),
    [share.id],
  )
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/shares' })).statusCode, 400, 'caseId is required')
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/shares/missing' })).statusCode, 404)
})

// spec: CW-POL-007
t.test('a share made under v1 keeps v1 after v2 is created and assigned', async (t) => {
  const first = (
    await ta.call({
      method: 'POST',
      url: '/api/v1/shares',
      payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds: [video.id] },
    })
  ).json()
  t.equal(first.policy.version, 1)
  const v2 = await ta.call({
    method: 'POST',
    url: '/api/v1/policies/da-policy/versions',
    payload: policyBody({ permissions: { view: true, download: false, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } } }),
  })
  t.equal(v2.json().version, 2)
  t.equal((await ta.call({ method: 'PUT', url: '/api/v1/partners/county-da/policy', payload: { policyId: 'da-policy' } })).json().policyVersion, 2)
  const after = (await ta.call({ method: 'GET', url: `/api/v1/shares/${first.id}` })).json()
  t.same(after.policy, first.policy, 'unchanged')
  t.equal(after.policy.permissions.download, true)
  const second = (
    await ta.call({
      method: 'POST',
      url: '/api/v1/shares',
      payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds: [video.id] },
    })
  ).json()
  t.equal(second.policy.version, 2)
})

t.test('a share with a partner that is unknown, disabled or without policy is 409', async (t) => {
  const unknown = await ta.call({ method: 'POST', url: '/api/v1/shares', payload: { caseId: theCase.id, partnerOrg: 'state-lab', scope: 'case' } })
  t.equal(unknown.statusCode, 409)
  t.equal(unknown.json().code, 'CW_ERR_CONFLICT')
  await ta.call({ method: 'POST', url: '/api/v1/partners/county-da/disable' })
  t.teardown(() => ta.call({ method: 'POST', url: '/api/v1/partners/county-da/enable' }))
  const disabled = await ta.call({ method: 'POST', url: '/api/v1/shares', payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' } })
  t.match(disabled.json(), { code: 'CW_ERR_CONFLICT', detail: /disabled/ })
  const createdBy = await ta.call({
    method: 'POST',
    url: '/api/v1/shares',
    payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'someone-else' },
  })
  t.equal(createdBy.statusCode, 400, 'createdBy comes from the token, never the body')
})

// spec: CW-POL-004
t.test('the sharer chooses the expiry with expiresInSeconds; the policy bound still caps it', async (t) => {
  const share = async (expiresInSeconds: unknown) =>
    ta.call({
      method: 'POST',
      url: '/api/v1/shares',
      payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'evidence', evidenceIds: [video.id], expiresInSeconds },
      token: ta.memberToken,
    })
  const short = await share(120)
  t.equal(short.statusCode, 201)
  const shortShare = short.json()
  t.equal(shortShare.expiresAt - shortShare.createdAt, 120, 'expires 120 s after it was made')
  t.ok(Math.abs(shortShare.expiresAt - (Math.floor(Date.now() / 1000) + 120)) <= 2, 'about 120 s from now')
  const manifest = JSON.parse(
    Buffer.from((await ta.ctx.store.outboundShares.getRevision(shortShare.id, 1))!.manifestJws.split('.')[1]!, 'base64url').toString('utf8'),
  )
  t.equal(manifest.exp, shortShare.expiresAt, 'the signed manifest carries the same expiry')

  const long = (await share(10_000_000)).json()
  t.equal(long.expiresAt - long.createdAt, long.policy.maxDurationSeconds, "capped at the policy's maxDurationSeconds")
  t.equal(long.policy.maxDurationSeconds, 86_400)
  const none = (await share(undefined)).json()
  t.equal(none.expiresAt - none.createdAt, 86_400, 'without it: the configured duration and the policy bound it as before')

  for (const bad of [0, -5, 1.5, '60']) {
    const response = await share(bad)
    t.equal(response.statusCode, 400, `expiresInSeconds ${JSON.stringify(bad)}`)
    t.equal(response.json().code, 'CW_ERR_BAD_REQUEST')
  }
})
