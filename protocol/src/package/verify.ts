/**
 * Verifying a case package's signed manifest (SPEC.md §22, CW-PKG-002, CW-PKG-008).
 *
 * @module
 */
import { VerificationError } from '../errors.ts'
import { verifySigned, type VerifyOptions } from '../jws/verify.ts'
import { assertPackageManifest } from '../schema/validate.ts'
import type { PackageManifest } from '../types.gen.ts'
import type { VerifiedCertificate } from '../x509/chain.ts'
import { checkPackageManifest } from './check.ts'

export interface VerifyPackageManifestOptions extends Pick<VerifyOptions, 'trustAnchors' | 'maxBytes' | 'clockToleranceSeconds'> {
  /**
   * Verification time. Default: the package's own `iat` — a package proves itself years later,
   * after its signing certificate and its link have expired (CW-PKG-008).
   */
  currentDate?: Date
}

/** A package manifest whose signature, chain, schema and rules checked out. */
export interface VerifiedPackageManifest {
  manifest: PackageManifest
  signer: VerifiedCertificate
  /** Digest of the canonical payload: the bytes of `package-manifest.json`. */
  digest: string
  /** The time the chain was checked at. */
  verifiedAt: Date
}

/** The `iat` of a compact JWS's payload, read without trusting it: it only picks the verification time. */
function claimedIssuedAt(jws: string): Date | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iat?: unknown }
    return typeof payload.iat === 'number' && Number.isSafeInteger(payload.iat) && payload.iat >= 0 ? new Date(payload.iat * 1000) : undefined
  } catch {
    return undefined
  }
}

/**
 * Verifies a compact-JWS package manifest: as a signed object of type `package` (size, header,
 * x5c chain to a trust anchor, signature, `cwv`, `iss`, time), then its schema and rules.
 *
 * No `aud`: a package is not addressed to one organization. By default the chain and the
 * times are checked at the package's signing time `iat`, so a package stays verifiable after
 * its certificate or link expired; a signing key compromised later could back-date a
 * package, which is why a verifier also compares the CA fingerprint received out of band.
 *
 * @example
 * ```ts
 * const { manifest, signer } = await verifyPackageManifest(jws, { trustAnchors: [{ certificate: caPem }] })
 * ```
 *
 * @throws {VerificationError}
 */
export async function verifyPackageManifest(jws: unknown, options: VerifyPackageManifestOptions): Promise<VerifiedPackageManifest> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  if (options.currentDate !== undefined && (!(options.currentDate instanceof Date) || Number.isNaN(options.currentDate.getTime()))) {
    throw new TypeError('"currentDate" option must be a valid Date')
  }
  if (typeof jws !== 'string') throw new VerificationError('CW_ERR_MALFORMED', 'JWS must be a string')
  const verifiedAt = options.currentDate ?? claimedIssuedAt(jws) ?? new Date()
  const verifyOptions: VerifyOptions = { trustAnchors: options.trustAnchors, currentDate: verifiedAt }
  if (options.maxBytes !== undefined) verifyOptions.maxBytes = options.maxBytes
  if (options.clockToleranceSeconds !== undefined) verifyOptions.clockToleranceSeconds = options.clockToleranceSeconds
  const { payload, signer, digest } = await verifySigned('package', jws, verifyOptions)
  assertPackageManifest(payload)
  checkPackageManifest(payload)
  return { manifest: payload, signer, digest, verifiedAt }
}
