/**
 * How a certificate names its organization (SPEC.md CW-ID-002): exactly one URI
 * subjectAltName of the form `urn:caseway:org:<orgId>`.
 *
 * @module
 */

/** Prefix of the organization URI SAN. */
export const ORG_URI_PREFIX = 'urn:caseway:org:'

/** The same pattern as `OrgId` in `common.schema.json`. */
export const ORG_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** `orgId` → `urn:caseway:org:<orgId>`; throws `TypeError` on a malformed id (a caller bug). */
export function orgUri(orgId: string): string {
  if (!ORG_ID_PATTERN.test(orgId)) throw new TypeError(`invalid organization id ${JSON.stringify(orgId)}`)
  return ORG_URI_PREFIX + orgId
}

/** Object identifiers Caseway checks in certificates. */
export const OID = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  /** id-kp-documentSigning (RFC 9336): marks the signing certificate. */
  documentSigning: '1.3.6.1.5.5.7.3.36',
} as const
