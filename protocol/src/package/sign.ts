/**
 * Signing a case package's manifest (SPEC.md §22, CW-PKG-002) as `typ` `caseway-package+jws`.
 *
 * @module
 */
import { signObject, type Signer } from '../jws/sign.ts'
import { assertPackageManifest } from '../schema/validate.ts'
import type { PackageManifest } from '../types.gen.ts'
import { checkPackageManifest } from './check.ts'

/**
 * Signs `manifest` with the sender's signing key and certificate chain (the same signing
 * certificate as case manifests).
 *
 * A manifest that violates its schema or the rules of {@link checkPackageManifest} is a caller
 * bug: `TypeError`, whose `cause` is the `VerificationError` a verifier would raise.
 *
 * @example
 * ```ts
 * const jws = await signPackageManifest(manifest, { privateKey, chain: [signingPem, caPem] })
 * ```
 */
export async function signPackageManifest(manifest: PackageManifest, signer: Signer): Promise<string> {
  try {
    assertPackageManifest(manifest)
    checkPackageManifest(manifest)
  } catch (error) {
    throw new TypeError(`invalid package manifest: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  return signObject('package', manifest as unknown as Record<string, unknown>, signer)
}
