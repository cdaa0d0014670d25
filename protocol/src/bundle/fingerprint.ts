/**
 * Reading a CA fingerprint as people exchange it out of band (SPEC.md CW-TRUST-001,
 * CW-TRUST-002): the Caseway form `sha256:<hex>`, bare hex, or OpenSSL's colon form
 * (`AB:CD:…`, optionally with the `SHA256 Fingerprint=` label `openssl x509 -fingerprint` prints).
 *
 * @module
 */

const LABEL = /^(?:sha-?256\s+fingerprint\s*=|sha-?256:)\s*/i
const BARE_HEX = /^[0-9a-f]{64}$/i
const COLON_HEX = /^[0-9a-f]{2}(?::[0-9a-f]{2}){31}$/i

/**
 * Returns the fingerprint in the one form Caseway compares and stores: `sha256:` + 64
 * lower-case hex digits. Throws `TypeError` when the text is none of the accepted forms:
 * it comes from the operator, and a typo must be reported as such, not as a mismatch.
 */
export function normalizeFingerprint(text: string): string {
  if (typeof text !== 'string') throw new TypeError('fingerprint must be a string')
  const value = text.trim().replace(LABEL, '')
  if (BARE_HEX.test(value)) return 'sha256:' + value.toLowerCase()
  if (COLON_HEX.test(value)) return 'sha256:' + value.replaceAll(':', '').toLowerCase()
  throw new TypeError('fingerprint must be sha256:<64 hex digits>, 64 hex digits, or 32 colon-separated hex pairs')
}
