/**
 * Property-based tests of the chain verifier: random valid chains of 1 to 6 grants are
 * accepted; one random mutation of a valid chain is refused with the code (and position) the
 * mutation implies. Keys are generated once; each run signs and verifies at most 6 grants.
 */
import fc from 'fast-check'
import t from 'tap'
import { createOrgCa, issueSigningCertificate } from '#certs'
import { digestJson } from '../../src/canonical/digest.ts'
import { sortedUnique } from '../../src/grant/build.ts'
import { signObject } from '../../src/jws/sign.ts'
import type { Signer } from '../../src/jws/sign.ts'
import { verifyGrantChain } from '../../src/provenance/verify_chain.ts'
import type { Grant, SharingPolicy } from '../../src/types.gen.ts'
import { createTestOrgs } from '../../../testkit/fixtures/orgs.ts'
import { NOW, NOW_SECONDS } from '../helpers/orgs.ts'
import { fakeDigest } from '../../../testkit/fixtures/manifests.ts'

const MAX_GRANTS = 6
const NAMES = ['pd', 'da', 'court', 'lab', 'sheriff', 'state-police', 'coroner']
const orgs = await createTestOrgs(NAMES, { now: NOW })
const byName = new Map(orgs.map((org) => [org.org, org]))
const signerOf = (name: string): Signer => byName.get(name)!.signer
const trustAnchors = orgs.map((org) => org.anchor)
// Same organization ids, certified by a CA nobody pinned (CW-PROV-008).
const rogueCa = await createOrgCa({ org: 'rogue', name: 'Rogue', now: NOW })
const impostors = new Map<string, Signer>()
for (const org of orgs) {
  const signing = await issueSigningCertificate(rogueCa, { org: org.org, name: `Fake ${org.org}`, now: NOW })
  impostors.set(org.org, { privateKey: signing.privateKey, chain: [signing.certificate.toString('pem')] })
}
const OUTSIDER = 'zz-outsider'
const DECOYS = ['decoy-a', 'decoy-b', 'decoy-c']
const FIELDS = ['title', 'summary', 'offenses', 'officers', 'location']
const CATEGORIES = ['video', 'photo', 'document', 'audio']
const EVIDENCE = Array.from({ length: 8 }, (_, index) => fakeDigest(`evidence-${index}`))
const BOOLEANS = ['download', 'import', 'applyUpdates'] as const

/** Random choices for one hop; each narrows (or keeps) what the previous hop allowed. */
const hopChoices = fc.record({
  permissions: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
  depthDrop: fc.integer({ min: 0, max: 2 }),
  onwardAtEnd: fc.boolean(),
  listPartners: fc.boolean(),
  decoys: fc.array(fc.boolean(), { minLength: DECOYS.length, maxLength: DECOYS.length }),
  fields: fc.array(fc.boolean(), { minLength: FIELDS.length, maxLength: FIELDS.length }),
  categories: fc.array(fc.boolean(), { minLength: CATEGORIES.length, maxLength: CATEGORIES.length }),
  attachments: fc.boolean(),
  durationCut: fc.integer({ min: 0, max: 86_400 }),
  expSlack: fc.integer({ min: 0, max: 3_600 }),
  evidence: fc.array(fc.boolean(), { minLength: EVIDENCE.length, maxLength: EVIDENCE.length }),
})

type HopChoices = typeof hopChoices extends fc.Arbitrary<infer T> ? T : never

interface Model {
  /** Organization names; orgs[k] issues grant k to orgs[k + 1]. */
  orgs: string[]
  /** Grant payloads; `parent` is filled in when signing. */
  grants: Grant[]
}

