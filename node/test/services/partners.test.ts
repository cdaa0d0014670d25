import t from 'tap'
import { assignPolicy, importPartner, listPartners, setPartnerEnabled } from '../../src/partners/partners.ts'
import { createPolicy, createPolicyVersion } from '../../src/partners/policies.ts'
import { createTestContext } from '../support/context.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'
import { policyBody } from '../../../testkit/fixtures/policies.ts'

const tc = await createTestContext()
t.teardown(() => tc.close())
const da = await createTestOrg('county-da')

// spec: CW-TRUST-002, CW-TRUST-003
t.test('importPartner pins a checked bundle, enabled, without policy, and reloads trust', async (t) => {
  const before = tc.trustChanges()
  const partner = await importPartner(tc.ctx, da.bundle, da.bundle.caFingerprint)
  t.match(partner, { org: 'county-da', name: da.name, enabled: true, policyId: null, policyVersion: null, caFingerprint: da.bundle.caFingerprint })
  t.equal(tc.trustChanges(), before + 1)
  t.same(
    (await tc.ctx.trustAnchors()).map((anchor) => anchor.org),
    ['county-pd', 'county-da'],
    'our own CA, then the partner',
  )
  t.same(
    (await tc.ctx.tlsAnchors()).map((anchor) => anchor.org),
    ['county-da'],
    'TLS: the partner only',
  )
  t.same(
    (await listPartners(tc.ctx)).map((p) => p.org),
    ['county-da'],
  )
})

// spec: CW-TRUST-002
t.test("a fingerprint other than the bundle CA's is CW_ERR_FINGERPRINT_MISMATCH and pins nothing", async (t) => {
  const lab = await createTestOrg('state-lab')
  await t.rejects(importPartner(tc.ctx, lab.bundle, da.bundle.caFingerprint), { code: 'CW_ERR_FINGERPRINT_MISMATCH' })
  t.equal(await tc.ctx.store.partners.get('state-lab'), undefined)
  await t.rejects(importPartner(tc.ctx, lab.bundle, 'not a fingerprint'), { code: 'CW_ERR_BAD_REQUEST', at: '/fingerprint' })
})

// spec: CW-TRUST-003
t.test('a bundle whose CA is not its org is refused', async (t) => {
  const lab = await createTestOrg('state-lab')
  await t.rejects(importPartner(tc.ctx, { ...lab.bundle, org: 'other-lab' }, lab.bundle.caFingerprint), { code: 'CW_ERR_BUNDLE_INVALID' })
})

t.test('our own organization cannot be imported as a partner', async (t) => {
  await t.rejects(importPartner(tc.ctx, tc.self.bundle, tc.self.bundle.caFingerprint), { code: 'CW_ERR_BAD_REQUEST', at: '/bundle/org' })
  t.equal(await tc.ctx.store.partners.get(tc.self.org), undefined)
})

t.test('disable and enable change the trust anchors', async (t) => {
  const before = tc.trustChanges()
  t.equal((await setPartnerEnabled(tc.ctx, 'county-da', false)).enabled, false)
  t.same(
    (await tc.ctx.trustAnchors()).map((anchor) => anchor.org),
    ['county-pd'],
    'only our own CA',
  )
  t.same(await tc.ctx.tlsAnchors(), [])
  t.equal((await setPartnerEnabled(tc.ctx, 'county-da', true)).enabled, true)
  t.same(
    (await tc.ctx.trustAnchors()).map((anchor) => anchor.org),
    ['county-pd', 'county-da'],
  )
  t.equal(tc.trustChanges(), before + 2)
  await t.rejects(setPartnerEnabled(tc.ctx, 'nobody', true), { code: 'CW_ERR_NOT_FOUND' })
})

t.test('assignPolicy takes the latest version unless one is named; re-import keeps it', async (t) => {
  const v1 = await createPolicy(tc.ctx, policyBody())
  await createPolicyVersion(tc.ctx, v1.id, policyBody({ name: 'v2' }))
  t.match(await assignPolicy(tc.ctx, 'county-da', v1.id), { policyId: v1.id, policyVersion: 2 })
  t.match(await assignPolicy(tc.ctx, 'county-da', v1.id, 1), { policyId: v1.id, policyVersion: 1 })
  await t.rejects(assignPolicy(tc.ctx, 'county-da', v1.id, 9), { code: 'CW_ERR_NOT_FOUND' })
  await t.rejects(assignPolicy(tc.ctx, 'county-da', 'missing'), { code: 'CW_ERR_NOT_FOUND' })
  await t.rejects(assignPolicy(tc.ctx, 'nobody', v1.id), { code: 'CW_ERR_NOT_FOUND' })
  await setPartnerEnabled(tc.ctx, 'county-da', false)
  const again = await importPartner(tc.ctx, da.bundle, da.bundle.caFingerprint)
  t.match(again, { enabled: false, policyId: v1.id, policyVersion: 1 }, 're-import keeps state and policy')
})
