/**
 * The receiver's content check of a manifest against the sharing policy it travels under
 * (SPEC.md CW-POL-002, CW-POL-003).
 *
 * @module
 */
import { PolicyError } from '../errors.ts'
import type { CaseManifest, SharingPolicy } from '../types.gen.ts'

/**
 * Throws if the manifest carries anything the policy excludes. Checked in this order, the
 * first failure is reported:
 * 1. any evidence item with `doNotDisclose` true → `CW_ERR_DO_NOT_DISCLOSE`
 *    (`at` `/evidence/<i>/doNotDisclose`): such evidence is never shared, whatever the policy;
 * 2. a case field not in `content.caseFields` → `CW_ERR_POLICY_VIOLATION` (`/case/fields/<name>`);
 * 3. per evidence item, in order: a category not in `content.evidenceCategories`
 *    (`/evidence/<i>/category`), an attachment (`attachmentOf` set) when `content.attachments`
 *    is false (`/evidence/<i>/attachmentOf`) → `CW_ERR_POLICY_VIOLATION`.
 *
 * The manifest must already be verified (`verifyManifest`); this checks no signature.
 *
 * @throws {PolicyError}
 */
export function enforceManifestPolicy(manifest: CaseManifest, policy: SharingPolicy): void {
  const dnd = manifest.evidence.findIndex((item) => item.doNotDisclose !== false)
  if (dnd !== -1) {
    throw new PolicyError('CW_ERR_DO_NOT_DISCLOSE', `evidence ${JSON.stringify(manifest.evidence[dnd]!.id)} is marked do-not-disclose`, {
      at: `/evidence/${dnd}/doNotDisclose`,
    })
  }

  const fields = new Set(policy.content.caseFields)
  for (const [name, value] of Object.entries(manifest.case.fields)) {
    if (value !== undefined && !fields.has(name)) {
      throw new PolicyError('CW_ERR_POLICY_VIOLATION', `case field ${JSON.stringify(name)} is not allowed by the policy`, {
        at: `/case/fields/${escapePointer(name)}`,
      })
    }
  }

  const categories = new Set(policy.content.evidenceCategories)
  for (const [index, item] of manifest.evidence.entries()) {
    if (!categories.has(item.category)) {
      throw new PolicyError('CW_ERR_POLICY_VIOLATION', `evidence category ${JSON.stringify(item.category)} is not allowed by the policy`, {
        at: `/evidence/${index}/category`,
      })
    }
    if (item.attachmentOf !== undefined && !policy.content.attachments) {
      throw new PolicyError('CW_ERR_POLICY_VIOLATION', `evidence ${JSON.stringify(item.id)} is an attachment; the policy allows none`, {
        at: `/evidence/${index}/attachmentOf`,
      })
    }
  }
}

/** RFC 6901 reference token. */
function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1')
}