/** A valid chain of `hops.length` grants over `chainOrgs` (one more than the grants). */
function buildModel(chainOrgs: string[], hops: HopChoices[]): Model {
  const n = hops.length
  const iat = NOW_SECONDS - 600
  const grants: Grant[] = []
  let previous: { policy: SharingPolicy; exp: number; evidence: string[] } | undefined
  for (const [k, hop] of hops.entries()) {
    const last = k === n - 1
    const before = previous?.policy
    const permissions = Object.fromEntries(
      BOOLEANS.map((name, index) => [name, (before === undefined || before.permissions[name]) && hop.permissions[index]!]),
    ) as Record<(typeof BOOLEANS)[number], boolean>
    const parentDepth = before === undefined ? 8 + 1 : before.permissions.shareOnward.maxDepth
    const needed = n - 1 - k // hops still to come after this grant's audience
    let shareOnward: SharingPolicy['permissions']['shareOnward']
    if (!last || hop.onwardAtEnd) {
      shareOnward = { allowed: true, maxDepth: Math.max(needed, parentDepth - 1 - hop.depthDrop) }
    } else {
      shareOnward = { allowed: false, maxDepth: 0 }
    }
    const parentPartners = before?.permissions.shareOnward.partners
    if (parentPartners !== undefined || hop.listPartners) {
      const decoys = DECOYS.filter((decoy, index) => hop.decoys[index] && (parentPartners === undefined || parentPartners.includes(decoy)))
      shareOnward.partners = [...chainOrgs.slice(k + 2), ...decoys]
    }
    const policy: SharingPolicy = {
      id: `policy-${k}`,
      version: 1,
      name: `Hop ${k}`,
      permissions: { view: true, ...permissions, shareOnward },
      content: {
        caseFields: (before?.content.caseFields ?? FIELDS).filter((_, index) => hop.fields[index]),
        evidenceCategories: (before?.content.evidenceCategories ?? CATEGORIES).filter((_, index) => hop.categories[index]),
        attachments: (before === undefined || before.content.attachments) && hop.attachments,
      },
      maxDurationSeconds: Math.max(7_200, (before?.maxDurationSeconds ?? 30 * 86_400) - hop.durationCut),
    }
    const exp = Math.min(previous?.exp ?? Infinity, iat + policy.maxDurationSeconds - hop.expSlack)
    const evidence = (previous?.evidence ?? EVIDENCE).filter((_, index) => hop.evidence[index])
    const grant: Grant = {
      cwv: '0.1',
      iss: chainOrgs[k]!,
      aud: chainOrgs[k + 1]!,
      iat,
      exp,
      jti: `grant-${k}`,
      share: `share-${k}`,
      revision: 1,
      originator: chainOrgs[0]!,
      depth: k,
      policy,
      evidence: sortedUnique(evidence),
    }
    grants.push(grant)
    previous = { policy, exp, evidence: grant.evidence }
  }
  return { orgs: chainOrgs, grants }
}

/** Random valid chains of `min`..MAX_GRANTS grants. */
function chains(min: number): fc.Arbitrary<Model> {
  return fc
    .integer({ min, max: MAX_GRANTS })
    .chain((n) => fc.tuple(fc.shuffledSubarray(NAMES, { minLength: n + 1, maxLength: n + 1 }), fc.array(hopChoices, { minLength: n, maxLength: n })))
    .map(([chainOrgs, hops]) => buildModel(chainOrgs, hops))
}

/** What to sign and verify: the payloads with per-grant overrides, then edits of the JWS list. */
interface Case {
  grants: Grant[]
  signers: Signer[]
  parents: Map<number, string>
  reorder?: (jws: string[]) => string[]
  audience: string
}

async function run(model: Model, edit: (c: Case) => void = () => {}) {
  const c: Case = {
    grants: structuredClone(model.grants),
    signers: model.grants.map((_, index) => signerOf(model.orgs[index]!)),
    parents: new Map(),
    audience: model.orgs.at(-1)!,
  }
  edit(c)
  for (let index = 1; index < c.grants.length; index++) c.grants[index]!.parent = c.parents.get(index) ?? digestJson(c.grants[index - 1])
  let jws: string[] = []
  for (const [index, grant] of c.grants.entries()) jws.push(await signObject('grant', grant as unknown as Record<string, unknown>, c.signers[index]!))
  if (c.reorder !== undefined) jws = c.reorder(jws)
  return verifyGrantChain(jws, { trustAnchors, currentDate: NOW, issuer: model.orgs.at(-2)!, audience: c.audience })
}

interface Mutation {
  name: string
  /** Which grants it can apply to (indices), given the chain. */
  targets: (model: Model) => number[]
  apply: (c: Case, index: number, model: Model) => void
  code: string
  at: (index: number, c: Case) => string
}

const onward = (grant: Grant) => grant.policy.permissions.shareOnward
const all = (model: Model) => model.grants.map((_, index) => index)
const children = (model: Model) => all(model).filter((index) => index > 0)
const listedChildren = (model: Model) => children(model).filter((index) => onward(model.grants[index - 1]!).partners !== undefined)

