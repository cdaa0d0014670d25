/**
 * The signed object types and the JWS header values Caseway allows (SPEC.md CW-SIG-002,
 * CW-SIG-005).
 *
 * @module
 */

/** Objects Caseway signs. */
export type SignedType = 'manifest' | 'grant' | 'receipt' | 'revocation' | 'package' | 'package-offer'

/** The `typ` header of each signed type; a receipt can never pass as a manifest. */
export const TYP: Record<SignedType, string> = Object.freeze({
  manifest: 'caseway-manifest+jws',
  grant: 'caseway-grant+jws',
  receipt: 'caseway-receipt+jws',
  revocation: 'caseway-revocation+jws',
  package: 'caseway-package+jws',
  'package-offer': 'caseway-package-offer+jws',
})

/** The algorithm allow-list: ES256 (ECDSA P-256) and EdDSA (Ed25519). */
export const ALLOWED_ALGS = ['ES256', 'EdDSA'] as const

/** An allowed JWS algorithm. */
export type SignatureAlgorithm = (typeof ALLOWED_ALGS)[number]

/**
 * The oldest protocol version this library speaks (SPEC.md CW-VER-001): what a node signs for a
 * partner whose versions it does not know (CW-VER-004), and what objects whose format 0.2 left
 * unchanged may always carry.
 */
export const PROTOCOL_VERSION = '0.1'

/** A protocol version this library verifies and signs (SPEC.md §15). */
export type ProtocolVersion = '0.1' | '0.2'

/** Every version this library supports, oldest first (SPEC.md CW-VER-003). */
export const SUPPORTED_VERSIONS: readonly ProtocolVersion[] = Object.freeze(['0.1', '0.2'])

/** The newest version this library speaks. */
export const LATEST_VERSION: ProtocolVersion = '0.2'

/** True when `value` is a version this library supports (CW-VER-001). */
export function isSupportedVersion(value: unknown): value is ProtocolVersion {
  return typeof value === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(value)
}

/** Orders two supported versions (negative when `a` is older). */
export function compareVersions(a: ProtocolVersion, b: ProtocolVersion): number {
  return SUPPORTED_VERSIONS.indexOf(a) - SUPPORTED_VERSIONS.indexOf(b)
}

/** True when `type` is one of the {@link SignedType}s. */
export function isSignedType(type: unknown): type is SignedType {
  return typeof type === 'string' && Object.hasOwn(TYP, type)
}

/**
 * CW-VER-004: the version to sign for a partner — the highest version both this node
 * (`ownVersions`, default every version this library speaks) and the partner support. `partnerVersions` undefined (unknown, or no `Caseway-Versions` header)
 * means the partner supports 0.1 only.
 */
export function highestCommonVersion(partnerVersions: readonly string[] | undefined, ownVersions: readonly string[] = SUPPORTED_VERSIONS): ProtocolVersion {
  let best: ProtocolVersion = PROTOCOL_VERSION
  for (const version of partnerVersions ?? []) {
    if (isSupportedVersion(version) && ownVersions.includes(version) && compareVersions(version, best) > 0) best = version
  }
  return best
}
