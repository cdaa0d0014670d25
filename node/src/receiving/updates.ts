/**
 * Updates available on an external case (receiver, SPEC.md §10 "Revisions"): for each pending
 * revision, the difference against what is applied — case fields and evidence items — and
 * applying the changes a recipient selects, when the sender's policy permits `applyUpdates`.
 * The applied state is a merge kept apart from the manifests (CW-REVN-006); an imported case
 * receives the same changes.
 *
 * @module
 */
import { canonicalJson, PolicyError, RequestError, type CaseManifest, type EvidenceItem } from '#protocol'
import type { NodeContext } from '../context.ts'
import { userActor } from '../events.ts'
import type {
  AppliedStateRecord,
  AppliedStateVersion,
  InboundRevisionRecord,
  InboundRevisionState,
  InboundShareRecord,
  InboundShareWithManifest,
  InboundShareState,
  MetadataStore,
  Repositories,
} from '../store/metadata_store.ts'
import { requireExternalAccess, requireExternalStateAccess, type AccessPrincipal } from '../access/case_access.ts'
import { appliedView, importedEvidence, importedEvidenceId, type AppliedView } from './applied.ts'
import { usable } from './external_cases.ts'
import { shareExpiryOf } from './share_expiry.ts'

type FieldValue = string | string[]

export interface FieldChange {
  updateId: string
  field: string
  old: FieldValue | null
  new: FieldValue | null
}

interface ItemFacts {
  name: string
  size: number
  digest: string
}

export interface ItemChange extends ItemFacts {
  updateId: string
  change: 'added' | 'removed' | 'modified'
  itemId: string
  /** For a modified item: what is applied now. */
  previous?: ItemFacts
}

export interface AvailableUpdate {
  revision: number
  receivedAt: number
  /** receiving: chunks still arriving; verified: ready to apply; rejected: an item did not match its digest. */
  transfer: InboundRevisionRecord['transfer']
  case: FieldChange[]
  evidence: ItemChange[]
}

export interface UpdatesAvailable {
  /** The revision the external case shows (updates were last applied from it). */
  appliedRevision: number
  updates: AvailableUpdate[]
}

export interface AppliedUpdates {
  revision: number
  applied: string[]
  /** Updates of that revision still not applied. */
  remaining: number
  importedCaseId: string | null
}

/**
 * The updates available on external case `inboundId`, for a recipient.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (also: not a recipient), `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`.
 */
export async function listUpdates(ctx: NodeContext, principal: AccessPrincipal, inboundId: string): Promise<UpdatesAvailable> {
  const share = usable(ctx, await requireExternalStateAccess(ctx, principal, inboundId, 'content', 'external.updates'))
  const applied = await ctx.store.inboundShares.getAppliedStateVersion(inboundId)
  const updates: AvailableUpdate[] = []
  for (const revision of await ctx.store.inboundShares.listRevisionStates(inboundId)) {
    if (revision.status !== 'pending') continue
    const { fields, items } = await changesOf(ctx, share, applied, revision)
    updates.push({ revision: revision.revision, receivedAt: revision.receivedAt, transfer: revision.transfer, case: fields, evidence: items })
  }
  return { appliedRevision: applied?.revision ?? share.revision, updates }
}

type Changes = ReturnType<typeof differences>

/**
 * The differences listed, per store, by what they compare: the applied view (the applied
 * state's version, or the manifest as received before any update was applied) and the
 * revision's manifest digest. Listing is polled, and comparing reads and parses both manifests,
 * each listing every item of the share. The most recent {@link LISTED_KEPT} are kept.
 */
const listed = new WeakMap<MetadataStore, Map<string, Changes>>()
const LISTED_KEPT = 64

function listedKey(inboundId: string, shareDigest: string, applied: AppliedStateVersion | undefined, revisionDigest: string): string {
  return [inboundId, applied === undefined ? shareDigest : `applied ${applied.version}`, revisionDigest].join(' ')
}