const MUTATIONS: Mutation[] = [
  ...BOOLEANS.map((name): Mutation => ({
    name: `widen ${name}`,
    targets: children,
    apply: (c, i) => {
      c.grants[i - 1]!.policy.permissions[name] = false
      c.grants[i]!.policy.permissions[name] = true
    },
    code: 'CW_ERR_POLICY_WIDENED',
    at: (i) => `/grants/${i}/policy/permissions/${name}`,
  })),
  {
    name: "raise maxDepth to the parent's",
    targets: (model) => children(model).filter((i) => onward(model.grants[i]!).allowed),
    apply: (c, i) => {
      onward(c.grants[i]!).maxDepth = onward(c.grants[i - 1]!).maxDepth
    },
    code: 'CW_ERR_POLICY_WIDENED',
    at: (i) => `/grants/${i}/policy/permissions/shareOnward/maxDepth`,
  },
  {
    name: 'add a partner the parent does not list',
    targets: listedChildren,
    apply: (c, i) => {
      onward(c.grants[i]!).partners!.push(OUTSIDER)
    },
    code: 'CW_ERR_POLICY_WIDENED',
    at: (i, c) => `/grants/${i}/policy/permissions/shareOnward/partners/${onward(c.grants[i]!).partners!.length - 1}`,
  },
  {
    name: 'add an evidence category',
    targets: children,
    apply: (c, i) => {
      c.grants[i]!.policy.content.evidenceCategories.push('zz-extra')
    },
    code: 'CW_ERR_POLICY_WIDENED',
    at: (i, c) => `/grants/${i}/policy/content/evidenceCategories/${c.grants[i]!.policy.content.evidenceCategories.length - 1}`,
  },
  {
    name: 'add a case field',
    targets: children,
    apply: (c, i) => {
      c.grants[i]!.policy.content.caseFields.push('zzExtra')
    },
    code: 'CW_ERR_POLICY_WIDENED',
    at: (i, c) => `/grants/${i}/policy/content/caseFields/${c.grants[i]!.policy.content.caseFields.length - 1}`,
  },
  {
    name: "extend exp past the parent's",
    targets: children,
    apply: (c, i) => {
      c.grants[i]!.exp = c.grants[i - 1]!.exp + 1
    },
    code: 'CW_ERR_POLICY_WIDENED',
    at: (i) => `/grants/${i}/exp`,
  },
  {
    name: 'add an evidence digest',
    targets: children,
    apply: (c, i) => {
      c.grants[i]!.evidence = sortedUnique([...c.grants[i]!.evidence, fakeDigest('planted')])
    },
    code: 'CW_ERR_EVIDENCE_ALTERED',
    at: (i, c) => `/grants/${i}/evidence/${c.grants[i]!.evidence.indexOf(fakeDigest('planted'))}`,
  },
  {
    name: 'break a parent digest',
    targets: children,
    apply: (c, i) => {
      c.parents.set(i, fakeDigest('not the parent'))
    },
    code: 'CW_ERR_CHAIN_LINK_BROKEN',
    at: (i) => `/grants/${i}/parent`,
  },
  {
    name: 'swap iss and aud (signed by the new iss)',
    targets: all,
    apply: (c, i, model) => {
      const grant = c.grants[i]!
      ;[grant.iss, grant.aud] = [grant.aud, grant.iss]
      c.signers[i] = signerOf(model.orgs[i + 1]!)
    },
    code: 'CW_ERR_CHAIN_LINK_BROKEN',
    at: (i) => `/grants/${i}/iss`,
  },
  {
    name: 'reorder two neighbouring grants',
    targets: (model) => all(model).slice(0, -1),
    apply: (c, i) => {
      c.reorder = (jws) => jws.toSpliced(i, 2, jws[i + 1]!, jws[i]!)
    },
    code: 'CW_ERR_CHAIN_LINK_BROKEN',
    at: (i) => `/grants/${i}/depth`,
  },
  {
    name: 'drop a grant that is not the last',
    targets: (model) => all(model).slice(0, -1),
    apply: (c, i) => {
      c.reorder = (jws) => jws.toSpliced(i, 1)
    },
    code: 'CW_ERR_CHAIN_LINK_BROKEN',
    at: (i) => `/grants/${i}/depth`,
  },
  {
    name: 're-sign a grant by a different organization',
    targets: all,
    apply: (c, i, model) => {
      c.signers[i] = signerOf(model.orgs[i + 1]!)
    },
    code: 'CW_ERR_ISSUER_MISMATCH',
    at: (i) => `/grants/${i}/iss`,
  },
  {
    name: 're-sign a grant under an unpinned CA',
    targets: all,
    apply: (c, i) => {
      c.signers[i] = impostors.get(c.grants[i]!.iss)!
    },
    code: 'CW_ERR_CHAIN_UNTRUSTED',
    at: (i) => `/grants/${i}`,
  },
  {
    name: 'share onward to a partner the parent does not list',
    targets: listedChildren,
    apply: (c, i) => {
      const partners = onward(c.grants[i - 1]!).partners!
      partners.splice(partners.indexOf(c.grants[i]!.aud), 1)
    },
    code: 'CW_ERR_PARTNER_NOT_ALLOWED',
    at: (i) => `/grants/${i}/aud`,
  },
  {
    name: 'share onward where the parent allows none',
    targets: children,
    apply: (c, i) => {
      const shareOnward = onward(c.grants[i - 1]!)
      shareOnward.allowed = false
      shareOnward.maxDepth = 0
    },
    code: 'CW_ERR_CHAIN_DEPTH_EXCEEDED',
    at: (i) => `/grants/${i}/depth`,
  },
  {
    name: "shorten maxDurationSeconds below the grant's lifetime",
    targets: all,
    apply: (c, i) => {
      const grant = c.grants[i]!
      grant.policy.maxDurationSeconds = grant.exp - grant.iat - 1
    },
    code: 'CW_ERR_DURATION_EXCEEDED',
    at: (i) => `/grants/${i}/exp`,
  },
  {
    name: "verify for another audience than the last grant's",
    targets: (model) => [model.grants.length - 1],
    apply: (c) => {
      c.audience = OUTSIDER
    },
    code: 'CW_ERR_CHAIN_LINK_BROKEN',
    at: (i) => `/grants/${i}/aud`,
  },
]

