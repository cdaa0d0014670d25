import t from 'tap'
import { createTestOrg } from '../../../../testkit/fixtures/orgs.ts'
import { createTestApp } from '../../support/local_app.ts'
import { policyBody } from '../../../../testkit/fixtures/policies.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
const da = await createTestOrg('county-da')

// spec: CW-TRUST-002, CW-TRUST-003
t.test('POST /partners pins a partner from its bundle and fingerprint', async (t) => {
  const response = await ta.call({
    method: 'POST',
    url: '/api/v1/partners',
    payload: { bundle: da.bundle, fingerprint: da.bundle.caFingerprint.slice('sha256:'.length).toUpperCase() },
  })
  t.equal(response.statusCode, 201)
  t.same(response.json(), {
    org: 'county-da',
    name: da.name,
    endpoint: da.bundle.endpoint,
    caFingerprint: da.bundle.caFingerprint,
    enabled: true,
    policyId: null,
    policyVersion: null,
    addedAt: response.json().addedAt,
    trustOnly: false,
  })
  t.notOk('caCertificate' in response.json(), 'only allow-listed fields are returned')
  const list = await ta.call({ method: 'GET', url: '/api/v1/partners' })
  t.same(
    list.json().partners.map((p: { org: string }) => p.org),
    ['county-da'],
  )
})

// spec: CW-TRUST-002
t.test('a wrong fingerprint is 422 CW_ERR_FINGERPRINT_MISMATCH', async (t) => {
  const lab = await createTestOrg('state-lab')
  const response = await ta.call({ method: 'POST', url: '/api/v1/partners', payload: { bundle: lab.bundle, fingerprint: da.bundle.caFingerprint } })
  t.equal(response.statusCode, 422)
  t.match(response.json(), { code: 'CW_ERR_FINGERPRINT_MISMATCH', at: '/caFingerprint' })
  t.notMatch(response.json().detail, /[0-9a-f]{64}/, 'the detail names neither fingerprint')
})

t.test('our own organization is refused', async (t) => {
  const response = await ta.call({ method: 'POST', url: '/api/v1/partners', payload: { bundle: ta.self.bundle, fingerprint: ta.self.bundle.caFingerprint } })
  t.equal(response.statusCode, 400)
  t.match(response.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/bundle/org' })
})

t.test('a malformed import body is 400 naming the field', async (t) => {
  const response = await ta.call({ method: 'POST', url: '/api/v1/partners', payload: { bundle: da.bundle } })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'CW_ERR_BAD_REQUEST')
  const schema = await ta.call({
    method: 'POST',
    url: '/api/v1/partners',
    payload: { bundle: { ...da.bundle, extra: 1 }, fingerprint: da.bundle.caFingerprint },
  })
  t.match(schema.json(), { code: 'CW_ERR_SCHEMA_INVALID', at: '/extra' })
})

t.test('disable, enable and policy assignment', async (t) => {
  const disabled = await ta.call({ method: 'POST', url: '/api/v1/partners/county-da/disable' })
  t.equal(disabled.json().enabled, false)
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/partners/county-da/enable' })).json().enabled, true)
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/partners/nobody/enable' })).statusCode, 404)
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/partners/Not_An_Org/enable' })).json().code, 'CW_ERR_BAD_REQUEST')
  const policy = (await ta.call({ method: 'POST', url: '/api/v1/policies', payload: policyBody() })).json()
  const assigned = await ta.call({ method: 'PUT', url: '/api/v1/partners/county-da/policy', payload: { policyId: policy.id } })
  t.equal(assigned.statusCode, 200)
  t.match(assigned.json(), { policyId: policy.id, policyVersion: 1 })
  const missing = await ta.call({ method: 'PUT', url: '/api/v1/partners/county-da/policy', payload: { policyId: policy.id, version: 5 } })
  t.equal(missing.statusCode, 404)
})

// spec: CW-PROV-008, CW-TRUST-002
t.test('POST /partners with trustOnly pins an anchor for signed objects only, after the same fingerprint check', async (t) => {
  const origin = await createTestOrg('origin-pd')
  const wrong = await ta.call({
    method: 'POST',
    url: '/api/v1/partners',
    payload: { bundle: origin.bundle, fingerprint: da.bundle.caFingerprint, trustOnly: true },
  })
  t.equal(wrong.statusCode, 422)
  t.equal(wrong.json().code, 'CW_ERR_FINGERPRINT_MISMATCH')
  const response = await ta.call({
    method: 'POST',
    url: '/api/v1/partners',
    payload: { bundle: origin.bundle, fingerprint: origin.bundle.caFingerprint, trustOnly: true },
  })
  t.equal(response.statusCode, 201)
  t.match(response.json(), { org: 'origin-pd', enabled: true, trustOnly: true })
  t.ok(
    (await ta.ctx.trustAnchors()).some((anchor) => anchor.org === 'origin-pd'),
    'an anchor for signed objects',
  )
  t.notOk(
    (await ta.ctx.tlsAnchors()).some((anchor) => anchor.org === 'origin-pd'),
    'never for TLS',
  )
  const list = await ta.call({ method: 'GET', url: '/api/v1/partners' })
  t.match(
    list.json().partners.find((p: { org: string }) => p.org === 'origin-pd'),
    { trustOnly: true },
  )
  // Re-imported without the flag, it becomes a full partner.
  const full = await ta.call({ method: 'POST', url: '/api/v1/partners', payload: { bundle: origin.bundle, fingerprint: origin.bundle.caFingerprint } })
  t.equal(full.json().trustOnly, false)
  t.ok((await ta.ctx.tlsAnchors()).some((anchor) => anchor.org === 'origin-pd'))
})
