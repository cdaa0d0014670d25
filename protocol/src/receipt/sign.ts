/**
 * Signing a delivery receipt (SPEC.md CW-REC-001) as `typ` `caseway-receipt+jws`.
 *
 * @module
 */
import { signObject, type Signer } from '../jws/sign.ts'
import { assertReceipt } from '../schema/validate.ts'
import type { DeliveryReceipt } from '../types.gen.ts'

/** Signs `receipt`; a receipt that violates its schema is a caller bug (`TypeError`). */
export async function signReceipt(receipt: DeliveryReceipt, signer: Signer): Promise<string> {
  try {
    assertReceipt(receipt)
  } catch (error) {
    throw new TypeError('receipt violates its schema', { cause: error })
  }
  return signObject('receipt', receipt as unknown as Record<string, unknown>, signer)
}
