/**
 * Reading certificates: the JWS `x5c` header (RFC 7515 §4.1.6: standard base64 DER, not
 * base64url) and PEM trust material.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto'
import { VerificationError } from '../errors.ts'

/** At most this many certificates in `x5c` (SPEC.md CW-SIG-003). */
export const MAX_X5C_CERTIFICATES = 5
/** Upper bound on one base64 certificate; far above any Caseway profile certificate. */
const MAX_CERTIFICATE_BASE64 = 65_536
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----/g

/**
 * Parses an `x5c` array (leaf first) into certificates. Throws
 * `VerificationError('CW_ERR_X5C_INVALID')` unless it is an array of 1–5 canonical base64
 * strings, each exactly one DER certificate with a readable public key.
 */
export function parseCertificates(x5c: readonly string[]): X509Certificate[] {
  if (!Array.isArray(x5c)) {
    throw new VerificationError('CW_ERR_X5C_INVALID', 'JWS "x5c" Header Parameter must be an array', { at: 'header.x5c' })
  }
  if (x5c.length < 1 || x5c.length > MAX_X5C_CERTIFICATES) {
    throw new VerificationError('CW_ERR_X5C_INVALID', `JWS "x5c" Header Parameter must hold 1 to ${MAX_X5C_CERTIFICATES} certificates`, { at: 'header.x5c' })
  }
  const certificates: X509Certificate[] = []
  for (let index = 0; index < x5c.length; index++) {
    const at = `header.x5c[${index}]`
    const value: unknown = x5c[index]
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CERTIFICATE_BASE64 || value.length % 4 !== 0 || !BASE64.test(value)) {
      throw new VerificationError('CW_ERR_X5C_INVALID', 'JWS "x5c" entry is not base64', { at })
    }
    const der = Buffer.from(value, 'base64')
    // Only the canonical encoding: no ignored bits, so one certificate has one x5c form.
    if (der.toString('base64') !== value) {
      throw new VerificationError('CW_ERR_X5C_INVALID', 'JWS "x5c" entry is not canonical base64', { at })
    }
    let certificate: X509Certificate
    try {
      certificate = new X509Certificate(der)
    } catch {
      throw new VerificationError('CW_ERR_X5C_INVALID', 'JWS "x5c" entry is not a DER certificate', { at })
    }
    if (!certificate.raw.equals(der)) {
      throw new VerificationError('CW_ERR_X5C_INVALID', 'JWS "x5c" entry has trailing data', { at })
    }
    // Node decodes the SubjectPublicKeyInfo only when `publicKey` is first read, and throws
    // a plain OpenSSL error there for a key it cannot decode: read it here, once.
    try {
      void certificate.publicKey
    } catch {
      throw new VerificationError('CW_ERR_X5C_INVALID', 'JWS "x5c" entry has an unreadable public key', { at })
    }
    certificates.push(certificate)
  }
  return certificates
}

/**
 * Parses a PEM string holding exactly one `CERTIFICATE` block. Throws `TypeError` otherwise:
 * PEM comes from configuration or from a bundle the caller is importing, not from a peer's JWS.
 */
export function pemToX509(pem: string): X509Certificate {
  if (typeof pem !== 'string') throw new TypeError('certificate PEM must be a string')
  const blocks = pem.match(PEM_BLOCK)?.length ?? 0
  if (blocks !== 1) throw new TypeError('expected exactly one PEM CERTIFICATE block')
  try {
    return new X509Certificate(pem)
  } catch {
    throw new TypeError('PEM CERTIFICATE block is not a certificate')
  }
}
