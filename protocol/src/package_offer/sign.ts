/**
 * Signing a package offer (SPEC.md CW-PKG-011) as `typ` `caseway-package-offer+jws`.
 *
 * @module
 */
import { signObject, type Signer } from '../jws/sign.ts'
import { assertPackageOffer } from '../schema/validate.ts'
import type { PackageOffer } from '../types.gen.ts'

/** Signs `offer`; an offer that violates its schema is a caller bug (`TypeError`). */
export async function signPackageOffer(offer: PackageOffer, signer: Signer): Promise<string> {
  try {
    assertPackageOffer(offer)
  } catch (error) {
    throw new TypeError('package offer violates its schema', { cause: error })
  }
  return signObject('package-offer', offer as unknown as Record<string, unknown>, signer)
}
