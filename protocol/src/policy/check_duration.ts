/**
 * How long a grant may last (SPEC.md CW-POL-004).
 *
 * @module
 */
import { PolicyError } from '../errors.ts'
import type { Grant } from '../types.gen.ts'

/**
 * Throws unless the grant's lifetime `exp − iat` is within its policy's `maxDurationSeconds`.
 *
 * @param base JSON pointer of the grant inside a larger document (`/grants/2`), prefixed to `at`.
 * @throws {PolicyError} `CW_ERR_DURATION_EXCEEDED`, `at` = `<base>/exp`.
 */
export function checkGrantDuration(grant: Pick<Grant, 'iat' | 'exp' | 'policy'>, base = ''): void {
  const duration = grant.exp - grant.iat
  if (duration > grant.policy.maxDurationSeconds) {
    throw new PolicyError('CW_ERR_DURATION_EXCEEDED', `grant lasts ${duration} s, its policy allows at most ${grant.policy.maxDurationSeconds} s`, {
      at: `${base}/exp`,
    })
  }
}