async function changesOf(
  ctx: NodeContext,
  share: InboundShareState,
  applied: AppliedStateVersion | undefined,
  revision: InboundRevisionState,
): Promise<Changes> {
  let known = listed.get(ctx.store)
  if (known === undefined) listed.set(ctx.store, (known = new Map()))
  const found = known.get(listedKey(share.id, share.manifestDigest, applied, revision.manifestDigest))
  if (found !== undefined) return found
  // Read together, so that the key names exactly what was compared.
  const { key, changes } = await ctx.store.transaction(async (tx) => {
    const current = await tx.inboundShares.get(share.id)
    const next = await tx.inboundShares.getRevision(share.id, revision.revision)
    if (current === undefined || next === undefined)
      throw new RequestError('CW_ERR_NOT_FOUND', `no revision ${revision.revision} of external case "${share.id}"`)
    const version = await tx.inboundShares.getAppliedStateVersion(share.id)
    return {
      key: listedKey(share.id, current.manifestDigest, version, next.manifestDigest),
      changes: differences(await appliedView(tx, current), next.manifest),
    }
  })
  known.set(key, changes)
  if (known.size > LISTED_KEPT) known.delete(known.keys().next().value!)
  return changes
}

/**
 * Applies the selected updates (all when `updateIds` is omitted) of pending revision
 * `revision` to the external case and, if it was imported, to the imported case.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`,
 *   `CW_ERR_CONFLICT` (no such pending revision; still receiving; rejected), `CW_ERR_BAD_REQUEST` (unknown update id).
 * @throws {PolicyError} `CW_ERR_ACTION_NOT_ALLOWED` (CW-REVN-007).
 */
export async function applyUpdates(
  ctx: NodeContext,
  principal: AccessPrincipal,
  inboundId: string,
  input: { revision: number; updateIds?: string[] },
): Promise<AppliedUpdates> {
  const share = usable(ctx, (await requireExternalAccess(ctx, principal, inboundId, 'content', 'external.apply')).share)
  const actor = userActor(principal.userId)
  const pending = await ctx.store.inboundShares.getRevision(inboundId, input.revision)
  // spec: CW-REVN-007 — the effective policy of the revision applied (and of the one applied now).
  if (!share.policy.permissions.applyUpdates || (pending !== undefined && !pending.policy.permissions.applyUpdates)) {
    await ctx.record({ type: 'action.refused', caseId: share.id, actor, action: 'external.apply', code: 'CW_ERR_ACTION_NOT_ALLOWED' })
    throw new PolicyError(
      'CW_ERR_ACTION_NOT_ALLOWED',
      `the sharing policy "${share.policy.id}" v${share.policy.version} of ${share.senderOrg} does not permit applying updates`,
    )
  }
  if (pending === undefined || pending.status !== 'pending') {
    throw new RequestError('CW_ERR_CONFLICT', `external case "${inboundId}" has no pending revision ${input.revision}`, { at: '/revision' })
  }
  if (pending.transfer === 'receiving') throw new RequestError('CW_ERR_CONFLICT', `revision ${input.revision} is still being received`, { at: '/revision' })
  if (pending.transfer === 'rejected')
    throw new RequestError('CW_ERR_CONFLICT', `revision ${input.revision} was rejected: an item did not match its digest`, { at: '/revision' })

  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  // The applied state and its events (on the external case and on its import) commit together.
  const result = await ctx.transaction(async (action) => {
    const tx = action.store
    const current = await tx.inboundShares.get(inboundId)
    const row = await tx.inboundShares.getRevision(inboundId, input.revision)
    if (current === undefined || row === undefined || row.status !== 'pending') {
      throw new RequestError('CW_ERR_CONFLICT', `external case "${inboundId}" has no pending revision ${input.revision}`, { at: '/revision' })
    }
    const view = await appliedView(tx, current)
    const { fields, items } = differences(view, row.manifest)
    const known = new Set([...fields.map((change) => change.updateId), ...items.map((change) => change.updateId)])
    const selected = new Set(input.updateIds ?? known)
    for (const [index, id] of [...selected].entries()) {
      if (!known.has(id)) throw new RequestError('CW_ERR_BAD_REQUEST', `revision ${input.revision} has no update "${id}"`, { at: `/updateIds/${index}` })
    }
    const merged = merge(view, row.manifest, selected)
    const state: AppliedStateRecord = { inboundId, revision: row.revision, case: merged.case, evidence: merged.evidence, updatedAt: now }
    await tx.inboundShares.setAppliedState(state)
    // The share now stands at this revision: recipients, policy, expiry and receipt are its.
    await tx.inboundShares.update(advanced(current, row))
    const remaining = known.size - selected.size
    for (const other of await tx.inboundShares.listRevisions(inboundId)) {
      if (other.revision < row.revision && other.status === 'pending') await tx.inboundShares.updateRevision({ ...other, status: 'superseded' })
    }
    if (remaining === 0) await tx.inboundShares.updateRevision({ ...row, status: 'applied' })
    const imported = await tx.cases.findImportedFrom(inboundId)
    if (imported !== undefined) await applyToImport(tx, imported.id, view, row.manifest, fields, items, selected, now)
    const importedCaseId = imported?.id ?? null
    const event = { type: 'updates.applied' as const, actor, revision: input.revision, updates: [...selected], importedCaseId }
    action.record({ ...event, caseId: share.id })
    if (importedCaseId !== null) action.record({ ...event, caseId: importedCaseId })
    return { applied: [...selected], remaining, importedCaseId }
  })
  ctx.log.info({ inboundId, revision: input.revision, applied: result.applied.length, remaining: result.remaining }, 'updates applied')
  return { revision: input.revision, ...result }
}

