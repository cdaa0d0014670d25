/**
 * Certificate fingerprints (SPEC.md CW-TRUST-001): `sha256:` + lower-case hex SHA-256 of the DER.
 *
 * @module
 */
import { createHash, X509Certificate } from 'node:crypto'
import { pemToX509 } from './parse.ts'

/**
 * Fingerprint of one certificate given as PEM (exactly one `CERTIFICATE` block) or DER bytes.
 *
 * Throws `TypeError` when the input is not one certificate: callers hash certificates they
 * already hold (a bundle importer maps the failure to its own code).
 */
export function certificateFingerprint(cert: string | Uint8Array): string {
  let der: Uint8Array
  if (typeof cert === 'string') {
    der = pemToX509(cert).raw
  } else if (cert instanceof Uint8Array) {
    let parsed: X509Certificate
    try {
      parsed = new X509Certificate(cert)
    } catch {
      throw new TypeError('not a DER certificate')
    }
    // Refuse trailing bytes: the fingerprint must be over exactly the certificate.
    if (!Buffer.from(cert.buffer, cert.byteOffset, cert.byteLength).equals(parsed.raw)) {
      throw new TypeError('not a DER certificate')
    }
    der = parsed.raw
  } else {
    throw new TypeError('certificate must be a PEM string or DER bytes')
  }
  return 'sha256:' + createHash('sha256').update(der).digest('hex')
}
