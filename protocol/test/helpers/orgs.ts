/**
 * Provenance chains with real keys and certificates (organizations from
 * `testkit/fixtures/orgs.ts`, made at the fixed {@link NOW}): a chain of grants A → B → C …
 * signed by each hop's issuer.
 */
import { onwardGrant, originGrant } from '../../src/grant/build.ts'
import { signGrant } from '../../src/grant/sign.ts'
import type { Grant, SharingPolicy } from '../../src/types.gen.ts'
import type { TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { testPolicy, onwardHops } from '../../../testkit/fixtures/policies.ts'

/** The fixed clock of these tests: certificates are valid around it, grants issued at it. */
export const NOW = new Date('2025-03-01T12:00:00Z')
export const NOW_SECONDS = Math.floor(NOW.getTime() / 1000)

export interface ChainOptions {
  /** Policy of hop i (issued by orgs[i] to orgs[i+1]); default a wide policy whose maxDepth drops by one per hop. */
  policies?: readonly SharingPolicy[]
  /** The originator's evidence digests; each hop grants all of its parent's. */
  evidence?: readonly string[]
  iat?: number
  /** Lifetime of each grant in seconds (capped at the parent's expiry); default one day. */
  lifetime?: number
}

export interface BuiltChain {
  grants: Grant[]
  jws: string[]
}

/** Grants orgs[0] → orgs[1] → … → orgs[n], signed by each hop's issuer. */
export async function buildChain(orgs: readonly TestOrg[], options: ChainOptions = {}): Promise<BuiltChain> {
  if (orgs.length < 2) throw new TypeError('a chain needs at least two organizations')
  const hops = orgs.length - 1
  const iat = options.iat ?? NOW_SECONDS
  const lifetime = options.lifetime ?? 86_400
  const policyOf = (index: number) => options.policies?.[index] ?? testPolicy(onwardHops(hops - 1 - index))
  const grants: Grant[] = []
  for (let index = 0; index < hops; index++) {
    const common = { aud: orgs[index + 1]!.org, share: `share-${orgs[index]!.org}`, policy: policyOf(index), iat, exp: iat + lifetime }
    grants.push(
      index === 0
        ? originGrant({ ...common, iss: orgs[0]!.org, evidence: options.evidence ?? [] })
        : onwardGrant(grants[index - 1]!, { ...common, exp: Math.min(common.exp, grants[index - 1]!.exp) }),
    )
  }
  const jws = await Promise.all(grants.map((grant, index) => signGrant(grant, orgs[index]!.signer)))
  return { grants, jws }
}
