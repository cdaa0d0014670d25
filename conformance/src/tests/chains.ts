/**
 * Provenance chains (SPEC.md §11): onward shares whose chains start at the harness's auxiliary
 * orgs (pinned trust-only by the target, CW-PROV-008) are accepted and delivered at depths 1 to
 * 3, also when each hop narrows; chain faults the protocol vectors do not cover are refused with
 * the code §11 names and leave no trace (the valid manifest, with the same share id and `jti`,
 * is accepted afterwards).
 *
 * @module
 */
import { createOrgCa, issueSigningCertificate } from '#certs'
import { digestBytes, digestJson, onwardGrant, originGrant, type CaseManifest, type Grant, type ProblemCode, type SharingPolicy, type Signer } from '#protocol'
import { check } from '../check.ts'
import type { HarnessOrg } from '../harness_dir.ts'
import { deliver, expectOnlyListedPulls, expectRefusedWithoutTrace } from '../receiving.ts'
import { openPolicy, type HarnessShare } from '../shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

/** An organization nobody pinned, with its own CA and signing certificate. */
interface RogueOrg {
  org: string
  ca: string
  /** x5c = the signing certificate only. */
  signer: Signer
  /** x5c = the signing certificate and the CA that issued it. */
  signerWithCa: Signer
}

const rogues = new WeakMap<TestContext['harness'], Map<string, Promise<RogueOrg>>>()

/** A CA nobody pinned that names `org` (made once per harness and org). */
function rogue(ctx: TestContext, org: string): Promise<RogueOrg> {
  let byOrg = rogues.get(ctx.harness)
  if (byOrg === undefined) rogues.set(ctx.harness, (byOrg = new Map()))
  let made = byOrg.get(org)
  if (made === undefined) {
    made = (async () => {
      const ca = await createOrgCa({ org, name: 'Unpinned conformance CA' })
      const signing = await issueSigningCertificate(ca, { org, name: 'Unpinned conformance org' })
      const [leafPem, caPem] = [signing.certificate.toString('pem'), ca.certificate.toString('pem')]
      return {
        org,
        ca: caPem,
        signer: { privateKey: signing.privateKey, chain: [leafPem] },
        signerWithCa: { privateKey: signing.privateKey, chain: [leafPem, caPem] },
      }
    })()
    byOrg.set(org, made)
  }
  return made
}

/** An org id no one pinned, derived from the harness's. */
function unknownOrg(ctx: TestContext): string {
  return `${ctx.harness.main.org.slice(0, 50)}-unpinned`
}

/** Recomputes every `parent` after grants were changed, so that only the intended fault remains. */
function relink(grants: Grant[]): Grant[] {
  for (let index = 1; index < grants.length; index++) grants[index]!.parent = digestJson(grants[index - 1]!)
  return grants
}

/** `valid` with its grants replaced by `grants` signed by `signers`, signed by the harness. */
async function withGrants(share: HarnessShare, valid: CaseManifest, grants: readonly Grant[], signers: readonly Signer[]): Promise<string> {
  const broken = structuredClone(valid)
  broken.grants = await share.signGrants(grants, signers)
  return share.sign(broken)
}

/** The signers of `share`'s chain. */
function signersOf(share: HarnessShare): Signer[] {
  return share.signers.map((party) => party.signer)
}

/**
 * An onward share with `hops` hops; its valid revision 1 payload (not offered yet) and a copy
 * of its grant payloads to break.
 */
async function onwardShare(ctx: TestContext, hops: number): Promise<{ share: HarnessShare; valid: CaseManifest; grants: Grant[] }> {
  const share = ctx.newShare({ hops, items: [{ size: 2500 }, { size: 1800, category: 'photo' }] })
  const valid = await share.manifest()
  return { share, valid, grants: structuredClone(share.grants) }
}

/** Refused with `code`, then the valid manifest is accepted (no trace). */
async function refusedChain(
  ctx: TestContext,
  share: HarnessShare,
  valid: CaseManifest,
  jws: string,
  note: string,
  code: ProblemCode | readonly ProblemCode[],
): Promise<void> {
  const { problem } = await expectRefusedWithoutTrace(ctx, share, valid, { jws, note }, code)
  ctx.note(`refused: ${problem.code}${problem.at === undefined ? '' : ` at ${problem.at}`} — ${problem.detail}`)
}

