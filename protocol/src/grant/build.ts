/**
 * Building grant payloads (SPEC.md, Provenance chains): the originator's grant and an onward
 * grant derived from the one received. Pure: nothing is signed or checked here (`signGrant`
 * checks the result, `assertAttenuated` the narrowing).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { digestJson } from '../canonical/digest.ts'
import type { Grant, SharingPolicy } from '../types.gen.ts'

/** Fields every grant builder takes. */
export interface GrantOptions {
  /** The organization the grant is addressed to. */
  aud: string
  /** The share this grant belongs to, as named by its issuer. */
  share: string
  /** Revision of that share; default 1. */
  revision?: number
  policy: SharingPolicy
  /** Issued-at, seconds since the epoch; default now. */
  iat?: number
  /** Expiry; default `iat + policy.maxDurationSeconds` (capped at the parent's `exp` for onward grants). */
  exp?: number
  /** Unique id; default a random UUID. */
  jti?: string
}

export interface OriginGrantOptions extends GrantOptions {
  /** The originator: the organization that owns the case and signs this grant. */
  iss: string
  /** Whole-file digests of the evidence granted, in any order; sorted and de-duplicated here. */
  evidence: Iterable<string>
}

export interface OnwardGrantOptions extends GrantOptions {
  /** Evidence digests granted onward; default all of the parent's. Sorted and de-duplicated here. */
  evidence?: Iterable<string>
}

/** The depth-0 grant an originator issues to its first partner. */
export function originGrant(options: OriginGrantOptions): Grant {
  const iat = options.iat ?? nowSeconds()
  return {
    cwv: '0.1',
    iss: options.iss,
    aud: options.aud,
    iat,
    exp: options.exp ?? iat + options.policy.maxDurationSeconds,
    jti: options.jti ?? randomUUID(),
    share: options.share,
    revision: options.revision ?? 1,
    originator: options.iss,
    depth: 0,
    policy: options.policy,
    evidence: sortedUnique(options.evidence),
  }
}

/**
 * The grant a receiver issues when it shares onward: issued by the parent's audience, one hop
 * deeper, with `parent` = digest of the parent's canonical payload and the same originator.
 */
export function onwardGrant(parent: Grant, options: OnwardGrantOptions): Grant {
  const iat = options.iat ?? nowSeconds()
  return {
    cwv: '0.1',
    iss: parent.aud,
    aud: options.aud,
    iat,
    exp: options.exp ?? Math.min(parent.exp, iat + options.policy.maxDurationSeconds),
    jti: options.jti ?? randomUUID(),
    share: options.share,
    revision: options.revision ?? 1,
    originator: parent.originator,
    depth: parent.depth + 1,
    parent: digestJson(parent),
    policy: options.policy,
    evidence: sortedUnique(options.evidence ?? parent.evidence),
  }
}

/** Digests sorted by code unit (byte order for these ASCII strings), duplicates removed. */
export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort()
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
