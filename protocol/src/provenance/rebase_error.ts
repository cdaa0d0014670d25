/**
 * Internal: re-reports an error found inside one part of a larger document (a grant inside a
 * manifest's `grants`) with the position of that part.
 *
 * @module
 */
import { CasewayError, PolicyError, PROBLEMS, VerificationError } from '../errors.ts'
import type { PolicyCode, VerificationCode } from '../errors.ts'

/**
 * `error` with `at` prefixed by `base` (a JSON pointer). A header position such as
 * `header.alg` is not a pointer into the payload; it goes into the message and `at` becomes
 * `base`. Anything that is not a {@link CasewayError} is returned unchanged.
 */
export function rebaseError(error: unknown, base: string, label: string): unknown {
  if (!(error instanceof CasewayError)) return error
  const caseway = error as CasewayError
  const inner = caseway.at
  const at = inner === undefined || inner === '' ? base : inner.startsWith('/') ? base + inner : base
  const message = `${label}: ${caseway.message}${inner !== undefined && inner !== '' && !inner.startsWith('/') ? ` (${inner})` : ''}`
  const options = { at, cause: error }
  switch (PROBLEMS[caseway.code].family) {
    case 'policy':
      return new PolicyError(caseway.code as PolicyCode, message, options)
    case 'verification':
      return new VerificationError(caseway.code as VerificationCode, message, options)
    default:
      return new CasewayError(caseway.code, message, options)
  }
}
