/**
 * Whether a policy lets a receiver import (SPEC.md CW-LOC-003).
 *
 * @module
 */
import type { SharingPolicy } from '../types.gen.ts'

/**
 * True when `permissions` permit import: `import` and `download` both. An imported case is
 * the receiving agency's own copy, whose evidence its users read like any other; importing
 * under a policy that withholds download would hand out the bytes the policy withheld.
 */
export function permitsImport(permissions: Pick<SharingPolicy['permissions'], 'import' | 'download'>): boolean {
  return permissions.import && permissions.download
}
