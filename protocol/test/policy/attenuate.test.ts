import t from 'tap'
import { PolicyError } from '../../src/errors.ts'
import { assertAttenuated } from '../../src/policy/attenuate.ts'
import { isAttenuated } from '../../src/policy/is_attenuated.ts'
import type { SharingPolicy } from '../../src/types.gen.ts'
import { testPolicy, onwardHops, NARROW } from '../../../testkit/fixtures/policies.ts'

type Assertions = Pick<typeof t, 'throws' | 'match'>

/** A child one hop below `testPolicy(onwardHops(3))`: equal except the hop it uses. */
function childOf(parent: SharingPolicy): SharingPolicy {
  const child = structuredClone(parent)
  child.permissions.shareOnward.maxDepth = parent.permissions.shareOnward.maxDepth - 1
  return child
}

function refuses(t: Assertions, child: SharingPolicy, parent: SharingPolicy, at: string): void {
  t.throws(() => assertAttenuated(child, parent), { code: 'CW_ERR_POLICY_WIDENED', at }, `widening at ${at} refused`)
  t.match(isAttenuated(child, parent), { ok: false, at }, 'isAttenuated reports the same position')
}

// spec: CW-POL-005
t.test('a child equal to its parent but one hop shallower is accepted', async (t) => {
  const parent = testPolicy(onwardHops(3, ['lab', 'court']))
  t.doesNotThrow(() => assertAttenuated(childOf(parent), parent))
  t.same(isAttenuated(childOf(parent), parent), { ok: true })
})

// spec: CW-POL-005
t.test('a narrower child is accepted', async (t) => {
  t.doesNotThrow(() => assertAttenuated(testPolicy(NARROW), testPolicy()))
  const parent = testPolicy(onwardHops(4, ['lab', 'court', 'da']))
  const child = childOf(parent)
  child.permissions.download = false
  child.permissions.shareOnward.maxDepth = 1
  child.permissions.shareOnward.partners = ['court']
  child.content.caseFields = ['title']
  child.content.evidenceCategories = []
  child.content.attachments = false
  child.maxDurationSeconds = 60
  t.doesNotThrow(() => assertAttenuated(child, parent))
})

// spec: CW-POL-005
t.test('the maxDepth of a child that does not share onward is not compared', async (t) => {
  const parent = testPolicy(NARROW)
  const child = testPolicy(NARROW)
  child.permissions.shareOnward = { allowed: false, maxDepth: 5 }
  t.doesNotThrow(() => assertAttenuated(child, parent), 'parent allows nothing onward')
  const oneHop = testPolicy(onwardHops(1))
  const leaf = structuredClone(oneHop)
  leaf.permissions.shareOnward = { allowed: false, maxDepth: 1 }
  t.doesNotThrow(() => assertAttenuated(leaf, oneHop), 'parent allows one hop')
})

// spec: CW-POL-005
t.test('a child of a parent that lists partners lists partners too, even if it does not share onward', async (t) => {
  const parent = testPolicy(onwardHops(1, ['lab']))
  const leaf = structuredClone(parent)
  leaf.permissions.shareOnward = { allowed: false, maxDepth: 0 }
  refuses(t, leaf, parent, '/permissions/shareOnward/partners')
  leaf.permissions.shareOnward.partners = []
  t.doesNotThrow(() => assertAttenuated(leaf, parent), 'an empty list is a subset')
})

// spec: CW-POL-005
t.test('each boolean permission wider than the parent is refused', async (t) => {
  for (const name of ['download', 'import', 'applyUpdates'] as const) {
    const parent = testPolicy(onwardHops(2))
    parent.permissions[name] = false
    const child = childOf(parent)
    child.permissions[name] = true
    refuses(t, child, parent, `/permissions/${name}`)
  }
})

// spec: CW-POL-005
t.test('onward sharing the parent does not allow is refused', async (t) => {
  const parent = testPolicy(NARROW)
  const child = testPolicy(NARROW)
  child.permissions.shareOnward = { allowed: true, maxDepth: 0 }
  refuses(t, child, parent, '/permissions/shareOnward/allowed')
})

