import t from 'tap'
import { onwardGrant, originGrant } from '../../src/grant/build.ts'
import { signGrant } from '../../src/grant/sign.ts'
import { verifySigned } from '../../src/jws/verify.ts'
import { assertGrant } from '../../src/schema/validate.ts'
import { createTestOrgs } from '../../../testkit/fixtures/orgs.ts'
import { NOW, NOW_SECONDS } from '../helpers/orgs.ts'
import { fakeDigest } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy, onwardHops } from '../../../testkit/fixtures/policies.ts'

const [pd, da] = await createTestOrgs(['pd', 'da'], { now: NOW })
const grant = () => originGrant({ iss: 'pd', aud: 'da', share: 's-1', policy: testPolicy(), evidence: [fakeDigest('a'), fakeDigest('b')], iat: NOW_SECONDS })

// spec: CW-PROV-002, CW-SIG-005
t.test('a signed grant verifies as a caseway-grant+jws with its payload intact', async (t) => {
  const original = grant()
  const jws = await signGrant(original, pd!.signer)
  const verified = await verifySigned('grant', jws, { trustAnchors: [pd!.anchor], currentDate: NOW })
  t.equal(verified.header['typ'], 'caseway-grant+jws')
  assertGrant(verified.payload)
  t.same(verified.payload, original)
  t.equal(verified.signer.org, 'pd')
})

t.test('an invalid grant is a caller bug (TypeError)', async (t) => {
  const extra = { ...grant(), extra: true }
  await t.rejects(signGrant(extra as never, pd!.signer), { name: 'TypeError', cause: { code: 'CW_ERR_SCHEMA_INVALID' } }, 'unknown property')
  const unsorted = grant()
  unsorted.evidence.reverse()
  await t.rejects(signGrant(unsorted, pd!.signer), TypeError, 'evidence not sorted')
  const duplicate = grant()
  duplicate.evidence = [fakeDigest('a'), fakeDigest('a')]
  await t.rejects(signGrant(duplicate, pd!.signer), TypeError, 'evidence duplicated')
  const orphan = onwardGrant(grant(), { aud: 'court', share: 's-2', policy: testPolicy(onwardHops(7)), iat: NOW_SECONDS })
  delete orphan.parent
  await t.rejects(signGrant(orphan, da!.signer), TypeError, 'depth 1 without a parent')
})

// spec: CW-POL-004
t.test('a grant longer than its policy allows is not signed', async (t) => {
  const long = grant()
  long.exp = long.iat + long.policy.maxDurationSeconds + 1
  await t.rejects(signGrant(long, pd!.signer), TypeError)
})