function advanced(current: InboundShareRecord, row: InboundRevisionRecord): InboundShareWithManifest {
  return {
    ...current,
    revision: row.revision,
    manifestJws: row.manifestJws,
    manifestDigest: row.manifestDigest,
    manifest: row.manifest,
    policy: row.policy,
    status: 'complete',
    statusDetail: null,
    completedAt: row.verifiedAt ?? current.completedAt,
    // spec: CW-SIG-014 — the share's expiry is that of the revision now applied: its last grant's exp.
    expiresAt: shareExpiryOf(row.manifest),
    receiptJws: row.receiptJws,
  }
}

const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b)

/** What differs for users between two views of an item (the digest covers the bytes). */
function itemDiffers(a: EvidenceItem, b: EvidenceItem): boolean {
  return (
    a.digest !== b.digest ||
    a.name !== b.name ||
    a.size !== b.size ||
    a.category !== b.category ||
    a.mediaType !== b.mediaType ||
    (a.folder ?? null) !== (b.folder ?? null) ||
    (a.attachmentOf ?? null) !== (b.attachmentOf ?? null) ||
    a.chunkSize !== b.chunkSize
  )
}

const facts = (item: EvidenceItem): ItemFacts => ({ name: item.name, size: item.size, digest: item.digest })

/** CW-REVN-006: case-level and evidence-level differences of `next` against what is applied. Linear in the items. */
export function differences(view: AppliedView, next: CaseManifest): { fields: FieldChange[]; items: ItemChange[] } {
  const fields: FieldChange[] = []
  const oldFields = view.case.fields as Record<string, FieldValue | undefined>
  const newFields = next.case.fields as Record<string, FieldValue | undefined>
  for (const name of new Set([...Object.keys(oldFields), ...Object.keys(newFields)])) {
    const before = oldFields[name] ?? null
    const after = newFields[name] ?? null
    if (!same(before, after)) fields.push({ updateId: `field:${name}`, field: name, old: before, new: after })
  }
  const items: ItemChange[] = []
  const applied = new Map(view.evidence.map((item) => [item.id, item]))
  const incoming = new Set<string>()
  for (const item of next.evidence) {
    incoming.add(item.id)
    const current = applied.get(item.id)
    if (current === undefined) items.push({ updateId: `item:${item.id}`, change: 'added', itemId: item.id, ...facts(item) })
    else if (itemDiffers(current, item))
      items.push({ updateId: `item:${item.id}`, change: 'modified', itemId: item.id, ...facts(item), previous: facts(current) })
  }
  for (const item of view.evidence) {
    if (!incoming.has(item.id)) items.push({ updateId: `item:${item.id}`, change: 'removed', itemId: item.id, ...facts(item) })
  }
  return { fields, items }
}

