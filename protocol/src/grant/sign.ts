/**
 * Signing a grant (SPEC.md, Provenance chains): JWS compact, `typ` `caseway-grant+jws`.
 *
 * @module
 */
import { signObject } from '../jws/sign.ts'
import type { Signer } from '../jws/sign.ts'
import { assertGrant } from '../schema/validate.ts'
import type { Grant } from '../types.gen.ts'

/**
 * Signs `grant` with the issuer's signing key and certificate chain.
 *
 * The grant is checked first; a grant that would not verify is a caller bug, so each fault is a
 * `TypeError` (with the `VerificationError` as `cause` when the schema refused it): the grant
 * schema, evidence digests sorted and unique, `parent` present exactly when `depth` > 0, and a
 * lifetime within `policy.maxDurationSeconds` (CW-POL-004). Whether the grant attenuates its
 * parent is the caller's to check (`assertAttenuated`), as is the signer's organization
 * (it must be `grant.iss`).
 *
 * @example
 * ```ts
 * const jws = await signGrant(onwardGrant(received, { aud: 'lab', share: 's-9', policy }), signer)
 * ```
 */
export async function signGrant(grant: Grant, signer: Signer): Promise<string> {
  try {
    assertGrant(grant)
  } catch (error) {
    throw new TypeError(`invalid grant: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  for (let index = 1; index < grant.evidence.length; index++) {
    if (grant.evidence[index - 1]! >= grant.evidence[index]!) throw new TypeError('grant evidence digests must be sorted and unique')
  }
  if ((grant.depth === 0) !== (grant.parent === undefined)) {
    throw new TypeError('a grant has a parent exactly when its depth is above 0')
  }
  if (grant.exp - grant.iat > grant.policy.maxDurationSeconds) {
    throw new TypeError(`grant lasts ${grant.exp - grant.iat} s, its policy allows at most ${grant.policy.maxDurationSeconds} s`)
  }
  return signObject('grant', grant as unknown as Record<string, unknown>, signer)
}
