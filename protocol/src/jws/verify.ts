/**
 * Verifying a signed Caseway object (SPEC.md CW-SIG-001..011, CW-SIG-013, CW-VER-001).
 *
 * The order is fixed (CW-SIG-013): size, then header guards, then the certificate chain, then
 * the signature, then the claims. Nothing in the payload is looked at before the signature
 * verifies. The schema of the object is not checked here; the typed wrappers do that.
 *
 * @module
 */
import { digestBytes } from '../canonical/digest.ts'
import { parseCanonicalJson, parseJson } from '../canonical/parse.ts'
import { VerificationError } from '../errors.ts'
import { verifyChain, type TrustAnchor, type VerifiedCertificate } from '../x509/chain.ts'
import { algorithmOfKey } from './key_algorithm.ts'
import { verifySignatureBytes } from './signature.ts'
import { ALLOWED_ALGS, isSignedType, isSupportedVersion, SUPPORTED_VERSIONS, TYP, type SignatureAlgorithm, type SignedType } from './types.ts'

/** Default largest compact JWS accepted: 32 MiB (CW-FMT-005). */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024
/** Default allowed clock skew: 60 s (CW-SIG-011). */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60

export interface VerifyOptions {
  /** Pinned partner CAs and bridge CAs; nothing else is trusted. */
  trustAnchors: readonly TrustAnchor[]
  /** The verifier's organization; when given, `aud` must equal it. */
  audience?: string
  /** Verification time; defaults to now. */
  currentDate?: Date
  /** Allowed clock skew in seconds; default 60. */
  clockToleranceSeconds?: number
  /** Largest compact JWS accepted, in bytes; default 32 MiB. */
  maxBytes?: number
  /**
   * The protocol versions the verifier supports (CW-VER-001); default every version this
   * library speaks. A node configured for fewer refuses the others.
   */
  versions?: readonly string[]
}

export interface VerifiedObject {
  payload: Record<string, unknown>
  header: Record<string, unknown>
  signer: VerifiedCertificate
  /** `digestJson(payload)`: the digest of the signed payload bytes. */
  digest: string
}

const BASE64URL = /^[A-Za-z0-9_-]*$/
const FORBIDDEN_KEY_HEADERS = ['jwk', 'jku', 'x5u'] as const
/** The protected header is exactly these (SPEC.md §7, CW-SIG-016). */
const HEADER_PARAMETERS = ['alg', 'typ', 'x5c'] as const

interface Settings {
  trustAnchors: readonly TrustAnchor[]
  audience: string | undefined
  now: Date
  tolerance: number
  maxBytes: number
}

/** Snapshots and checks the options; mistakes are the caller's, so `TypeError`. */
function settings(options: VerifyOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const { trustAnchors, audience, currentDate, clockToleranceSeconds, maxBytes } = options
  if (!Array.isArray(trustAnchors)) throw new TypeError('"trustAnchors" option must be an array')
  if (audience !== undefined && typeof audience !== 'string') throw new TypeError('"audience" option must be a string')
  const now = currentDate ?? new Date()
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('"currentDate" option must be a valid Date')
  const tolerance = clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new TypeError('"clockToleranceSeconds" option must be a non-negative number')
  }
  const limit = maxBytes ?? DEFAULT_MAX_BYTES
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new TypeError('"maxBytes" option must be a positive integer')
  return { trustAnchors: [...trustAnchors], audience, now: new Date(now.getTime()), tolerance, maxBytes: limit }
}

/** Strict base64url: the alphabet, no padding, and the one canonical encoding of its bytes. */
function decodeSegment(segment: string): Buffer | undefined {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return undefined
  const bytes = Buffer.from(segment, 'base64url')
  return bytes.toString('base64url') === segment ? bytes : undefined
}

/** The JSON object `parse` reads from `bytes`; `CW_ERR_MALFORMED` at `at` for anything else. */
function parseJsonObject(bytes: Uint8Array, parse: typeof parseJson, at: 'header' | 'payload'): Record<string, unknown> {
  const value = parse(bytes, at)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VerificationError('CW_ERR_MALFORMED', `JWS ${at === 'header' ? 'Protected Header' : 'Payload'} is not a JSON object`, { at })
  }
  return value as Record<string, unknown>
}

function isSafeIntegerClaim(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value)
}

/**
 * Verifies a compact JWS of the given type and returns its payload, header, signer and digest.
 *
 * Throws `VerificationError` with the first failing rule's code, in the order of CW-SIG-013;
 * `TypeError` for an unknown type or bad options.
 */
