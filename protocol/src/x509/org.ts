/**
 * The organization a certificate speaks for (SPEC.md CW-ID-002, CW-ID-006): the id in its one
 * `urn:caseway:org:<orgId>` URI subjectAltName, read structurally, never from the subject DN.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto'
import { x509 } from '#protocol/x509'
import { VerificationError } from '../errors.ts'
import { ORG_ID_PATTERN, ORG_URI_PREFIX } from './org_uri.ts'

/**
 * Returns the org id of the certificate's single organization URI SAN. Zero, several, or a
 * malformed one (including look-alikes differing only in case) → `CW_ERR_CERT_ORG_INVALID`.
 */
export function orgOfCertificate(cert: X509Certificate): string {
  const uris: string[] = []
  try {
    const parsed = new x509.X509Certificate(cert.raw)
    const extensions = parsed.getExtensions(x509.SubjectAlternativeNameExtension)
    if (extensions.length > 1) throw new Error('duplicate subjectAltName')
    const san = extensions[0]
    if (san !== undefined) {
      for (const name of san.names.items) {
        if (name.type === 'url') uris.push(name.value)
      }
    }
  } catch {
    throw new VerificationError('CW_ERR_CERT_ORG_INVALID', 'certificate subjectAltName extension unreadable')
  }
  const claims = uris.filter((uri) => uri.toLowerCase().startsWith(ORG_URI_PREFIX))
  if (claims.length !== 1) {
    throw new VerificationError('CW_ERR_CERT_ORG_INVALID', `certificate names ${claims.length} organizations, expected exactly one`)
  }
  const uri = claims[0]!
  const org = uri.slice(ORG_URI_PREFIX.length)
  if (!uri.startsWith(ORG_URI_PREFIX) || !ORG_ID_PATTERN.test(org)) {
    throw new VerificationError('CW_ERR_CERT_ORG_INVALID', 'certificate organization URI is malformed')
  }
  return org
}
