/**
 * Whether one sharing policy attenuates another (SPEC.md CW-POL-005), as data: the first
 * widened rule, or `{ ok: true }`. Useful where a refusal is shown rather than thrown (an
 * administrator's policy editor); {@link assertAttenuated} is the throwing form.
 *
 * @module
 */
import type { SharingPolicy } from '../types.gen.ts'

/** The result of {@link isAttenuated}. `at` is a JSON pointer into the child policy. */
export type AttenuationResult = { ok: true } | { ok: false; at: string; reason: string }

const BOOLEAN_PERMISSIONS = ['download', 'import', 'applyUpdates'] as const

/**
 * Checks that `child` grants nothing `parent` does not, for a child one hop below the parent.
 *
 * Rules, in the order they are checked (the first failure is reported):
 * - `permissions.download`, `.import`, `.applyUpdates`: child ≤ parent;
 * - `permissions.addRecipients` (absent = false): true in the child only if true in the parent;
 * - `permissions.shareOnward.allowed` only if the parent allows, and then `maxDepth` ≤ the
 *   parent's `maxDepth` − 1 (each hop uses one; the `maxDepth` of a child that does not share
 *   onward is not compared);
 * - when the parent lists `shareOnward.partners`, the child lists partners too (an empty list
 *   will do), all of them in the parent's list;
 * - `content.caseFields` ⊆, `content.evidenceCategories` ⊆, `content.attachments` child ≤ parent;
 * - `maxDurationSeconds` child ≤ parent.
 *
 * `view` is always true (the schema's `const`), and `id`, `version`, `name` are labels.
 */
export function isAttenuated(child: SharingPolicy, parent: SharingPolicy): AttenuationResult {
  for (const name of BOOLEAN_PERMISSIONS) {
    if (child.permissions[name] && !parent.permissions[name]) {
      return widened(`/permissions/${name}`, `${name} is false in the parent policy but true in the child`)
    }
  }

  // spec: CW-POL-009 — optional (a 0.2 member): absent is false, so only an explicit true widens.
  if (child.permissions.addRecipients === true && parent.permissions.addRecipients !== true) {
    return widened('/permissions/addRecipients', 'adding recipients is not permitted by the parent policy but permitted by the child')
  }

  const childOnward = child.permissions.shareOnward
  const parentOnward = parent.permissions.shareOnward
  if (childOnward.allowed) {
    if (!parentOnward.allowed) {
      return widened('/permissions/shareOnward/allowed', 'onward sharing is not allowed by the parent policy but allowed by the child')
    }
    if (childOnward.maxDepth > parentOnward.maxDepth - 1) {
      return widened(
        '/permissions/shareOnward/maxDepth',
        `shareOnward.maxDepth ${childOnward.maxDepth} exceeds the parent's ${parentOnward.maxDepth} less one hop`,
      )
    }
  }
  if (parentOnward.partners !== undefined) {
    if (childOnward.partners === undefined) {
      return widened('/permissions/shareOnward/partners', 'the parent policy lists onward partners but the child allows any partner')
    }
    const allowed = new Set(parentOnward.partners)
    const index = childOnward.partners.findIndex((partner) => !allowed.has(partner))
    if (index !== -1) {
      return widened(
        `/permissions/shareOnward/partners/${index}`,
        `onward partner ${JSON.stringify(childOnward.partners[index])} is not in the parent policy's partners`,
      )
    }
  }

  const subsets = [
    ['caseFields', 'case field'],
    ['evidenceCategories', 'evidence category'],
  ] as const
  for (const [name, label] of subsets) {
    const allowed = new Set(parent.content[name])
    const index = child.content[name].findIndex((value) => !allowed.has(value))
    if (index !== -1) {
      return widened(`/content/${name}/${index}`, `${label} ${JSON.stringify(child.content[name][index])} is not allowed by the parent policy`)
    }
  }
  if (child.content.attachments && !parent.content.attachments) {
    return widened('/content/attachments', 'attachments are false in the parent policy but true in the child')
  }

  if (child.maxDurationSeconds > parent.maxDurationSeconds) {
    return widened('/maxDurationSeconds', `maxDurationSeconds ${child.maxDurationSeconds} exceeds the parent's ${parent.maxDurationSeconds}`)
  }
  return { ok: true }
}

function widened(at: string, reason: string): AttenuationResult {
  return { ok: false, at, reason }
}
