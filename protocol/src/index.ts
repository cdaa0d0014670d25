/**
 * The Caseway protocol library: wire formats, canonical JSON, hashing and chunking,
 * signing and verification, policy and provenance. No network, no storage.
 *
 * @module
 */
export * from './errors.ts'
export type * from './types.gen.ts'
export { ORG_URI_PREFIX, ORG_ID_PATTERN, OID, orgUri } from './x509/org_uri.ts'
