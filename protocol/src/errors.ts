/**
 * The problem-code catalogue and the error classes that carry it.
 *
 * Every refusal in Caseway has one stable code from {@link PROBLEMS}. The SPEC.md
 * "Problem codes" table lists the same codes; a test keeps the two in step both ways.
 * On the wire a code becomes an RFC 9457 problem document (see `toProblem`).
 *
 * Two families for objects, as in sigstore-js: a {@link VerificationError} answers "is this
 * object intact and who signed it?"; a {@link PolicyError} answers "is what it asks for
 * allowed?". A third, {@link RequestError}, covers requests that fail before any object is
 * looked at (authentication, unknown resource, conflicting state).
 * Caller mistakes (wrong option types) are plain `TypeError`s, never one of these.
 *
 * @module
 */
import type { Problem } from './types.gen.ts'

/** Which family a code belongs to, and the HTTP status it maps to on the wire. */
export interface ProblemDefinition {
  readonly family: 'verification' | 'policy' | 'request'
  readonly status: number
  readonly title: string
}

/** The catalogue. Keys are the stable codes; never rename or reuse one. */
export const PROBLEMS = {
  // Input shape
  CW_ERR_MALFORMED: { family: 'verification', status: 400, title: 'Malformed input' },
  CW_ERR_TOO_LARGE: { family: 'verification', status: 413, title: 'Input too large' },
  CW_ERR_SCHEMA_INVALID: { family: 'verification', status: 422, title: 'Object violates its schema' },
  CW_ERR_VERSION_UNSUPPORTED: { family: 'verification', status: 422, title: 'Protocol version not supported' },
  // JWS header
  CW_ERR_ALG_NOT_ALLOWED: { family: 'verification', status: 422, title: 'Signature algorithm not allowed' },
  CW_ERR_CRIT_UNSUPPORTED: { family: 'verification', status: 422, title: 'Unsupported critical header' },
  CW_ERR_TYP_INVALID: { family: 'verification', status: 422, title: 'Wrong object type' },
  // Certificates
  CW_ERR_X5C_INVALID: { family: 'verification', status: 422, title: 'Certificate chain missing or unreadable' },
  CW_ERR_CHAIN_UNTRUSTED: { family: 'verification', status: 422, title: 'Certificate chain does not lead to a trusted CA' },
  CW_ERR_CERT_EXPIRED: { family: 'verification', status: 422, title: 'Certificate expired' },
  CW_ERR_CERT_NOT_YET_VALID: { family: 'verification', status: 422, title: 'Certificate not yet valid' },
  CW_ERR_CERT_USAGE: { family: 'verification', status: 422, title: 'Certificate not allowed for this use' },
  CW_ERR_CERT_ORG_INVALID: { family: 'verification', status: 422, title: 'Certificate does not name exactly one organization' },
  // Signature and claims
  CW_ERR_SIGNATURE_INVALID: { family: 'verification', status: 422, title: 'Signature does not verify' },
  CW_ERR_ISSUER_MISMATCH: { family: 'verification', status: 422, title: 'Issuer is not the signing organization' },
  CW_ERR_AUDIENCE_MISMATCH: { family: 'verification', status: 422, title: 'Object is addressed to another organization' },
  CW_ERR_EXPIRED: { family: 'verification', status: 422, title: 'Object expired' },
  CW_ERR_NOT_YET_VALID: { family: 'verification', status: 422, title: 'Object issued in the future' },
  CW_ERR_REPLAY: { family: 'verification', status: 409, title: 'Object already seen' },
  // Provenance chains
  CW_ERR_CHAIN_LINK_BROKEN: { family: 'verification', status: 422, title: 'Provenance chain link broken' },
  CW_ERR_EVIDENCE_ALTERED: { family: 'verification', status: 422, title: "Evidence differs from the originator's" },
  // Partner bundles
  CW_ERR_BUNDLE_INVALID: { family: 'verification', status: 422, title: 'Partner bundle invalid' },
  CW_ERR_FINGERPRINT_MISMATCH: { family: 'verification', status: 422, title: 'CA fingerprint differs from the one exchanged out of band' },
  // Case packages
  CW_ERR_PACKAGE_INVALID: { family: 'verification', status: 422, title: 'Package unreadable or missing its signed manifest' },
  CW_ERR_PACKAGE_MEMBER_ALTERED: { family: 'verification', status: 422, title: 'Package member differs from its manifest entry' },
  CW_ERR_PACKAGE_MEMBER_MISSING: { family: 'verification', status: 422, title: 'Package member listed in the manifest is missing' },
  CW_ERR_PACKAGE_MEMBER_UNLISTED: { family: 'verification', status: 422, title: 'Package member not listed in the manifest' },
  CW_ERR_AUDIT_CHAIN_BROKEN: { family: 'verification', status: 422, title: 'Audit chain broken' },
  // Policy
  CW_ERR_POLICY_WIDENED: { family: 'policy', status: 403, title: 'Policy wider than its parent' },
  CW_ERR_POLICY_VIOLATION: { family: 'policy', status: 403, title: 'Content not allowed by the sharing policy' },
  CW_ERR_DO_NOT_DISCLOSE: { family: 'policy', status: 403, title: 'Evidence marked do-not-disclose' },
  CW_ERR_CHAIN_DEPTH_EXCEEDED: { family: 'policy', status: 403, title: 'Onward-sharing depth exceeded' },
  CW_ERR_PARTNER_NOT_ALLOWED: { family: 'policy', status: 403, title: 'Onward share to a partner the policy does not allow' },
  CW_ERR_DURATION_EXCEEDED: { family: 'policy', status: 403, title: 'Share lasts longer than the policy allows' },
  CW_ERR_ACTION_NOT_ALLOWED: { family: 'policy', status: 403, title: 'The sharing policy does not permit this action' },
  // Federation exchange
  CW_ERR_PEER_MISMATCH: { family: 'verification', status: 403, title: 'Object not issued by the connected peer' },
  CW_ERR_PARTNER_UNKNOWN: { family: 'request', status: 403, title: 'Peer is not an enabled partner' },
  CW_ERR_CHUNK_DIGEST_MISMATCH: { family: 'verification', status: 422, title: 'Chunk bytes do not match their digest' },
  CW_ERR_STALE_REVISION: { family: 'verification', status: 409, title: 'Revision older than, or conflicting with, one already accepted' },
  CW_ERR_SHARE_REVOKED: { family: 'request', status: 410, title: 'Share revoked' },
  CW_ERR_SHARE_EXPIRED: { family: 'request', status: 410, title: 'Share expired' },
  CW_ERR_RANGE_INVALID: { family: 'request', status: 416, title: 'Range not satisfiable' },
  // Requests
  CW_ERR_BAD_REQUEST: { family: 'request', status: 400, title: 'Request invalid' },
  CW_ERR_UNAUTHENTICATED: { family: 'request', status: 401, title: 'Authentication required' },
  CW_ERR_FORBIDDEN: { family: 'request', status: 403, title: 'Not allowed for this role' },
  CW_ERR_NOT_FOUND: { family: 'request', status: 404, title: 'Not found' },
  CW_ERR_CONFLICT: { family: 'request', status: 409, title: 'Conflicts with the current state' },
  CW_ERR_UNSUPPORTED_MEDIA_TYPE: { family: 'request', status: 415, title: 'Unsupported media type' },
  CW_ERR_RATE_LIMITED: { family: 'request', status: 429, title: 'Too many requests' },
  CW_ERR_INTERNAL: { family: 'request', status: 500, title: 'Internal error' },
  CW_ERR_UNAVAILABLE: { family: 'request', status: 503, title: 'Temporarily unavailable' },
  CW_ERR_QUOTA_EXCEEDED: { family: 'request', status: 429, title: 'Partner quota exceeded' },
  CW_ERR_MISDIRECTED: { family: 'request', status: 421, title: 'Request not meant for this listener' },
  CW_ERR_METHOD_NOT_ALLOWED: { family: 'request', status: 405, title: 'Method not allowed on this path' },
} as const satisfies Record<string, ProblemDefinition>