// spec: CW-PROV-001, CW-PROV-002, CW-PROV-003, CW-PROV-004, CW-PROV-005, CW-PROV-006, CW-PROV-007, CW-POL-005
t.test('random valid chains of 1 to 6 grants are accepted', async (t) => {
  await fc.assert(
    fc.asyncProperty(chains(1), async (model) => {
      const chain = await run(model)
      if (chain.grants.length !== model.grants.length) throw new Error('chain length changed')
      if (digestJson(chain.effectivePolicy) !== digestJson(model.grants.at(-1)!.policy)) throw new Error('wrong effective policy')
    }),
    { numRuns: 60 },
  )
  t.pass('60 random chains accepted')
})

// spec: CW-PROV-002, CW-PROV-003, CW-PROV-004, CW-PROV-005, CW-PROV-006, CW-PROV-007, CW-PROV-008, CW-POL-004, CW-POL-005, CW-SIG-009
t.test('one random mutation of a valid chain is refused with the expected code', async (t) => {
  const seen = new Set<string>()
  const mutated = chains(2).chain((model) => {
    const applicable = MUTATIONS.filter((mutation) => mutation.targets(model).length > 0)
    return fc.constantFrom(...applicable).chain((mutation) => fc.tuple(fc.constant(model), fc.constant(mutation), fc.constantFrom(...mutation.targets(model))))
  })
  await fc.assert(
    fc.asyncProperty(mutated, async ([model, mutation, index]) => {
      let edited: Case | undefined
      const outcome = await run(model, (c) => {
        mutation.apply(c, index, model)
        edited = c
      }).then(
        () => undefined,
        (error: unknown) => error as { code?: string; at?: string },
      )
      const expected = { code: mutation.code, at: mutation.at(index, edited!) }
      if (outcome?.code !== expected.code || outcome.at !== expected.at) {
        throw new Error(
          `${mutation.name} at grant ${index}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(outcome && { code: outcome.code, at: outcome.at })}`,
        )
      }
      seen.add(mutation.name)
    }),
    { numRuns: 120 },
  )
  t.ok(seen.size >= MUTATIONS.length - 4, `most mutation kinds exercised (${seen.size} of ${MUTATIONS.length})`)
})
