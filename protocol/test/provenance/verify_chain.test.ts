import t from 'tap'
import { digestJson } from '../../src/canonical/digest.ts'
import { onwardGrant, originGrant } from '../../src/grant/build.ts'
import { signGrant } from '../../src/grant/sign.ts'
import { signObject } from '../../src/jws/sign.ts'
import { verifyGrantChain } from '../../src/provenance/verify_chain.ts'
import type { Grant } from '../../src/types.gen.ts'
import { createTestOrg, createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { buildChain, NOW, NOW_SECONDS } from '../helpers/orgs.ts'
import { fakeDigest } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy, onwardHops, NARROW } from '../../../testkit/fixtures/policies.ts'

const orgs = await createTestOrgs(['pd', 'da', 'court', 'lab'], { now: NOW })
const [pd, da, court, lab] = orgs as [TestOrg, TestOrg, TestOrg, TestOrg]
const trustAnchors = orgs.map((org) => org.anchor)
const evidence = [fakeDigest('e1'), fakeDigest('e2'), fakeDigest('e3')]
const options = (issuer: string, audience: string) => ({ trustAnchors, currentDate: NOW, issuer, audience })

/** Signs grants as given, bypassing signGrant's checks (to build chains that must fail). */
async function sign(grants: readonly Grant[], signers: readonly TestOrg[]): Promise<string[]> {
  return Promise.all(grants.map((grant, index) => signObject('grant', grant as unknown as Record<string, unknown>, signers[index]!.signer)))
}

/** The payloads of pd → da → court → lab, editable before signing. */
function payloads(): Grant[] {
  const iat = NOW_SECONDS
  const g0 = originGrant({ iss: 'pd', aud: 'da', share: 's-pd', policy: testPolicy(onwardHops(2, ['court', 'lab'])), evidence, iat, exp: iat + 86_400 })
  const g1 = onwardGrant(g0, { aud: 'court', share: 's-da', policy: testPolicy(onwardHops(1, ['lab'])), iat })
  const leaf = testPolicy(NARROW)
  leaf.permissions.shareOnward.partners = []
  const g2 = onwardGrant(g1, { aud: 'lab', share: 's-court', policy: leaf, iat, evidence: evidence.slice(0, 2) })
  return [g0, g1, g2]
}

/** Re-links grants after an edit: each parent digest recomputed from the (edited) parent. */
function relink(grants: Grant[]): Grant[] {
  for (let index = 1; index < grants.length; index++) grants[index]!.parent = digestJson(grants[index - 1])
  return grants
}

// spec: CW-PROV-001, CW-PROV-002, CW-PROV-007
t.test('a one-grant chain is accepted', async (t) => {
  const { jws, grants } = await buildChain([pd, da], { evidence })
  const chain = await verifyGrantChain(jws, options('pd', 'da'))
  t.equal(chain.originator, 'pd')
  t.same(chain.grants, grants)
  t.same(chain.effectivePolicy, grants[0]!.policy)
  t.same([...chain.evidence], [...evidence].sort())
  t.equal(chain.signers[0]!.org, 'pd')
  t.same(chain.digests, [digestJson(grants[0])])
})

// spec: CW-PROV-003, CW-PROV-004, CW-PROV-005, CW-PROV-006, CW-PROV-007
t.test("a three-grant chain is accepted and its effective policy is the last grant's", async (t) => {
  const grants = payloads()
  const chain = await verifyGrantChain(await sign(grants, orgs), { ...options('court', 'lab'), evidence: evidence.slice(0, 2) })
  t.same(chain.effectivePolicy, grants[2]!.policy)
  t.same(
    chain.signers.map((signer) => signer.org),
    ['pd', 'da', 'court'],
  )
  t.equal(chain.evidence.size, 2)
})

