import t from 'tap'
import { digestJson } from '../../src/canonical/digest.ts'
import { PolicyError, VerificationError } from '../../src/errors.ts'
import { signObject } from '../../src/jws/sign.ts'
import { enforceManifest } from '../../src/manifest/enforce.ts'
import { signManifest } from '../../src/manifest/sign.ts'
import { verifyManifest } from '../../src/manifest/verify.ts'
import type { CaseManifest, SharingPolicy } from '../../src/types.gen.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { buildChain, NOW, NOW_SECONDS } from '../helpers/orgs.ts'
import { sampleManifest } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy, onwardHops, NARROW } from '../../../testkit/fixtures/policies.ts'

const orgs = await createTestOrgs(['pd', 'da', 'court', 'lab'], { now: NOW })
const [pd, da, court, lab] = orgs as [TestOrg, TestOrg, TestOrg, TestOrg]
const trustAnchors = orgs.map((org) => org.anchor)
const template = sampleManifest({ iss: 'pd', aud: 'da', iat: NOW_SECONDS, exp: NOW_SECONDS + 3_600, grants: [] })
const evidence = template.evidence.map((item) => item.digest)

/** A manifest from chain[last].iss to chain[last].aud carrying the chain pd → … → orgs.at(-1). */
async function manifestOver(chainOrgs: TestOrg[], policies?: SharingPolicy[]): Promise<CaseManifest> {
  const options = policies === undefined ? { evidence } : { evidence, policies }
  const { jws } = await buildChain(chainOrgs, options)
  return sampleManifest({ iss: chainOrgs.at(-2)!.org, aud: chainOrgs.at(-1)!.org, iat: NOW_SECONDS, exp: NOW_SECONDS + 3_600, grants: jws })
}

/** Signs bypassing signManifest's checks. */
const rawSign = (manifest: CaseManifest, org: TestOrg) => signObject('manifest', manifest as unknown as Record<string, unknown>, org.signer)
const verify = (jws: string, audience: string) => verifyManifest(jws, { trustAnchors, audience, currentDate: NOW })

// spec: CW-SIG-001, CW-MAN-001, CW-PROV-007
t.test('a direct share (one grant) verifies and passes enforcement', async (t) => {
  const manifest = await manifestOver([pd, da])
  const jws = await signManifest(manifest, pd.signer)
  const verified = await verify(jws, 'da')
  t.same(verified.manifest, manifest)
  t.equal(verified.digest, digestJson(manifest))
  t.equal(verified.signer.org, 'pd')
  t.equal(verified.chain.originator, 'pd')
  t.doesNotThrow(() => enforceManifest(verified))
})

// spec: CW-PROV-001, CW-PROV-003, CW-PROV-007
t.test('an onward share over three grants verifies and passes enforcement', async (t) => {
  const manifest = await manifestOver([pd, da, court, lab])
  const verified = await verify(await signManifest(manifest, court.signer), 'lab')
  t.equal(verified.chain.grants.length, 3)
  t.same(
    verified.chain.signers.map((signer) => signer.org),
    ['pd', 'da', 'court'],
  )
  t.doesNotThrow(() => enforceManifest(verified))
})

t.test('signManifest refuses an invalid manifest as a caller bug', async (t) => {
  const manifest = await manifestOver([pd, da])
  manifest.share.revision = 2
  await t.rejects(signManifest(manifest, pd.signer), { name: 'TypeError', cause: { code: 'CW_ERR_SCHEMA_INVALID', at: '/share/previous' } })
  const extra = { ...(await manifestOver([pd, da])), extra: 1 }
  await t.rejects(signManifest(extra as CaseManifest, pd.signer), { name: 'TypeError', cause: { code: 'CW_ERR_SCHEMA_INVALID' } })
})

t.test('bad options are caller bugs', async (t) => {
  const jws = await signManifest(await manifestOver([pd, da]), pd.signer)
  await t.rejects(verifyManifest(jws, { trustAnchors } as never), TypeError)
})

// spec: CW-SIG-010
t.test('a manifest addressed to another organization is refused', async (t) => {
  const jws = await signManifest(await manifestOver([pd, da]), pd.signer)
  await t.rejects(verify(jws, 'court'), { code: 'CW_ERR_AUDIENCE_MISMATCH' })
})

// spec: CW-FMT-004
t.test('a manifest that violates its schema is refused', async (t) => {
  const manifest = await manifestOver([pd, da])
  ;(manifest.evidence[0] as unknown as Record<string, unknown>)['size'] = '100'
  await t.rejects(verify(await rawSign(manifest, pd), 'da'), { code: 'CW_ERR_SCHEMA_INVALID', at: '/evidence/0/size' })
})

