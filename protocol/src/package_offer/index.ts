/**
 * Package offers (SPEC.md §22, "Carrying a package to a partner"): sign and verify.
 *
 * @module
 */
export { signPackageOffer } from './sign.ts'
export { verifyPackageOffer, type VerifiedPackageOffer } from './verify.ts'