// spec: CW-POL-005
t.test('maxDepth above the parent less one hop is refused', async (t) => {
  const parent = testPolicy(onwardHops(3))
  const same = structuredClone(parent)
  refuses(t, same, parent, '/permissions/shareOnward/maxDepth')
  const more = structuredClone(parent)
  more.permissions.shareOnward.maxDepth = 8
  refuses(t, more, parent, '/permissions/shareOnward/maxDepth')
  const exhausted = testPolicy(onwardHops(0))
  const child = testPolicy(onwardHops(0))
  refuses(t, child, exhausted, '/permissions/shareOnward/maxDepth')
})

// spec: CW-POL-005
t.test('a partner list wider than the parent is refused', async (t) => {
  const parent = testPolicy(onwardHops(3, ['lab', 'court']))
  const anyPartner = childOf(parent)
  delete anyPartner.permissions.shareOnward.partners
  refuses(t, anyPartner, parent, '/permissions/shareOnward/partners')
  const extra = childOf(parent)
  extra.permissions.shareOnward.partners = ['court', 'press']
  refuses(t, extra, parent, '/permissions/shareOnward/partners/1')
  const unlisted = testPolicy(onwardHops(3))
  const listed = childOf(unlisted)
  listed.permissions.shareOnward.partners = ['press']
  t.doesNotThrow(() => assertAttenuated(listed, unlisted), 'a parent without a list allows any list')
})

// spec: CW-POL-005
t.test('content wider than the parent is refused', async (t) => {
  const parent = testPolicy(NARROW)
  const field = testPolicy(NARROW)
  field.content.caseFields = ['title', 'officers']
  refuses(t, field, parent, '/content/caseFields/1')
  const category = testPolicy(NARROW)
  category.content.evidenceCategories = ['video', 'photo']
  refuses(t, category, parent, '/content/evidenceCategories/0')
  const attachments = testPolicy(NARROW)
  attachments.content.attachments = true
  refuses(t, attachments, parent, '/content/attachments')
})

// spec: CW-POL-005
t.test('a longer maximum duration is refused', async (t) => {
  const parent = testPolicy(NARROW)
  const child = testPolicy(NARROW)
  child.maxDurationSeconds = parent.maxDurationSeconds + 1
  refuses(t, child, parent, '/maxDurationSeconds')
  child.maxDurationSeconds = parent.maxDurationSeconds
  t.doesNotThrow(() => assertAttenuated(child, parent), 'equal duration accepted')
})

t.test('the thrown error is a PolicyError naming both values', async (t) => {
  const parent = testPolicy(onwardHops(2))
  const child = childOf(parent)
  child.maxDurationSeconds = parent.maxDurationSeconds * 2
  const error = t.throws(() => assertAttenuated(child, parent))
  t.ok(error instanceof PolicyError)
  t.match((error as Error).message, String(parent.maxDurationSeconds))
  t.match((error as Error).message, String(child.maxDurationSeconds))
})

// spec: CW-POL-009
t.test('addRecipients: absent is false; a child may keep or drop it, never add it', async (t) => {
  const parent = testPolicy(onwardHops(3))
  const child = childOf(parent)
  child.permissions.addRecipients = true
  refuses(t, child, parent, '/permissions/addRecipients')
  const falseParent = structuredClone(parent)
  falseParent.permissions.addRecipients = false
  refuses(t, child, falseParent, '/permissions/addRecipients')
  child.permissions.download = false
  refuses(t, child, parent, '/permissions/addRecipients')

  const permitting = structuredClone(parent)
  permitting.permissions.addRecipients = true
  const keeps = childOf(permitting)
  t.same(isAttenuated(keeps, permitting), { ok: true }, 'kept')
  const drops = childOf(permitting)
  delete drops.permissions.addRecipients
  t.same(isAttenuated(drops, permitting), { ok: true }, 'dropped (absent)')
  drops.permissions.addRecipients = false
  t.same(isAttenuated(drops, permitting), { ok: true }, 'dropped (false)')
})
