/**
 * Building the partner bundle an organization hands its partners (SPEC.md CW-TRUST-001).
 *
 * @module
 */
import type { PartnerBundle } from '../types.gen.ts'
import { CasewayError } from '../errors.ts'
import { certificateFingerprint } from '../x509/fingerprint.ts'
import { assertPartnerBundle } from '../schema/validate.ts'

export interface BuildPartnerBundleInput {
  /** The organization id, as the CA's organization URI SAN names it. */
  org: string
  /** Display name. */
  name: string
  /** Base URL of the federation listener, `https://host:port`. */
  endpoint: string
  /** The organization CA certificate, PEM (exactly one certificate). */
  caCertificatePem: string
}

/**
 * Returns the bundle with its `caFingerprint` computed from the CA certificate.
 *
 * It does not check the CA profile; `checkPartnerBundle` does, and an exporter should run it
 * on the result. Malformed input is a caller bug: `TypeError`.
 */
export function buildPartnerBundle(input: BuildPartnerBundleInput): PartnerBundle {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object')
  const { org, name, endpoint, caCertificatePem } = input
  // Throws TypeError unless the PEM is exactly one certificate.
  const caFingerprint = certificateFingerprint(caCertificatePem)
  const caCertificate = caCertificatePem.trim() + '\n'
  const bundle: PartnerBundle = { cwv: '0.1', org, name, endpoint, caCertificate, caFingerprint }
  try {
    // The schema is the one definition of the fields' shapes (SPEC.md CW-FMT-004).
    assertPartnerBundle(bundle)
  } catch (error) {
    if (error instanceof CasewayError) {
      throw new TypeError(`invalid partner bundle${error.at === undefined ? '' : ` field ${error.at}`}: ${error.message}`, { cause: error })
    }
    throw error
  }
  return bundle
}
