/**
 * The signed object types and the JWS header values Caseway allows (SPEC.md CW-SIG-002,
 * CW-SIG-005).
 *
 * @module
 */

/** Objects Caseway signs. */
export type SignedType = 'manifest' | 'grant' | 'receipt' | 'revocation' | 'package'

/** The `typ` header of each signed type; a receipt can never pass as a manifest. */
export const TYP: Record<SignedType, string> = Object.freeze({
  manifest: 'caseway-manifest+jws',
  grant: 'caseway-grant+jws',
  receipt: 'caseway-receipt+jws',
  revocation: 'caseway-revocation+jws',
  package: 'caseway-package+jws',
})

/** The algorithm allow-list: ES256 (ECDSA P-256) and EdDSA (Ed25519). */
export const ALLOWED_ALGS = ['ES256', 'EdDSA'] as const

/** An allowed JWS algorithm. */
export type SignatureAlgorithm = (typeof ALLOWED_ALGS)[number]

/** The protocol version this library speaks (SPEC.md CW-VER-001). */
export const PROTOCOL_VERSION = '0.1'

/** True when `type` is one of the {@link SignedType}s. */
export function isSignedType(type: unknown): type is SignedType {
  return typeof type === 'string' && Object.hasOwn(TYP, type)
}
