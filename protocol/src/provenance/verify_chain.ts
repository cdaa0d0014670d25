/**
 * Verifying a provenance chain: the grants an onward manifest carries back to the originator
 * (SPEC.md CW-PROV-001 … CW-PROV-009).
 *
 * @module
 */
import { PolicyError, VerificationError } from '../errors.ts'
import { verifySigned } from '../jws/verify.ts'
import { isAttenuated } from '../policy/is_attenuated.ts'
import { checkGrantDuration } from '../policy/check_duration.ts'
import { assertGrant } from '../schema/validate.ts'
import type { Grant, SharingPolicy } from '../types.gen.ts'
import type { TrustAnchor, VerifiedCertificate } from '../x509/chain.ts'
import { rebaseError } from './rebase_error.ts'

/** At most this many grants in a chain: the originator's and 8 onward hops (CW-PROV-009). */
export const MAX_CHAIN_LENGTH = 9

export interface VerifyGrantChainOptions {
  /** Pinned partner CAs and bridge CAs; every grant's signer must chain to one. */
  trustAnchors: readonly TrustAnchor[]
  /** Verification time; default now. */
  currentDate?: Date
  /** Allowed clock skew for `iat`/`exp`, seconds (the verifier's default when absent). */
  clockToleranceSeconds?: number
  /** The manifest's `iss`: the last grant must be issued by it. */
  issuer: string
  /** The manifest's `aud`: the last grant must be addressed to it. */
  audience: string
  /**
   * Whole-file digests the last grant must cover (the manifest's evidence, in manifest order);
   * one missing → `CW_ERR_EVIDENCE_ALTERED` at `/evidence/<i>/digest`.
   */
  evidence?: readonly string[]
}

/** A chain whose every signature, link and narrowing checked out. */
export interface VerifiedChain {
  /** The grant payloads, originator's first. */
  grants: Grant[]
  /** `digestJson` of each grant payload, in the same order. */
  digests: string[]
  /** Who signed each grant. */
  signers: VerifiedCertificate[]
  /** The organization that owns the case. */
  originator: string
  /** The last grant's policy: what the manifest's audience may do (CW-PROV-007). */
  effectivePolicy: SharingPolicy
  /** The last grant's evidence digests. */
  evidence: ReadonlySet<string>
}

/**
 * Verifies a chain of compact-JWS grants, originator's first, in three passes so that a
 * verification error always wins over a policy error (CW-SIG-013):
 *
 * 1. every grant as a signed object (`typ` `caseway-grant+jws`, chain to a trust anchor,
 *    signature, `iss` = signer org, `iat`/`exp`) and against the grant schema; evidence sorted
 *    and unique (CW-PROV-002, CW-PROV-008);
 * 2. the links (CW-PROV-001, CW-PROV-003 → `CW_ERR_CHAIN_LINK_BROKEN`), each grant's evidence
 *    ⊆ its parent's (CW-PROV-006 → `CW_ERR_EVIDENCE_ALTERED`), the last grant issued by
 *    `issuer` to `audience` and covering `evidence` (CW-PROV-007);
 * 3. policy, hop by hop: the parent allows onward sharing with `maxDepth` ≥ 1
 *    (`CW_ERR_CHAIN_DEPTH_EXCEEDED`), lists the child's audience if it lists partners
 *    (`CW_ERR_PARTNER_NOT_ALLOWED`), the child's policy attenuates the parent's and it expires
 *    no later (`CW_ERR_POLICY_WIDENED`, CW-PROV-004, CW-PROV-005); each grant's lifetime is
 *    within its policy (`CW_ERR_DURATION_EXCEEDED`, CW-POL-004).
 *
 * Within a pass, the first failing grant is reported. Every `at` is a JSON pointer into the
 * manifest (`/grants/<i>/…`).
 *
 * @throws {VerificationError | PolicyError}
 */