/** The applied view with the selected changes of `next` merged in; unselected ones stay as applied. */
function merge(view: AppliedView, next: CaseManifest, selected: ReadonlySet<string>): AppliedView {
  const fields: Record<string, FieldValue> = {}
  const oldFields = view.case.fields as Record<string, FieldValue | undefined>
  const newFields = next.case.fields as Record<string, FieldValue | undefined>
  for (const name of new Set([...Object.keys(oldFields), ...Object.keys(newFields)])) {
    const value = selected.has(`field:${name}`) ? newFields[name] : oldFields[name]
    if (value !== undefined) fields[name] = value
  }
  const applied = new Map(view.evidence.map((item) => [item.id, item]))
  const incoming = new Set(next.evidence.map((item) => item.id))
  const evidence: EvidenceItem[] = []
  for (const item of next.evidence) {
    const current = applied.get(item.id)
    const take = selected.has(`item:${item.id}`)
    if (current === undefined) {
      if (take) evidence.push(item)
    } else evidence.push(take ? item : current)
  }
  for (const item of view.evidence) if (!incoming.has(item.id) && !selected.has(`item:${item.id}`)) evidence.push(item)
  // Folders: the newer tree, plus any applied folder still holding an item kept from before.
  const folders = [...next.case.folders]
  const listed = new Set(folders.map((folder) => folder.id))
  for (const folder of view.case.folders) {
    if (!listed.has(folder.id)) {
      folders.push(folder)
      listed.add(folder.id)
    }
  }
  return { revision: next.share.revision, case: { id: next.case.id, fields: fields as CaseManifest['case']['fields'], folders }, evidence }
}

/** The same selected changes on the case imported from the external case (same chunks, nothing copied). */
async function applyToImport(
  tx: Repositories,
  caseId: string,
  view: AppliedView,
  next: CaseManifest,
  fields: FieldChange[],
  items: ItemChange[],
  selected: ReadonlySet<string>,
  now: number,
): Promise<void> {
  const record = await tx.cases.get(caseId)
  if (record === undefined) return
  const chosenFields = fields.filter((change) => selected.has(change.updateId))
  if (chosenFields.length > 0) {
    const updated = { ...record.fields }
    for (const change of chosenFields) {
      if (change.new === null) delete updated[change.field]
      else updated[change.field] = change.new
    }
    await tx.cases.updateFields(caseId, updated, Math.max(now, record.updatedAt))
  }
  const chosenItems = items.filter((change) => selected.has(change.updateId))
  if (chosenItems.length === 0) return
  const folders = new Set((await tx.cases.listFolders(caseId)).map((folder) => folder.id))
  const byId = new Map(next.case.folders.map((folder) => [folder.id, folder]))
  const ensureFolder = async (id: string | undefined, depth = 0): Promise<void> => {
    if (id === undefined || folders.has(id) || depth > byId.size) return
    const folder = byId.get(id) ?? view.case.folders.find((candidate) => candidate.id === id)
    if (folder === undefined) return
    await ensureFolder(folder.parent, depth + 1)
    await tx.cases.insertFolder({ id: folder.id, caseId, parentId: folder.parent ?? null, name: folder.name })
    folders.add(folder.id)
  }
  const nextItems = new Map(next.evidence.map((item) => [item.id, item]))
  for (const change of chosenItems) {
    const localId = importedEvidenceId(caseId, change.itemId)
    if (change.change !== 'added' && (await tx.cases.getEvidence(localId)) !== undefined) await tx.cases.deleteEvidence(localId)
    if (change.change === 'removed') continue
    const item = nextItems.get(change.itemId)!
    await ensureFolder(item.folder)
    const evidence = importedEvidence(item, {
      caseId,
      folderId: item.folder !== undefined && folders.has(item.folder) ? item.folder : null,
      attachmentOf: item.attachmentOf === undefined ? null : importedEvidenceId(caseId, item.attachmentOf),
      createdAt: now,
    })
    await tx.cases.insertEvidence(evidence)
  }
}
