/**
 * Digests (SPEC.md CW-FMT-002): `sha256:` + 64 lower-case hex digits.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { canonicalJson } from './canonicalize.ts'

/** Prefix of every Caseway digest string. */
export const DIGEST_PREFIX = 'sha256:'

/** SHA-256 of `bytes` (a string is hashed as its UTF-8 bytes). */
export function digestBytes(bytes: Uint8Array | string): string {
  if (typeof bytes !== 'string' && !(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array or a string')
  return DIGEST_PREFIX + createHash('sha256').update(bytes).digest('hex')
}

/** SHA-256 of the RFC 8785 canonical UTF-8 form of `value` (CW-FMT-001); `TypeError` if not JSON. */
export function digestJson(value: unknown): string {
  return digestBytes(canonicalJson(value))
}

/**
 * The digest of a compact JWS's payload bytes: what a receiver records as the object's digest.
 * For an object this implementation signed, the payload is the canonical JSON of what was
 * signed, so this equals `digestJson` of it without serializing it again.
 */
export function digestOfJwsPayload(jws: string): string {
  if (typeof jws !== 'string') throw new TypeError('jws must be a string')
  const parts = jws.split('.')
  if (parts.length !== 3) throw new TypeError('jws must be a compact JWS')
  return digestBytes(Buffer.from(parts[1]!, 'base64url'))
}
