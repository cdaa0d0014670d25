/**
 * Verifying a package offer (SPEC.md CW-PKG-011, CW-PKG-012 step 1): signature and claims by §8
 * with `aud` = the verifier, then the schema.
 *
 * @module
 */
import { verifySigned, type VerifyOptions } from '../jws/verify.ts'
import { assertPackageOffer } from '../schema/validate.ts'
import type { PackageOffer } from '../types.gen.ts'
import type { VerifiedCertificate } from '../x509/chain.ts'

export interface VerifiedPackageOffer {
  offer: PackageOffer
  signer: VerifiedCertificate
  /** Digest of the offer's canonical payload: an identical re-offer has the same. */
  digest: string
}

/**
 * Verifies a package offer JWS addressed to `options.audience` (required: an offer is always
 * addressed to one organization); throws `VerificationError` (`CW_ERR_SCHEMA_INVALID` last).
 */
export async function verifyPackageOffer(jws: unknown, options: VerifyOptions & { audience: string }): Promise<VerifiedPackageOffer> {
  if (typeof options?.audience !== 'string') throw new TypeError('"audience" option is required for a package offer')
  const { payload, signer, digest } = await verifySigned('package-offer', jws, options)
  assertPackageOffer(payload)
  return { offer: payload, signer, digest }
}
