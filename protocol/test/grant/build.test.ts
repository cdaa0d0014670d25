import t from 'tap'
import { digestJson } from '../../src/canonical/digest.ts'
import { onwardGrant, originGrant } from '../../src/grant/build.ts'
import { assertGrant } from '../../src/schema/validate.ts'
import { fakeDigest } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy, NARROW } from '../../../testkit/fixtures/policies.ts'

const evidence = [fakeDigest('b'), fakeDigest('a'), fakeDigest('b')]

// spec: CW-PROV-001
t.test('the origin grant has depth 0, no parent, and its issuer as originator', async (t) => {
  const grant = originGrant({ iss: 'pd', aud: 'da', share: 's-1', policy: testPolicy(), evidence, iat: 1_000 })
  assertGrant(grant)
  t.equal(grant.depth, 0)
  t.equal(grant.parent, undefined)
  t.equal(grant.originator, 'pd')
  t.equal(grant.exp, 1_000 + testPolicy().maxDurationSeconds, 'exp defaults to the longest the policy allows')
  t.same(grant.evidence, [fakeDigest('a'), fakeDigest('b')].sort(), 'evidence sorted and unique')
  t.equal(grant.revision, 1)
})

// spec: CW-PROV-003
t.test('an onward grant links to its parent', async (t) => {
  const parent = originGrant({ iss: 'pd', aud: 'da', share: 's-1', policy: testPolicy(), evidence, iat: 1_000, exp: 5_000 })
  const child = onwardGrant(parent, { aud: 'court', share: 's-7', policy: testPolicy(NARROW), iat: 2_000 })
  assertGrant(child)
  t.equal(child.iss, 'da', 'issued by the parent audience')
  t.equal(child.depth, 1)
  t.equal(child.parent, digestJson(parent))
  t.equal(child.originator, 'pd')
  t.equal(child.exp, 5_000, 'exp capped at the parent expiry')
  t.same(child.evidence, parent.evidence, 'all of the parent evidence by default')
  const subset = onwardGrant(parent, { aud: 'court', share: 's-7', policy: testPolicy(NARROW), evidence: [fakeDigest('a')] })
  t.same(subset.evidence, [fakeDigest('a')])
  t.not(subset.jti, child.jti, 'a fresh jti each time')
})