function depthTest(hops: number): ConformanceTest {
  return {
    id: `chains.depth-${hops}-delivered`,
    title: `A valid onward chain of depth ${hops} (${hops + 1} grants, earlier signers pinned trust-only) is accepted and delivered`,
    group: 'chains',
    // The chain sits on the boundaries: maxDepth one less per hop, equal exp and evidence.
    spec: ['CW-PROV-001', 'CW-PROV-002', 'CW-PROV-003', 'CW-PROV-004', 'CW-PROV-005', 'CW-PROV-006', 'CW-PROV-007', 'CW-PROV-008', 'CW-POL-005', 'CW-MAN-003'],
    async run(ctx) {
      if (ctx.harness.aux.length < hops) ctx.skip(`needs ${hops} auxiliary orgs`)
      const share = ctx.newShare({ hops, items: [{ size: 70_000 }, { size: 1200, category: 'photo' }] })
      const delivered = await deliver(ctx, share)
      check(delivered.manifest.grants.length === hops + 1, `harness: ${hops + 1} grants`, String(delivered.manifest.grants.length))
      expectOnlyListedPulls(ctx, share, [delivered.manifest])
    },
  }
}

/** A policy like `base` with onward sharing up to `maxDepth` and the given narrowing. */
function policyOf(base: SharingPolicy, maxDepth: number, changes: { categories?: string[]; maxDurationSeconds?: number; id?: string } = {}): SharingPolicy {
  const policy = structuredClone(base)
  policy.permissions.shareOnward = { allowed: true, maxDepth }
  if (changes.categories !== undefined) policy.content.evidenceCategories = changes.categories
  if (changes.maxDurationSeconds !== undefined) policy.maxDurationSeconds = changes.maxDurationSeconds
  if (changes.id !== undefined) policy.id = changes.id
  return policy
}

