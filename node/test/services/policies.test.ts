import t from 'tap'
import { createPolicy, createPolicyVersion, getPolicy, listPolicies } from '../../src/partners/policies.ts'
import { createTestContext } from '../support/context.ts'
import { policyBody } from '../../../testkit/fixtures/policies.ts'

const tc = await createTestContext()
t.teardown(() => tc.close())

// spec: CW-POL-001
t.test('createPolicy assigns an id and version 1 and stores a schema-valid policy', async (t) => {
  const record = await createPolicy(tc.ctx, policyBody())
  t.match(record.id, /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)
  t.equal(record.version, 1)
  t.equal(record.policy.id, record.id)
  t.equal(record.policy.version, 1)
  t.same((await getPolicy(tc.ctx, record.id)).policy, record.policy)
})

t.test('createPolicy keeps a given id and refuses a duplicate one', async (t) => {
  const record = await createPolicy(tc.ctx, policyBody({ id: 'da-standard' }))
  t.equal(record.id, 'da-standard')
  await t.rejects(createPolicy(tc.ctx, policyBody({ id: 'da-standard' })), { code: 'CW_ERR_CONFLICT' })
})

// spec: CW-POL-001
t.test('an invalid policy is CW_ERR_BAD_REQUEST carrying the schema location', async (t) => {
  const viewFalse = policyBody()
  ;(viewFalse['permissions'] as Record<string, unknown>)['view'] = false
  await t.rejects(createPolicy(tc.ctx, viewFalse), { code: 'CW_ERR_BAD_REQUEST', at: '/permissions/view' })
  await t.rejects(createPolicy(tc.ctx, { ...policyBody(), surprise: true }), { code: 'CW_ERR_BAD_REQUEST', at: '/surprise' })
  await t.rejects(createPolicy(tc.ctx, policyBody({ maxDurationSeconds: 10 })), { code: 'CW_ERR_BAD_REQUEST', at: '/maxDurationSeconds' })
  await t.rejects(createPolicy(tc.ctx, { ...policyBody(), version: 3 }), { code: 'CW_ERR_BAD_REQUEST', at: '/version' })
  await t.rejects(createPolicy(tc.ctx, []), { code: 'CW_ERR_BAD_REQUEST' })
})

// spec: CW-POL-007
t.test('a new version is version + 1 and leaves the old version unchanged', async (t) => {
  const v1 = await createPolicy(tc.ctx, policyBody())
  const v2 = await createPolicyVersion(tc.ctx, v1.id, policyBody({ name: 'Narrower', maxDurationSeconds: 3600 }))
  t.equal(v2.version, 2)
  t.equal(v2.policy.version, 2)
  t.equal(v2.policy.id, v1.id)
  t.same((await getPolicy(tc.ctx, v1.id, 1)).policy, v1.policy, 'version 1 as it was')
  t.equal((await getPolicy(tc.ctx, v1.id)).version, 2, 'latest is 2')
  const listed = (await listPolicies(tc.ctx)).find((record) => record.id === v1.id)
  t.equal(listed?.version, 2, 'the list shows the latest version')
  const v3 = await createPolicyVersion(tc.ctx, v1.id, { ...policyBody(), id: v1.id, version: 3 })
  t.equal(v3.version, 3)
})

t.test('createPolicyVersion refuses an unknown policy, another id, a wrong version number', async (t) => {
  await t.rejects(createPolicyVersion(tc.ctx, 'nope', policyBody()), { code: 'CW_ERR_NOT_FOUND' })
  const v1 = await createPolicy(tc.ctx, policyBody())
  await t.rejects(createPolicyVersion(tc.ctx, v1.id, policyBody({ id: 'other' })), { code: 'CW_ERR_BAD_REQUEST', at: '/id' })
  await t.rejects(createPolicyVersion(tc.ctx, v1.id, { ...policyBody(), version: 7 }), { code: 'CW_ERR_BAD_REQUEST', at: '/version' })
  await t.rejects(getPolicy(tc.ctx, v1.id, 2), { code: 'CW_ERR_NOT_FOUND' })
})
