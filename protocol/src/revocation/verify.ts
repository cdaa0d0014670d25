/**
 * Verifying a revocation (SPEC.md CW-REV-001): signature and claims, then the schema.
 *
 * @module
 */
import { verifySigned, type VerifyOptions } from '../jws/verify.ts'
import { assertRevocation } from '../schema/validate.ts'
import type { Revocation } from '../types.gen.ts'
import type { VerifiedCertificate } from '../x509/chain.ts'

export interface VerifiedRevocation {
  revocation: Revocation
  signer: VerifiedCertificate
  /** Digest of the revocation's canonical payload. */
  digest: string
}

/** Verifies a revocation JWS; throws `VerificationError` (`CW_ERR_SCHEMA_INVALID` last). */
export async function verifyRevocation(jws: unknown, options: VerifyOptions): Promise<VerifiedRevocation> {
  const { payload, signer, digest } = await verifySigned('revocation', jws, options)
  assertRevocation(payload)
  return { revocation: payload, signer, digest }
}
