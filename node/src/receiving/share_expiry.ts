/**
 * The share's expiry as the wire defines it (SPEC CW-SIG-014, CW-REV-007): the `exp` claim of the
 * last grant of the manifest's chain. A manifest has no expiry field of its own for the share: its
 * `exp` bounds only how long the manifest itself may be offered, and a sender may choose it
 * earlier than the grant's (Caseway's own senders make them equal).
 *
 * @module
 */
import type { CaseManifest } from '#protocol'

/**
 * The `exp` of the last grant in `manifest.grants`, read from its payload. Only for a manifest
 * that was verified when it was accepted (§8 verified every grant and the chain), so the grant is
 * a well-formed JWS with a numeric `exp`; anything else is a broken invariant and throws.
 */
export function shareExpiryOf(manifest: CaseManifest): number {
  const last = manifest.grants[manifest.grants.length - 1]
  const payload = last?.split('.')[1]
  if (payload === undefined) throw new TypeError(`manifest ${manifest.jti} has no grant to take the share's expiry from`)
  const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown } | null)?.exp
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) throw new TypeError(`the last grant of manifest ${manifest.jti} has no numeric exp`)
  return exp
}
