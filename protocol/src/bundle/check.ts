/**
 * Checking a partner bundle before its CA is pinned (SPEC.md CW-TRUST-001 … CW-TRUST-003).
 * The CLI's `caseway partner check` and the node's partner import both call this one function.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto'
import type { PartnerBundle } from '../types.gen.ts'
import { x509 } from '#protocol/x509'
import { CasewayError, VerificationError } from '../errors.ts'
import { certificateFingerprint } from '../x509/fingerprint.ts'
import { orgOfCertificate } from '../x509/org.ts'
import { pemToX509 } from '../x509/parse.ts'
import { assertPartnerBundle } from '../schema/validate.ts'
import { isSupportedVersion, SUPPORTED_VERSIONS } from '../jws/types.ts'
import { normalizeFingerprint } from './fingerprint.ts'

export interface CheckPartnerBundleOptions {
  /**
   * The CA fingerprint exchanged out of band: `sha256:<hex>`, bare hex, or OpenSSL's
   * colon form. Malformed text is a `TypeError` (see `normalizeFingerprint`).
   */
  fingerprint: string
  /** The time the CA must be valid at; defaults to now. */
  currentDate?: Date
}

const PEM_BEGIN = /-----BEGIN /g

function invalid(message: string, at: string, cause?: unknown): VerificationError {
  return new VerificationError('CW_ERR_BUNDLE_INVALID', message, cause === undefined ? { at } : { at, cause })
}

/** A copy made of data properties only, so what is checked is what is returned. */
function snapshot(value: unknown): unknown {
  try {
    return structuredClone(value)
  } catch {
    throw new VerificationError('CW_ERR_SCHEMA_INVALID', 'partner bundle must be plain JSON data')
  }
}

/** CW-ID-001: CA:TRUE and keyCertSign + cRLSign (both critical), P-256 or Ed25519, self-signed, valid now. */
function checkCaProfile(cert: X509Certificate, currentDate: Date): void {
  let parsed: x509.X509Certificate
  try {
    parsed = new x509.X509Certificate(cert.raw)
  } catch (error) {
    throw invalid('CA certificate cannot be parsed', '/caCertificate', error)
  }
  const basicConstraints = parsed.getExtensions(x509.BasicConstraintsExtension)
  if (basicConstraints.length !== 1 || !basicConstraints[0]!.ca || !basicConstraints[0]!.critical) {
    throw invalid('CA certificate lacks a critical basicConstraints CA:TRUE', '/caCertificate')
  }
  const keyUsages = parsed.getExtensions(x509.KeyUsagesExtension)
  const required = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
  if (keyUsages.length !== 1 || !keyUsages[0]!.critical || (keyUsages[0]!.usages & required) !== required) {
    throw invalid('CA certificate lacks a critical keyUsage with keyCertSign and cRLSign', '/caCertificate')
  }
  const key = cert.publicKey
  const p256 = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  if (!p256 && key.asymmetricKeyType !== 'ed25519') {
    throw invalid('CA certificate key is neither P-256 nor Ed25519', '/caCertificate')
  }
  let selfSigned: boolean
  try {
    selfSigned = cert.checkIssued(cert) && cert.verify(key)
  } catch {
    selfSigned = false
  }
  if (!selfSigned) throw invalid('CA certificate is not self-signed', '/caCertificate')
  if (currentDate.getTime() < parsed.notBefore.getTime()) {
    throw new VerificationError('CW_ERR_CERT_NOT_YET_VALID', 'CA certificate is not yet valid', { at: '/caCertificate' })
  }
  if (currentDate.getTime() > parsed.notAfter.getTime()) {
    throw new VerificationError('CW_ERR_CERT_EXPIRED', 'CA certificate has expired', { at: '/caCertificate' })
  }
}

/**
 * Checks a partner bundle and returns a copy of it that is safe to pin.
 *
 * In order: the version (`CW_ERR_VERSION_UNSUPPORTED`); the schema (`CW_ERR_SCHEMA_INVALID`); `caCertificate` is exactly one PEM
 * certificate; it is a self-signed org CA (CW-ID-001) valid at `currentDate`
 * (`CW_ERR_CERT_EXPIRED` / `CW_ERR_CERT_NOT_YET_VALID`); it names exactly the bundle's
 * `org`; `caFingerprint` is its fingerprint (all `CW_ERR_BUNDLE_INVALID`, CW-TRUST-003);
 * and that fingerprint is the one exchanged out of band (`CW_ERR_FINGERPRINT_MISMATCH`,
 * CW-TRUST-002).
 *
 * @example
 * ```ts
 * const bundle = checkPartnerBundle(JSON.parse(text), { fingerprint: 'sha256:9f86…' })
 * ```
 */
export function checkPartnerBundle(value: unknown, options: CheckPartnerBundleOptions): PartnerBundle {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const expected = normalizeFingerprint(options.fingerprint)
  const currentDate = options.currentDate ?? new Date()
  if (!(currentDate instanceof Date) || Number.isNaN(currentDate.getTime())) {
    throw new TypeError('"currentDate" option must be a valid Date')
  }

  const data = snapshot(value)
  // CW-VER-001: the version before the schema, so the answer names the version.
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && !isSupportedVersion((data as Record<string, unknown>)['cwv'])) {
    throw new VerificationError('CW_ERR_VERSION_UNSUPPORTED', `"cwv" must be one of ${SUPPORTED_VERSIONS.join(', ')}`, { at: '/cwv' })
  }
  assertPartnerBundle(data)
  const bundle: PartnerBundle = {
    cwv: data.cwv,
    org: data.org,
    name: data.name,
    endpoint: data.endpoint,
    caCertificate: data.caCertificate,
    caFingerprint: data.caFingerprint,
  }

  // Exactly one PEM block of any kind: no chain, and never a private key riding along.
  if ((bundle.caCertificate.match(PEM_BEGIN)?.length ?? 0) !== 1) {
    throw invalid('caCertificate must hold exactly one PEM certificate', '/caCertificate')
  }
  let cert: X509Certificate
  try {
    cert = pemToX509(bundle.caCertificate)
  } catch (error) {
    throw invalid('caCertificate is not a PEM certificate', '/caCertificate', error)
  }

  checkCaProfile(cert, currentDate)

  let org: string
  try {
    org = orgOfCertificate(cert)
  } catch (error) {
    if (error instanceof CasewayError) throw invalid(`CA certificate: ${error.message}`, '/caCertificate', error)
    throw error
  }
  if (org !== bundle.org) {
    throw invalid(`CA certificate names organization "${org}", the bundle says "${bundle.org}"`, '/org')
  }

  const actual = certificateFingerprint(cert.raw)
  if (actual !== bundle.caFingerprint) {
    throw invalid('caFingerprint is not the fingerprint of caCertificate', '/caFingerprint')
  }
  if (actual !== expected) {
    // The message names neither value: the operator must not be invited to trust the bundle's.
    throw new VerificationError('CW_ERR_FINGERPRINT_MISMATCH', 'CA fingerprint differs from the one exchanged out of band', { at: '/caFingerprint' })
  }
  return bundle
}
