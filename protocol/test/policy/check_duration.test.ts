import t from 'tap'
import { checkGrantDuration } from '../../src/policy/check_duration.ts'
import { testPolicy, NARROW } from '../../../testkit/fixtures/policies.ts'

// spec: CW-POL-004
t.test('a grant lasting exactly the policy maximum is accepted', async (t) => {
  const policy = testPolicy(NARROW)
  t.doesNotThrow(() => checkGrantDuration({ iat: 1_000, exp: 1_000 + policy.maxDurationSeconds, policy }))
})

// spec: CW-POL-004
t.test('a grant lasting one second longer is refused at its exp', async (t) => {
  const policy = testPolicy(NARROW)
  const grant = { iat: 1_000, exp: 1_001 + policy.maxDurationSeconds, policy }
  t.throws(() => checkGrantDuration(grant), { code: 'CW_ERR_DURATION_EXCEEDED', at: '/exp' })
  t.throws(() => checkGrantDuration(grant, '/grants/2'), { code: 'CW_ERR_DURATION_EXCEEDED', at: '/grants/2/exp' })
})
