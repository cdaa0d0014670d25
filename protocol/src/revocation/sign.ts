/**
 * Signing a revocation (SPEC.md CW-REV-001) as `typ` `caseway-revocation+jws`.
 *
 * @module
 */
import { signObject, type Signer } from '../jws/sign.ts'
import { assertRevocation } from '../schema/validate.ts'
import type { Revocation } from '../types.gen.ts'

/** Signs `revocation`; a revocation that violates its schema is a caller bug (`TypeError`). */
export async function signRevocation(revocation: Revocation, signer: Signer): Promise<string> {
  try {
    assertRevocation(revocation)
  } catch (error) {
    throw new TypeError('revocation violates its schema', { cause: error })
  }
  return signObject('revocation', revocation as unknown as Record<string, unknown>, signer)
}
