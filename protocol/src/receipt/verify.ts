/**
 * Verifying a delivery receipt (SPEC.md CW-REC-001): signature and claims, then the schema.
 *
 * @module
 */
import { verifySigned, type VerifyOptions } from '../jws/verify.ts'
import { assertReceipt } from '../schema/validate.ts'
import type { DeliveryReceipt } from '../types.gen.ts'
import type { VerifiedCertificate } from '../x509/chain.ts'

export interface VerifiedReceipt {
  receipt: DeliveryReceipt
  signer: VerifiedCertificate
  /** Digest of the receipt's canonical payload. */
  digest: string
}

/** Verifies a receipt JWS; throws `VerificationError` (`CW_ERR_SCHEMA_INVALID` last). */
export async function verifyReceipt(jws: unknown, options: VerifyOptions): Promise<VerifiedReceipt> {
  const { payload, signer, digest } = await verifySigned('receipt', jws, options)
  assertReceipt(payload)
  return { receipt: payload, signer, digest }
}