export const CHAIN_TESTS: ConformanceTest[] = [
  depthTest(1),
  depthTest(2),
  depthTest(3),
  {
    id: 'chains.narrowing-chain-delivered',
    title: 'A depth-2 chain where each hop grants less (evidence, categories, duration, expiry) is accepted and delivered',
    group: 'chains',
    spec: ['CW-PROV-004', 'CW-PROV-005', 'CW-PROV-006', 'CW-POL-005', 'CW-MAN-003'],
    async run(ctx) {
      const [first, second] = ctx.harness.aux as [HarnessOrg, HarnessOrg]
      const share = ctx.newShare({ hops: 2, items: [{ size: 2200 }, { size: 900, category: 'photo' }] })
      const evidence = share.items.map(({ item }) => item.digest)
      const base = openPolicy({ evidenceCategories: ['document', 'photo'], maxDurationSeconds: 10 * 86_400 })
      // The originator grants one more item (never passed on) and more categories, for longer.
      const g0 = originGrant({
        iss: first.org,
        aud: second.org,
        share: `${share.id}-hop0`,
        iat: share.iat,
        exp: share.exp + 3_600,
        policy: policyOf(base, 6, { categories: ['document', 'photo', 'video', 'audio'], maxDurationSeconds: 20 * 86_400, id: 'conformance-origin' }),
        evidence: [...evidence, digestBytes(Buffer.from(`withheld ${share.id}`))],
      })
      const g1 = onwardGrant(g0, {
        aud: ctx.harness.main.org,
        share: `${share.id}-hop1`,
        iat: share.iat,
        exp: share.exp + 60,
        evidence,
        policy: policyOf(base, 4, { categories: ['document', 'photo', 'video'], maxDurationSeconds: 15 * 86_400, id: 'conformance-middle' }),
      })
      const g2 = onwardGrant(g1, { aud: ctx.target.org, share: share.id, iat: share.iat, exp: share.exp, evidence, policy: policyOf(base, 1) })
      const manifest = await share.manifest()
      manifest.grants = await share.signGrants([g0, g1, g2])
      const delivered = await deliver(ctx, share, manifest)
      expectOnlyListedPulls(ctx, share, [delivered.manifest])
    },
  },
  {
    id: 'chains.untrusted-signer',
    title: 'A grant signed by an organization the target has no trust anchor for is refused with CW_ERR_CHAIN_UNTRUSTED',
    group: 'chains',
    spec: ['CW-PROV-008', 'CW-PROV-002', 'CW-FED-001'],
    async run(ctx) {
      const stranger = await rogue(ctx, unknownOrg(ctx))
      const { share, valid, grants } = await onwardShare(ctx, 1)
      grants[0]!.iss = stranger.org
      grants[0]!.originator = stranger.org
      grants[1]!.originator = stranger.org
      const jws = await withGrants(share, valid, relink(grants), [stranger.signer, ctx.harness.main.signer])
      await refusedChain(ctx, share, valid, jws, `originator grant signed by ${stranger.org}, which the target never pinned`, 'CW_ERR_CHAIN_UNTRUSTED')
    },
  },
  {
    id: 'chains.ca-carried-in-object',
    title: 'A grant whose x5c carries its own (unpinned) CA is refused with CW_ERR_CHAIN_UNTRUSTED: an object never brings its anchor',
    group: 'chains',
    spec: ['CW-PROV-008', 'CW-SIG-006', 'CW-TRUST-004', 'CW-FED-001'],
    async run(ctx) {
      const stranger = await rogue(ctx, unknownOrg(ctx))
      const { share, valid, grants } = await onwardShare(ctx, 1)
      grants[0]!.iss = stranger.org
      grants[0]!.originator = stranger.org
      grants[1]!.originator = stranger.org
      const jws = await withGrants(share, valid, relink(grants), [stranger.signerWithCa, ctx.harness.main.signer])
      await refusedChain(ctx, share, valid, jws, `originator grant by ${stranger.org}, x5c = [signing certificate, its unpinned CA]`, 'CW_ERR_CHAIN_UNTRUSTED')
    },
  },
  {
    id: 'chains.impostor-ca-carried-in-object',
    title: 'A grant in the name of a pinned org, from another CA carried in its x5c, is refused with CW_ERR_CHAIN_UNTRUSTED',
    group: 'chains',
    spec: ['CW-PROV-008', 'CW-SIG-006', 'CW-TRUST-004', 'CW-TRUST-005', 'CW-FED-001'],
    async run(ctx) {
      const { share, valid, grants } = await onwardShare(ctx, 1)
      const impostor = await rogue(ctx, grants[0]!.iss)
      const jws = await withGrants(share, valid, grants, [impostor.signerWithCa, ctx.harness.main.signer])
      await refusedChain(
        ctx,
        share,
        valid,
        jws,
        `originator grant of ${grants[0]!.iss} signed under an unpinned CA naming it (x5c includes that CA)`,
        'CW_ERR_CHAIN_UNTRUSTED',
      )
    },
  },
  {
    id: 'chains.ten-grants',
    title: 'A manifest with 10 correctly linked grants (depth 9) is refused with CW_ERR_SCHEMA_INVALID',
    group: 'chains',
    spec: ['CW-PROV-009', 'CW-FMT-004', 'CW-FED-001'],
    async run(ctx) {
      const { aux, main } = ctx.harness
      if (aux.length < 1) ctx.skip('needs an auxiliary org')
      const { share, valid } = await onwardShare(ctx, Math.min(3, aux.length))
      const issuers: HarnessOrg[] = [...Array.from({ length: 9 }, (_, index) => aux[index % aux.length]!), main]
      const audiences = [...issuers.slice(1).map((party) => party.org), ctx.target.org]
      const evidence = share.items.map(({ item }) => item.digest)
      const grants: Grant[] = []
      for (let index = 0; index < 10; index++) {
        // Each grant valid on its own: maxDepth within 0..8, one less per hop where possible.
        const policy = policyOf(share.policy, Math.max(0, Math.min(8, 9 - index)))
        const common = { aud: audiences[index]!, share: index === 9 ? share.id : `${share.id}-hop${index}`, policy, iat: share.iat, exp: share.exp }
        grants.push(index === 0 ? originGrant({ ...common, iss: issuers[0]!.org, evidence }) : onwardGrant(grants[index - 1]!, common))
      }
      const jws = await withGrants(
        share,
        valid,
        grants,
        issuers.map((party) => party.signer),
      )
      await refusedChain(ctx, share, valid, jws, '10 linked grants (depth 0 to 9)', 'CW_ERR_SCHEMA_INVALID')
    },
  },
  {
    id: 'chains.unsorted-grant-evidence',
    title: 'An originator grant whose evidence digests are not sorted is refused with CW_ERR_SCHEMA_INVALID',
    group: 'chains',
    spec: ['CW-PROV-010', 'CW-PROV-002', 'CW-FED-001'],
    async run(ctx) {
      const { share, valid, grants } = await onwardShare(ctx, 1)
      grants[0]!.evidence = [...grants[0]!.evidence].sort().reverse()
      check(grants[0]!.evidence.length >= 2, 'harness: two evidence digests', String(grants[0]!.evidence.length))
      const jws = await withGrants(share, valid, relink(grants), signersOf(share))
      await refusedChain(ctx, share, valid, jws, 'grant 0 evidence in descending order', 'CW_ERR_SCHEMA_INVALID')
    },
  },
  {
    id: 'chains.duplicated-grant-evidence',
    title: 'An originator grant listing an evidence digest twice is refused with CW_ERR_SCHEMA_INVALID',
    group: 'chains',
    spec: ['CW-PROV-010', 'CW-PROV-002', 'CW-FED-001'],
    async run(ctx) {
      const { share, valid, grants } = await onwardShare(ctx, 1)
      const evidence = grants[0]!.evidence
      grants[0]!.evidence = [evidence[0]!, ...evidence]
      const jws = await withGrants(share, valid, relink(grants), signersOf(share))
      await refusedChain(ctx, share, valid, jws, 'grant 0 evidence with its first digest twice (sorted)', 'CW_ERR_SCHEMA_INVALID')
    },
  },
  {
    id: 'chains.originator-changed',
    title: 'A later grant naming another originator than the first is refused with CW_ERR_CHAIN_LINK_BROKEN',
    group: 'chains',
    spec: ['CW-PROV-003', 'CW-FED-001'],
    async run(ctx) {
      const { share, valid, grants } = await onwardShare(ctx, 1)
      grants[1]!.originator = ctx.harness.main.org
      const jws = await withGrants(share, valid, relink(grants), signersOf(share))
      await refusedChain(
        ctx,
        share,
        valid,
        jws,
        `grant 1 names originator ${ctx.harness.main.org}, grant 0 ${grants[0]!.originator}`,
        'CW_ERR_CHAIN_LINK_BROKEN',
      )
    },
  },
  {
    id: 'chains.partner-not-listed',
    title: "A hop to an organization the parent grant's partners list does not name is refused with CW_ERR_PARTNER_NOT_ALLOWED",
    group: 'chains',
    spec: ['CW-PROV-004', 'CW-FED-001'],
    async run(ctx) {
      const { aux } = ctx.harness
      if (aux.length < 2) ctx.skip('needs two auxiliary orgs')
      // aux[0] → harness → target; aux[0] lets the harness share onward only to aux[1].
      const { share, valid, grants } = await onwardShare(ctx, 1)
      const others = [aux[1]!.org]
      grants[0]!.policy.permissions.shareOnward.partners = others
      grants[1]!.policy.permissions.shareOnward.partners = others
      const jws = await withGrants(share, valid, relink(grants), signersOf(share))
      await refusedChain(
        ctx,
        share,
        valid,
        jws,
        `grant 0 allows onward sharing only to ${others[0]}; grant 1 goes to ${ctx.target.org}`,
        'CW_ERR_PARTNER_NOT_ALLOWED',
      )
    },
  },
  {
    id: 'chains.signatures-and-schema-before-policy',
    title: 'A chain with a schema fault in a later grant and a policy fault in an earlier hop is refused for the schema fault',
    group: 'chains',
    spec: ['CW-PROV-011', 'CW-PROV-010', 'CW-FED-001'],
    async run(ctx) {
      const { aux } = ctx.harness
      if (aux.length < 2) ctx.skip('needs two auxiliary orgs')
      const { share, valid, grants } = await onwardShare(ctx, 1)
      // Policy fault (pass 3): grant 0 lets the harness share onward only to aux[1].
      grants[0]!.policy.permissions.shareOnward.partners = [aux[1]!.org]
      // Schema fault (pass 1): grant 1's evidence unsorted.
      grants[1]!.evidence = [...grants[1]!.evidence].sort().reverse()
      const jws = await withGrants(share, valid, relink(grants), signersOf(share))
      await refusedChain(
        ctx,
        share,
        valid,
        jws,
        'grant 0 does not list the target as a partner (policy) and grant 1 evidence is unsorted (schema)',
        'CW_ERR_SCHEMA_INVALID',
      )
    },
  },
]