// spec: CW-MAN-001
t.test('revision 2 without previous is refused', async (t) => {
  const manifest = await manifestOver([pd, da])
  manifest.share.revision = 2
  await t.rejects(verify(await rawSign(manifest, pd), 'da'), { code: 'CW_ERR_SCHEMA_INVALID', at: '/share/previous' })
})

// spec: CW-MAN-002, CW-FMT-003
t.test('an inconsistent chunk count is refused', async (t) => {
  const manifest = await manifestOver([pd, da])
  manifest.evidence[1]!.chunks.push(manifest.evidence[1]!.chunks[0]!)
  await t.rejects(verify(await rawSign(manifest, pd), 'da'), { code: 'CW_ERR_SCHEMA_INVALID', at: '/evidence/1/chunks' })
})

// spec: CW-PROV-007
t.test('evidence the last grant does not cover is refused', async (t) => {
  const manifest = await manifestOver([pd, da])
  manifest.evidence[1]!.digest = manifest.evidence[1]!.chunks[0]! // altered content, same id
  await t.rejects(verify(await signManifest(manifest, pd.signer), 'da'), { code: 'CW_ERR_EVIDENCE_ALTERED', at: '/evidence/1/digest' })
})

// spec: CW-PROV-007
t.test('a manifest whose last grant is addressed to another organization is refused', async (t) => {
  const { jws } = await buildChain([pd, da], { evidence })
  const manifest = sampleManifest({ iss: 'pd', aud: 'court', iat: NOW_SECONDS, exp: NOW_SECONDS + 3_600, grants: jws })
  await t.rejects(verify(await signManifest(manifest, pd.signer), 'court'), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/0/aud' })
})

// spec: CW-PROV-004
t.test('a manifest over a widened chain is refused by verification with a PolicyError', async (t) => {
  const policies = [testPolicy(onwardHops(1)), testPolicy(onwardHops(1))]
  const manifest = await manifestOver([pd, da, court], policies)
  const error = await verify(await signManifest(manifest, da.signer), 'court').catch((caught: unknown) => caught)
  t.ok(error instanceof PolicyError)
  t.match(error, { code: 'CW_ERR_POLICY_WIDENED', at: '/grants/1/policy/permissions/shareOnward/maxDepth' })
})

// spec: CW-POL-003
t.test('do-not-disclose evidence is refused by enforcement', async (t) => {
  const manifest = await manifestOver([pd, da])
  manifest.evidence[0]!.doNotDisclose = true
  const verified = await verify(await signManifest(manifest, pd.signer), 'da')
  t.throws(() => enforceManifest(verified), { code: 'CW_ERR_DO_NOT_DISCLOSE', at: '/evidence/0/doNotDisclose' })
})

// spec: CW-POL-003, CW-PROV-007
t.test('content the effective (last) policy excludes is refused by enforcement', async (t) => {
  const narrow = testPolicy(NARROW)
  narrow.content = { caseFields: ['title', 'offenses'], evidenceCategories: ['photo', 'document'], attachments: true }
  const withoutVideo = await manifestOver([pd, da, court], [testPolicy(onwardHops(1)), narrow])
  const verified = await verify(await signManifest(withoutVideo, da.signer), 'court')
  t.throws(() => enforceManifest(verified), { code: 'CW_ERR_POLICY_VIOLATION', at: '/evidence/0/category' }, 'category not allowed')

  const noOffenses = testPolicy(NARROW)
  noOffenses.content = { caseFields: ['title'], evidenceCategories: ['video', 'photo', 'document'], attachments: true }
  const fields = await verify(await signManifest(await manifestOver([pd, da], [noOffenses]), pd.signer), 'da')
  t.throws(() => enforceManifest(fields), { code: 'CW_ERR_POLICY_VIOLATION', at: '/case/fields/offenses' }, 'field not allowed')

  const noAttachments = structuredClone(noOffenses)
  noAttachments.content.caseFields.push('offenses')
  noAttachments.content.attachments = false
  const attachments = await verify(await signManifest(await manifestOver([pd, da], [noAttachments]), pd.signer), 'da')
  t.throws(() => enforceManifest(attachments), { code: 'CW_ERR_POLICY_VIOLATION', at: '/evidence/2/attachmentOf' }, 'attachment not allowed')
})

// spec: CW-SIG-013
t.test('verification comes before policy: a DND manifest with a broken signature fails verification', async (t) => {
  const manifest = await manifestOver([pd, da])
  manifest.evidence[0]!.doNotDisclose = true
  const jws = await signManifest(manifest, pd.signer)
  const [header, , signature] = jws.split('.')
  const other = (await signManifest(await manifestOver([pd, da]), pd.signer)).split('.')[1]
  const error = await verify(`${header}.${other}.${signature}`, 'da').catch((caught: unknown) => caught)
  t.ok(error instanceof VerificationError)
  t.match(error, { code: 'CW_ERR_SIGNATURE_INVALID' })
})
