/**
 * Attenuation of sharing policies (SPEC.md CW-POL-005): an onward share can only narrow
 * what the previous hop allowed.
 *
 * @module
 */
import { PolicyError } from '../errors.ts'
import type { SharingPolicy } from '../types.gen.ts'
import { isAttenuated } from './is_attenuated.ts'

/**
 * Throws unless `child` attenuates `parent` (the rules are listed on `isAttenuated`).
 *
 * @example
 * ```ts
 * assertAttenuated(onwardPolicy, receivedGrant.policy) // before issuing an onward grant
 * ```
 *
 * @throws {PolicyError} `CW_ERR_POLICY_WIDENED`, `at` = JSON pointer of the widened rule in
 *   the child policy (e.g. `/permissions/download`, `/content/evidenceCategories/2`).
 */
export function assertAttenuated(child: SharingPolicy, parent: SharingPolicy): void {
  const result = isAttenuated(child, parent)
  if (!result.ok) throw new PolicyError('CW_ERR_POLICY_WIDENED', `policy widens its parent: ${result.reason}`, { at: result.at })
}
