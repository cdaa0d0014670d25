/**
 * Verifying a received case manifest and the provenance chain it carries (SPEC.md, Manifests;
 * CW-SIG-013 order). Policy is enforced separately, by `enforceManifest`.
 *
 * @module
 */
import { verifySigned } from '../jws/verify.ts'
import type { VerifyOptions } from '../jws/verify.ts'
import { verifyGrantChain } from '../provenance/verify_chain.ts'
import type { VerifiedChain } from '../provenance/verify_chain.ts'
import { assertManifest } from '../schema/validate.ts'
import type { CaseManifest } from '../types.gen.ts'
import type { VerifiedCertificate } from '../x509/chain.ts'
import { checkManifestSemantics } from './check_semantics.ts'

export interface VerifyManifestOptions extends Omit<VerifyOptions, 'audience'> {
  /** The verifier's own organization: the manifest must be addressed to it (CW-SIG-010). */
  audience: string
}

/** A manifest whose signature, schema, semantics and provenance chain checked out. */
export interface VerifiedManifest {
  manifest: CaseManifest
  signer: VerifiedCertificate
  /** Digest of the manifest's canonical payload (what a receipt and the next revision name). */
  digest: string
  chain: VerifiedChain
}

/**
 * Verifies a compact-JWS manifest:
 * 1. as a signed object (`verifySigned`: size, header, chain, signature, `cwv`, `iss`, `aud`, time);
 * 2. against the manifest schema, then `checkManifestSemantics` (CW-MAN-001, CW-MAN-002);
 * 3. its `grants` with `verifyGrantChain`: the last grant issued by the manifest's `iss` to its
 *    `aud`, and every evidence digest granted (CW-PROV-007, `CW_ERR_EVIDENCE_ALTERED`).
 *
 * The chain's policy errors (widened, depth, partner, duration) come from step 3, after all of
 * its verification errors. What the manifest carries is checked against the effective policy
 * by `enforceManifest`, which the receiver calls next.
 *
 * @example
 * ```ts
 * const verified = await verifyManifest(body, { trustAnchors, audience: 'county-da' })
 * enforceManifest(verified)
 * ```
 *
 * @throws {VerificationError | PolicyError}
 */
export async function verifyManifest(jws: unknown, options: VerifyManifestOptions): Promise<VerifiedManifest> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  if (typeof options.audience !== 'string') throw new TypeError('"audience" option must be a string')
  const { payload, signer, digest } = await verifySigned('manifest', jws, options)
  assertManifest(payload)
  const manifest: CaseManifest = payload
  checkManifestSemantics(manifest)
  const chainOptions: Parameters<typeof verifyGrantChain>[1] = {
    trustAnchors: options.trustAnchors,
    issuer: manifest.iss,
    audience: manifest.aud,
    evidence: manifest.evidence.map((item) => item.digest),
  }
  if (options.currentDate !== undefined) chainOptions.currentDate = options.currentDate
  if (options.clockToleranceSeconds !== undefined) chainOptions.clockToleranceSeconds = options.clockToleranceSeconds
  const chain = await verifyGrantChain(manifest.grants, chainOptions)
  return { manifest, signer, digest, chain }
}