/** A stable problem code: the closed union of the catalogue's keys. */
export type ProblemCode = keyof typeof PROBLEMS

/** Codes of the verification family. */
export type VerificationCode = {
  [K in ProblemCode]: (typeof PROBLEMS)[K]['family'] extends 'verification' ? K : never
}[ProblemCode]

/** Codes of the request family (authentication, routing, state; not about an object's content). */
export type RequestCode = {
  [K in ProblemCode]: (typeof PROBLEMS)[K]['family'] extends 'request' ? K : never
}[ProblemCode]

/** Codes of the policy family. */
export type PolicyCode = {
  [K in ProblemCode]: (typeof PROBLEMS)[K]['family'] extends 'policy' ? K : never
}[ProblemCode]

/** Base URI of problem `type`s; the code's lower-kebab form is appended. */
export const PROBLEM_TYPE_BASE = 'urn:caseway:problem:'

/** `CW_ERR_SIGNATURE_INVALID` → `urn:caseway:problem:signature-invalid`. */
export function problemType(code: ProblemCode): string {
  return PROBLEM_TYPE_BASE + code.slice('CW_ERR_'.length).toLowerCase().replaceAll('_', '-')
}

const kCaseway = Symbol.for('caseway.error')

/** Base of every error that carries a problem code. */
export class CasewayError<C extends ProblemCode = ProblemCode> extends Error {
  readonly code: C
  /** Where in the input the fault is (a JSON pointer or header name), when known. */
  readonly at: string | undefined
  readonly [kCaseway] = true

  constructor(code: C, message: string, options?: { at?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.at = options?.at
  }

  /** Survives duplicate copies of this module (undici's pattern). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kCaseway] === true
  }
}

/** The object is malformed, unsigned, mis-signed, untrusted, expired, or not ours. */
export class VerificationError extends CasewayError<VerificationCode> {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return CasewayError[Symbol.hasInstance](value) && PROBLEMS[(value as CasewayError).code].family === 'verification'
  }
}

/** The object is authentic, but what it asks for is not allowed. */
export class PolicyError extends CasewayError<PolicyCode> {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return CasewayError[Symbol.hasInstance](value) && PROBLEMS[(value as CasewayError).code].family === 'policy'
  }
}

/** A request cannot be served: unauthenticated, not found, conflicting, too many, … */
export class RequestError extends CasewayError<RequestCode> {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return CasewayError[Symbol.hasInstance](value) && PROBLEMS[(value as CasewayError).code].family === 'request'
  }
}

/** An RFC 9457 problem document as Caseway sends it (`protocol/schemas/problem.schema.json`), with a catalogued code. */
export interface ProblemDocument extends Problem {
  code: ProblemCode
}

/** The one mapping from an error to its wire form. Never includes a stack trace. */
export function toProblem(error: CasewayError, instance?: string): ProblemDocument {
  const definition = PROBLEMS[error.code]
  const problem: ProblemDocument = {
    type: problemType(error.code),
    title: definition.title,
    status: definition.status,
    detail: error.message,
    code: error.code,
  }
  if (error.at !== undefined) problem.at = error.at
  if (instance !== undefined) problem.instance = instance
  return problem
}