// spec: CW-PROV-009
t.test('an empty chain and a chain of more than 9 grants are refused before any crypto', async (t) => {
  await t.rejects(verifyGrantChain([], options('pd', 'da')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants' })
  await t.rejects(
    verifyGrantChain(
      Array.from({ length: 10 }, () => 'not.a.jws'),
      options('pd', 'da'),
    ),
    {
      code: 'CW_ERR_CHAIN_DEPTH_EXCEEDED',
      at: '/grants/9',
    },
  )
})

t.test('bad options are caller bugs', async (t) => {
  await t.rejects(verifyGrantChain('x' as never, options('pd', 'da')), TypeError)
  await t.rejects(verifyGrantChain(['x'], { trustAnchors, issuer: 'pd' } as never), TypeError)
})

// spec: CW-PROV-002, CW-SIG-008
t.test('each grant is verified as a signed object, errors positioned at its index', async (t) => {
  const jws = await sign(payloads(), orgs)
  const [header, payload, signature] = jws[1]!.split('.') as [string, string, string]
  const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11)
  await t.rejects(verifyGrantChain([jws[0]!, `${header}.${payload}.${flipped}`, jws[2]!], options('court', 'lab')), {
    code: 'CW_ERR_SIGNATURE_INVALID',
    at: '/grants/1',
  })
  const receiptTyp = await signObject('receipt', payloads()[0] as unknown as Record<string, unknown>, pd.signer)
  await t.rejects(verifyGrantChain([receiptTyp], options('pd', 'da')), { code: 'CW_ERR_TYP_INVALID', at: '/grants/0' })
})

// spec: CW-PROV-008
t.test('a link whose signer has no trust anchor is refused', async (t) => {
  const jws = await sign(payloads(), orgs)
  await t.rejects(verifyGrantChain(jws, { ...options('court', 'lab'), trustAnchors: [pd.anchor, court.anchor] }), {
    code: 'CW_ERR_CHAIN_UNTRUSTED',
    at: '/grants/1',
  })
  const impostor = await createTestOrg('da', { now: NOW })
  const forged = await sign(payloads(), [pd, impostor, court])
  await t.rejects(verifyGrantChain(forged, options('court', 'lab')), { code: 'CW_ERR_CHAIN_UNTRUSTED', at: '/grants/1' }, 'same org id, unpinned CA')
})

// spec: CW-PROV-002, CW-SIG-009
t.test('a grant signed by another organization than its issuer is refused', async (t) => {
  const jws = await sign(payloads(), [pd, lab, court])
  await t.rejects(verifyGrantChain(jws, options('court', 'lab')), { code: 'CW_ERR_ISSUER_MISMATCH', at: '/grants/1/iss' })
})

// spec: CW-PROV-002, CW-SIG-011
t.test('an expired grant anywhere in the chain is refused', async (t) => {
  const grants = payloads()
  grants[1]!.iat = NOW_SECONDS - 7_200
  grants[1]!.exp = NOW_SECONDS - 3_600
  grants[2]!.exp = NOW_SECONDS - 3_600
  await t.rejects(verifyGrantChain(await sign(relink(grants), orgs), options('court', 'lab')), { code: 'CW_ERR_EXPIRED', at: '/grants/1/exp' })
})

// spec: CW-FMT-004
t.test('a grant payload that violates the schema, or lists evidence unsorted, is refused', async (t) => {
  const extra = payloads()
  ;(extra[0] as unknown as Record<string, unknown>)['note'] = 'hi'
  await t.rejects(verifyGrantChain(await sign(relink(extra), orgs), options('court', 'lab')), { code: 'CW_ERR_SCHEMA_INVALID', at: '/grants/0/note' })
  const unsorted = payloads()
  unsorted[0]!.evidence = [...unsorted[0]!.evidence].reverse()
  await t.rejects(verifyGrantChain(await sign(relink(unsorted), orgs), options('court', 'lab')), {
    code: 'CW_ERR_SCHEMA_INVALID',
    at: '/grants/0/evidence/1',
  })
})

// spec: CW-PROV-001
t.test('the originator grant must have depth 0, no parent, and be issued by the originator', async (t) => {
  const deep = payloads().slice(0, 1)
  deep[0]!.depth = 1
  deep[0]!.parent = fakeDigest('nothing')
  await t.rejects(verifyGrantChain(await sign(deep, orgs), options('pd', 'da')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/0/depth' })
  const parented = payloads().slice(0, 1)
  parented[0]!.parent = fakeDigest('nothing')
  await t.rejects(verifyGrantChain(await sign(parented, orgs), options('pd', 'da')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/0/parent' })
  const foreign = payloads().slice(0, 1)
  foreign[0]!.originator = 'court'
  await t.rejects(verifyGrantChain(await sign(foreign, orgs), options('pd', 'da')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/0/iss' })
})

// spec: CW-PROV-003
t.test('broken links are refused', async (t) => {
  const parent = payloads()
  parent[2]!.parent = digestJson(parent[0])
  await t.rejects(verifyGrantChain(await sign(parent, orgs), options('court', 'lab')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/2/parent' })
  const depth = payloads()
  depth[2]!.depth = 3
  await t.rejects(verifyGrantChain(await sign(depth, orgs), options('court', 'lab')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/2/depth' })
  const originator = payloads()
  originator[1]!.originator = 'lab'
  await t.rejects(verifyGrantChain(await sign(relink(originator), orgs), options('court', 'lab')), {
    code: 'CW_ERR_CHAIN_LINK_BROKEN',
    at: '/grants/1/originator',
  })
  // da shares with court, but lab (not court) claims to share onward.
  const issuer = payloads()
  issuer[2]!.iss = 'lab'
  issuer[2]!.aud = 'pd'
  await t.rejects(verifyGrantChain(await sign(issuer, [pd, da, lab]), options('lab', 'pd')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/2/iss' })
  const jws = await sign(payloads(), orgs)
  await t.rejects(verifyGrantChain([jws[0]!, jws[2]!], options('court', 'lab')), { code: 'CW_ERR_CHAIN_LINK_BROKEN' }, 'middle grant dropped')
  await t.rejects(verifyGrantChain([jws[1]!, jws[0]!, jws[2]!], options('court', 'lab')), { code: 'CW_ERR_CHAIN_LINK_BROKEN' }, 'grants reordered')
})

// spec: CW-PROV-007
t.test('the last grant must be issued by the manifest issuer to its audience', async (t) => {
  const jws = await sign(payloads(), orgs)
  await t.rejects(verifyGrantChain(jws, options('da', 'lab')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/2/iss' })
  await t.rejects(verifyGrantChain(jws, options('court', 'da')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/2/aud' })
})

// spec: CW-PROV-006, CW-PROV-007
t.test('evidence the parent did not grant is refused', async (t) => {
  const grants = payloads()
  grants[2]!.evidence = [...grants[2]!.evidence, fakeDigest('planted')].sort()
  const planted = grants[2]!.evidence.indexOf(fakeDigest('planted'))
  await t.rejects(verifyGrantChain(await sign(grants, orgs), options('court', 'lab')), {
    code: 'CW_ERR_EVIDENCE_ALTERED',
    at: `/grants/2/evidence/${planted}`,
  })
  const jws = await sign(payloads(), orgs)
  await t.rejects(verifyGrantChain(jws, { ...options('court', 'lab'), evidence: [evidence[0]!, evidence[2]!] }), {
    code: 'CW_ERR_EVIDENCE_ALTERED',
    at: '/evidence/1/digest',
  })
})

// spec: CW-PROV-004
t.test('onward sharing the parent does not allow is refused', async (t) => {
  const grants = payloads()
  grants[1]!.policy.permissions.shareOnward = { allowed: false, maxDepth: 0, partners: ['lab'] }
  await t.rejects(verifyGrantChain(await sign(relink(grants), orgs), options('court', 'lab')), {
    code: 'CW_ERR_CHAIN_DEPTH_EXCEEDED',
    at: '/grants/2/depth',
  })
  const exhausted = payloads()
  exhausted[1]!.policy.permissions.shareOnward.maxDepth = 0
  await t.rejects(verifyGrantChain(await sign(relink(exhausted), orgs), options('court', 'lab')), {
    code: 'CW_ERR_CHAIN_DEPTH_EXCEEDED',
    at: '/grants/2/depth',
  })
})

// spec: CW-PROV-004
t.test('onward sharing to a partner the parent does not list is refused', async (t) => {
  const grants = payloads()
  grants[1]!.policy.permissions.shareOnward.partners = ['pd']
  grants[0]!.policy.permissions.shareOnward.partners = ['court', 'lab', 'pd']
  await t.rejects(verifyGrantChain(await sign(relink(grants), orgs), options('court', 'lab')), {
    code: 'CW_ERR_PARTNER_NOT_ALLOWED',
    at: '/grants/2/aud',
  })
})

// spec: CW-PROV-004, CW-POL-005
t.test('a policy wider than its parent is refused at the widened rule', async (t) => {
  const grants = payloads()
  grants[2]!.policy.content.evidenceCategories.push('video')
  grants[1]!.policy.content.evidenceCategories = ['photo', 'document']
  await t.rejects(verifyGrantChain(await sign(relink(grants), orgs), options('court', 'lab')), {
    code: 'CW_ERR_POLICY_WIDENED',
    at: '/grants/2/policy/content/evidenceCategories/1',
  })
})

// spec: CW-PROV-005
t.test('a grant expiring after its parent is refused', async (t) => {
  const grants = payloads()
  grants[2]!.exp = grants[1]!.exp + 1
  await t.rejects(verifyGrantChain(await sign(grants, orgs), options('court', 'lab')), { code: 'CW_ERR_POLICY_WIDENED', at: '/grants/2/exp' })
})

// spec: CW-POL-004
t.test('a grant lasting longer than its policy allows is refused', async (t) => {
  const grants = payloads()
  grants[0]!.policy.maxDurationSeconds = 3_600
  grants[1]!.policy.maxDurationSeconds = 3_600
  grants[2]!.policy.maxDurationSeconds = 3_600
  await t.rejects(verifyGrantChain(await sign(relink(grants), orgs), options('court', 'lab')), {
    code: 'CW_ERR_DURATION_EXCEEDED',
    at: '/grants/0/exp',
  })
})

// spec: CW-SIG-013
t.test('verification errors win over policy errors, wherever they are in the chain', async (t) => {
  const grants = payloads()
  grants[1]!.policy.permissions.download = false // grant 2 (download true) now widens grant 1 …
  grants[2]!.policy.permissions.download = true
  const jws = await sign(relink(grants), orgs)
  await t.rejects(verifyGrantChain(jws, options('court', 'lab')), { code: 'CW_ERR_POLICY_WIDENED', at: '/grants/2/policy/permissions/download' })
  // … and the audience of the last grant is wrong: a link error, reported first.
  await t.rejects(verifyGrantChain(jws, options('court', 'pd')), { code: 'CW_ERR_CHAIN_LINK_BROKEN', at: '/grants/2/aud' })
  // … and grant 0 comes from an untrusted signer: reported before either.
  await t.rejects(verifyGrantChain(jws, { ...options('court', 'pd'), trustAnchors: [da.anchor, court.anchor] }), {
    code: 'CW_ERR_CHAIN_UNTRUSTED',
    at: '/grants/0',
  })
})

t.test('signGrant output chains with onwardGrant', async (t) => {
  const g0 = originGrant({ iss: 'pd', aud: 'da', share: 's', policy: testPolicy(onwardHops(1)), evidence, iat: NOW_SECONDS })
  const g1 = onwardGrant(g0, { aud: 'court', share: 's2', policy: testPolicy(NARROW), iat: NOW_SECONDS })
  const jws = [await signGrant(g0, pd.signer), await signGrant(g1, da.signer)]
  const chain = await verifyGrantChain(jws, options('da', 'court'))
  t.equal(chain.grants.length, 2)
})