export async function verifyGrantChain(grants: readonly string[], options: VerifyGrantChainOptions): Promise<VerifiedChain> {
  if (!Array.isArray(grants)) throw new TypeError('grants must be an array')
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  if (typeof options.issuer !== 'string') throw new TypeError('"issuer" option must be a string')
  if (typeof options.audience !== 'string') throw new TypeError('"audience" option must be a string')
  if (options.evidence !== undefined && !Array.isArray(options.evidence)) throw new TypeError('"evidence" option must be an array')

  // Bound the work before any crypto (CW-PROV-009).
  if (grants.length === 0) {
    throw new VerificationError('CW_ERR_CHAIN_LINK_BROKEN', 'the provenance chain has no grant', { at: '/grants' })
  }
  if (grants.length > MAX_CHAIN_LENGTH) {
    throw new PolicyError('CW_ERR_CHAIN_DEPTH_EXCEEDED', `the provenance chain has ${grants.length} grants, at most ${MAX_CHAIN_LENGTH} are allowed`, {
      at: `/grants/${MAX_CHAIN_LENGTH}`,
    })
  }

  // Pass 1: every grant is authentic and well-formed. All are checked together; the first
  // failure by position is reported, so the answer does not depend on timing.
  const settled = await Promise.allSettled(grants.map((jws, index) => verifyGrant(jws, index, options)))
  const verified: Awaited<ReturnType<typeof verifyGrant>>[] = []
  for (const result of settled) {
    if (result.status === 'rejected') throw result.reason
    verified.push(result.value)
  }
  const payloads = verified.map((entry) => entry.grant)

  // Pass 2: the links.
  const originator = payloads[0]!.originator
  for (const [index, grant] of payloads.entries()) {
    const base = `/grants/${index}`
    if (grant.depth !== index) broken(`${base}/depth`, `grant ${index} has depth ${grant.depth}`)
    if (grant.originator !== originator) {
      broken(`${base}/originator`, `grant ${index} names originator ${JSON.stringify(grant.originator)}, the chain ${JSON.stringify(originator)}`)
    }
    if (index === 0) {
      if (grant.parent !== undefined) broken(`${base}/parent`, 'the originator grant has a parent')
      if (grant.iss !== originator) broken(`${base}/iss`, `the originator grant is issued by ${JSON.stringify(grant.iss)}, not the originator`)
      continue
    }
    const parent = payloads[index - 1]!
    if (grant.parent !== verified[index - 1]!.digest) broken(`${base}/parent`, `grant ${index} does not name grant ${index - 1} as its parent`)
    if (grant.iss !== parent.aud) {
      broken(`${base}/iss`, `grant ${index} is issued by ${JSON.stringify(grant.iss)}, grant ${index - 1} is addressed to ${JSON.stringify(parent.aud)}`)
    }
    const granted = new Set(parent.evidence)
    const extra = grant.evidence.findIndex((digest) => !granted.has(digest))
    if (extra !== -1) {
      throw new VerificationError('CW_ERR_EVIDENCE_ALTERED', `grant ${index} grants evidence ${grant.evidence[extra]} its parent did not`, {
        at: `${base}/evidence/${extra}`,
      })
    }
  }
  const lastIndex = payloads.length - 1
  const last = payloads[lastIndex]!
  if (last.iss !== options.issuer) {
    broken(`/grants/${lastIndex}/iss`, `the last grant is issued by ${JSON.stringify(last.iss)}, the manifest by ${JSON.stringify(options.issuer)}`)
  }
  if (last.aud !== options.audience) {
    broken(`/grants/${lastIndex}/aud`, `the last grant is addressed to ${JSON.stringify(last.aud)}, the manifest to ${JSON.stringify(options.audience)}`)
  }
  const evidence: ReadonlySet<string> = new Set(last.evidence)
  if (options.evidence !== undefined) {
    const missing = options.evidence.findIndex((digest) => !evidence.has(digest))
    if (missing !== -1) {
      throw new VerificationError('CW_ERR_EVIDENCE_ALTERED', `evidence ${options.evidence[missing]} is not granted by the provenance chain`, {
        at: `/evidence/${missing}/digest`,
      })
    }
  }

  // Pass 3: each hop only narrows.
  for (const [index, grant] of payloads.entries()) {
    const base = `/grants/${index}`
    if (index > 0) {
      const parent = payloads[index - 1]!
      const onward = parent.policy.permissions.shareOnward
      if (!onward.allowed || onward.maxDepth < 1) {
        throw new PolicyError('CW_ERR_CHAIN_DEPTH_EXCEEDED', `grant ${index - 1} allows no further onward sharing`, { at: `${base}/depth` })
      }
      if (onward.partners !== undefined && !onward.partners.includes(grant.aud)) {
        throw new PolicyError('CW_ERR_PARTNER_NOT_ALLOWED', `grant ${index - 1} does not allow sharing onward to ${JSON.stringify(grant.aud)}`, {
          at: `${base}/aud`,
        })
      }
      const attenuation = isAttenuated(grant.policy, parent.policy)
      if (!attenuation.ok) {
        throw new PolicyError('CW_ERR_POLICY_WIDENED', `grant ${index} widens its parent's policy: ${attenuation.reason}`, {
          at: `${base}/policy${attenuation.at}`,
        })
      }
      if (grant.exp > parent.exp) {
        throw new PolicyError('CW_ERR_POLICY_WIDENED', `grant ${index} expires at ${grant.exp}, after its parent (${parent.exp})`, { at: `${base}/exp` })
      }
    }
    checkGrantDuration(grant, base)
  }

  return {
    grants: payloads,
    digests: verified.map((entry) => entry.digest),
    signers: verified.map((entry) => entry.signer),
    originator,
    effectivePolicy: last.policy,
    evidence,
  }
}

async function verifyGrant(jws: string, index: number, options: VerifyGrantChainOptions) {
  const base = `/grants/${index}`
  const label = `grant ${index}`
  try {
    // The audience is a link rule (pass 2), not the verifier's own organization.
    const verifyOptions: Parameters<typeof verifySigned>[2] = { trustAnchors: options.trustAnchors }
    if (options.currentDate !== undefined) verifyOptions.currentDate = options.currentDate
    if (options.clockToleranceSeconds !== undefined) verifyOptions.clockToleranceSeconds = options.clockToleranceSeconds
    const { payload, signer, digest } = await verifySigned('grant', jws, verifyOptions)
    assertGrant(payload)
    const grant: Grant = payload
    for (let position = 1; position < grant.evidence.length; position++) {
      if (grant.evidence[position - 1]! >= grant.evidence[position]!) {
        throw new VerificationError('CW_ERR_SCHEMA_INVALID', 'grant evidence digests must be sorted and unique', { at: `/evidence/${position}` })
      }
    }
    return { grant, signer, digest }
  } catch (error) {
    throw rebaseError(error, base, label)
  }
}

function broken(at: string, message: string): never {
  throw new VerificationError('CW_ERR_CHAIN_LINK_BROKEN', message, { at })
}