export async function verifySigned(type: SignedType, jws: unknown, options: VerifyOptions): Promise<VerifiedObject> {
  if (!isSignedType(type)) throw new TypeError('unknown signed object type')
  const { trustAnchors, audience, now, tolerance, maxBytes } = settings(options)

  // Size, before any parsing (CW-FMT-005).
  if (typeof jws !== 'string') throw new VerificationError('CW_ERR_MALFORMED', 'JWS must be a string')
  if (jws.length > maxBytes) throw new VerificationError('CW_ERR_TOO_LARGE', 'JWS exceeds the size limit')

  // Shape: three base64url segments, a JSON object as the protected header (CW-SIG-001).
  const segments = jws.split('.')
  if (segments.length !== 3) throw new VerificationError('CW_ERR_MALFORMED', 'JWS must be in compact serialization')
  const [protectedSegment, payloadSegment, signatureSegment] = segments as [string, string, string]
  const headerBytes = decodeSegment(protectedSegment)
  const payloadBytes = decodeSegment(payloadSegment)
  const signatureBytes = decodeSegment(signatureSegment)
  if (headerBytes === undefined || payloadBytes === undefined || signatureBytes === undefined) {
    throw new VerificationError('CW_ERR_MALFORMED', 'JWS segment is not base64url')
  }
  // I-JSON (SPEC §6): a duplicate "alg" or "typ" is refused, never read first-wins or last-wins.
  const header = parseJsonObject(headerBytes, parseJson, 'header')

  // Header guards (CW-SIG-002..005, CW-SIG-016).
  const alg = header['alg']
  if (typeof alg !== 'string' || !(ALLOWED_ALGS as readonly string[]).includes(alg)) {
    throw new VerificationError('CW_ERR_ALG_NOT_ALLOWED', 'JWS "alg" (Algorithm) Header Parameter not allowed', { at: 'header.alg' })
  }
  if (Object.hasOwn(header, 'crit')) {
    throw new VerificationError('CW_ERR_CRIT_UNSUPPORTED', 'JWS "crit" (Critical) Header Parameter not supported', { at: 'header.crit' })
  }
  if (Object.hasOwn(header, 'b64')) {
    throw new VerificationError('CW_ERR_CRIT_UNSUPPORTED', 'JWS "b64" Header Parameter not supported', { at: 'header.b64' })
  }
  for (const name of FORBIDDEN_KEY_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw new VerificationError('CW_ERR_X5C_INVALID', `JWS "${name}" Header Parameter not allowed; the key comes from "x5c"`, { at: `header.${name}` })
    }
  }
  if (header['typ'] !== TYP[type]) {
    throw new VerificationError('CW_ERR_TYP_INVALID', `JWS "typ" (Type) Header Parameter must be "${TYP[type]}"`, { at: 'header.typ' })
  }
  // CW-SIG-016: §7 defines the whole protected header; a parameter it does not name is refused,
  // never ignored (the forbidden ones above already have their own codes).
  const unknown = Object.keys(header).find((name) => !(HEADER_PARAMETERS as readonly string[]).includes(name))
  if (unknown !== undefined) {
    throw new VerificationError('CW_ERR_MALFORMED', `JWS "${unknown}" Header Parameter is not one SPEC.md §7 defines`, { at: `header.${unknown}` })
  }
  const x5c = header['x5c']
  if (!Array.isArray(x5c)) {
    throw new VerificationError('CW_ERR_X5C_INVALID', 'JWS "x5c" (X.509 Certificate Chain) Header Parameter missing or invalid', { at: 'header.x5c' })
  }

  // Certificate chain to a trust anchor, signing profile, organization (CW-SIG-006, CW-SIG-007).
  const signer = verifyChain(x5c as string[], trustAnchors, { usage: 'signing', currentDate: now })
  const leafKey = signer.certificate.publicKey
  if (algorithmOfKey(leafKey) !== alg) {
    throw new VerificationError('CW_ERR_ALG_NOT_ALLOWED', 'JWS "alg" does not match the signing key', { at: 'header.alg' })
  }

  // Signature (CW-SIG-008) over the JWS Signing Input, ASCII(protected '.' payload) (RFC 7515 §5.2).
  const signingInput = Buffer.from(`${protectedSegment}.${payloadSegment}`, 'ascii')
  if (!(await verifySignatureBytes(alg as SignatureAlgorithm, leafKey, signingInput, signatureBytes))) {
    throw new VerificationError('CW_ERR_SIGNATURE_INVALID', 'JWS signature does not verify')
  }

  // Payload: a JSON object, in canonical form (so its digest is the digest of the signed bytes; CW-SIG-014).
  const payload = parseJsonObject(payloadBytes, parseCanonicalJson, 'payload')

  // Claims (CW-VER-001, CW-SIG-009..011).
  const versions = options.versions ?? SUPPORTED_VERSIONS
  if (!isSupportedVersion(payload['cwv']) || !versions.includes(payload['cwv'])) {
    throw new VerificationError('CW_ERR_VERSION_UNSUPPORTED', `"cwv" must be one of ${versions.map((v) => `"${v}"`).join(', ')}`, { at: '/cwv' })
  }
  if (payload['iss'] !== signer.org) {
    throw new VerificationError('CW_ERR_ISSUER_MISMATCH', '"iss" is not the organization of the signing certificate', { at: '/iss' })
  }
  if (audience !== undefined && payload['aud'] !== audience) {
    throw new VerificationError('CW_ERR_AUDIENCE_MISMATCH', '"aud" is not this organization', { at: '/aud' })
  }
  const { iat, exp } = payload
  if (!isSafeIntegerClaim(iat)) throw new VerificationError('CW_ERR_MALFORMED', '"iat" must be an integer', { at: '/iat' })
  if (!isSafeIntegerClaim(exp)) throw new VerificationError('CW_ERR_MALFORMED', '"exp" must be an integer', { at: '/exp' })
  const seconds = Math.floor(now.getTime() / 1000)
  if (iat > seconds + tolerance) throw new VerificationError('CW_ERR_NOT_YET_VALID', '"iat" is in the future', { at: '/iat' })
  if (exp <= seconds - tolerance) throw new VerificationError('CW_ERR_EXPIRED', '"exp" has passed', { at: '/exp' })
  if (exp <= iat) throw new VerificationError('CW_ERR_MALFORMED', '"exp" must be after "iat"', { at: '/exp' })
  if (typeof payload['jti'] !== 'string' || payload['jti'].length === 0) {
    throw new VerificationError('CW_ERR_MALFORMED', '"jti" must be a non-empty string', { at: '/jti' })
  }

  return { payload, header, signer, digest: digestBytes(payloadBytes) }
}
