import t from 'tap'
import { enforceManifestPolicy } from '../../src/policy/enforce_manifest.ts'
import { sampleManifest } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy } from '../../../testkit/fixtures/policies.ts'

const manifest = () => sampleManifest({ iss: 'pd', aud: 'da', iat: 1_700_000_000, exp: 1_700_086_400, grants: ['a.b.c'] })

// spec: CW-POL-003
t.test('a manifest within the policy is accepted', async (t) => {
  t.doesNotThrow(() => enforceManifestPolicy(manifest(), testPolicy()))
})

// spec: CW-POL-003
t.test('do-not-disclose evidence is refused before anything else', async (t) => {
  const m = manifest()
  m.evidence[2]!.doNotDisclose = true
  const policy = testPolicy()
  policy.content.caseFields = [] // also a field violation: DND wins
  t.throws(() => enforceManifestPolicy(m, policy), { code: 'CW_ERR_DO_NOT_DISCLOSE', at: '/evidence/2/doNotDisclose' })
})

// spec: CW-POL-003
t.test('a case field the policy does not list is refused', async (t) => {
  const policy = testPolicy()
  policy.content.caseFields = ['title']
  t.throws(() => enforceManifestPolicy(manifest(), policy), { code: 'CW_ERR_POLICY_VIOLATION', at: '/case/fields/offenses' })
})

// spec: CW-POL-003
t.test('an evidence category the policy does not list is refused', async (t) => {
  const policy = testPolicy()
  policy.content.evidenceCategories = ['photo', 'document']
  t.throws(() => enforceManifestPolicy(manifest(), policy), { code: 'CW_ERR_POLICY_VIOLATION', at: '/evidence/0/category' })
})

// spec: CW-POL-003
t.test('an attachment is refused when the policy allows none', async (t) => {
  const policy = testPolicy()
  policy.content.attachments = false
  t.throws(() => enforceManifestPolicy(manifest(), policy), { code: 'CW_ERR_POLICY_VIOLATION', at: '/evidence/2/attachmentOf' })
  const m = manifest()
  m.evidence.pop()
  t.doesNotThrow(() => enforceManifestPolicy(m, policy), 'the same manifest without the attachment passes')
})

// spec: CW-POL-003
t.test('a field name is escaped in the JSON pointer', async (t) => {
  const m = manifest()
  m.case.fields['a/b~c'] = 'x'
  t.throws(() => enforceManifestPolicy(m, testPolicy()), { code: 'CW_ERR_POLICY_VIOLATION', at: '/case/fields/a~1b~0c' })
})
