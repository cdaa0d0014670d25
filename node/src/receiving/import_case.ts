/**
 * Importing an external case: a recipient turns what a partner shared into a local case of
 * ours, when the sender's policy permits import (SPEC.md CW-LOC-003, CW-POL-006).
 *
 * The local case gets the manifest's case fields and folders (same folder ids), and one
 * evidence record per item pointing at the same chunks: blobs are content-addressed, so
 * nothing is copied. The importer owns the case. An external case is imported at most once
 * per node: importing it again returns the same case (`created: false`) to anyone who may read
 * that case, and `CW_ERR_CONFLICT` to a recipient who may not (ask its owner to add you to the
 * team).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { permitsImport, PolicyError, RequestError, type CaseManifest, type SharingPolicy } from '#protocol'
import type { NodeContext } from '../context.ts'
import { userActor } from '../events.ts'
import type { CaseRecord, FolderRecord, InboundStatus, Repositories } from '../store/metadata_store.ts'
import { accessLevelOf, canReadCase, requireCaseAccess, requireExternalAccess, type AccessLevel, type AccessPrincipal } from '../access/case_access.ts'
import { accessible, addedRecipientsOf, effectiveStatus, type AddedRecipient } from './external_cases.ts'
import { appliedView, importedEvidence, importedEvidenceId } from './applied.ts'
import { provenanceOf, type ProvenanceHop } from './provenance.ts'
import { crashPoint } from '../operations/crash_points.ts'

export interface ImportResult {
  case: CaseRecord
  /** False when the external case had been imported before and that case is returned. */
  created: boolean
}

/** Where an imported case came from. */
export interface ImportDetails {
  caseId: string
  inboundId: string
  senderOrg: string
  senderName: string
  /** Display name of the user at the sender who shared it, when the manifest says (0.2, CW-MAN-005; 0.1 manifests do not). */
  sharedBy?: string
  /** The sender's opaque id of that user (CW-MAN-005). */
  sharedById?: string
  recipients: NonNullable<CaseManifest['share']['recipients']>
  /** Users and groups our side added as recipients (CW-LOC-025), oldest first. */
  addedRecipients: AddedRecipient[]
  receivedAt: number
  importedAt: number
  accessLevel: AccessLevel
  policy: { id: string; version: number; name: string; permissions: SharingPolicy['permissions'] }
  shareId: string
  revision: number
  /**
   * The external case's status now. `revoked` (or `expired`): the imported case stays, but it is
   * from a share its sender withdrew and may not be shared onward (SPEC.md CW-REV-003).
   */
  shareStatus: InboundStatus
  /** The whole chain, originator first: each hop's organizations, dates and policy (CW-PROV-007). */
  provenance: ProvenanceHop[]
}

/**
 * Imports external case `inboundId` for `principal`, a recipient.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (missing, or not a recipient),
 *   `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`, `CW_ERR_CONFLICT` (still receiving, or
 *   imported before by someone whose case the caller may not read).
 * @throws {PolicyError} `CW_ERR_ACTION_NOT_ALLOWED` (the policy does not permit import).
 */
export async function importExternalCase(ctx: NodeContext, principal: AccessPrincipal, inboundId: string): Promise<ImportResult> {
  await requireExternalAccess(ctx, principal, inboundId, 'content', 'external.import')
  const share = await accessible(ctx, inboundId)
  const actor = userActor(principal.userId)
  // spec: CW-LOC-003 — import needs download too: the imported copy's evidence is readable by our users.
  if (!permitsImport(share.policy.permissions)) {
    await ctx.record({ type: 'action.refused', caseId: share.id, actor, action: 'external.import', code: 'CW_ERR_ACTION_NOT_ALLOWED' })
    const missing = share.policy.permissions.import ? 'download (which import needs)' : 'import'
    throw new PolicyError(
      'CW_ERR_ACTION_NOT_ALLOWED',
      `the sharing policy "${share.policy.id}" v${share.policy.version} of ${share.senderOrg} does not permit ${missing}`,
    )
  }
  if (share.status !== 'complete') throw new RequestError('CW_ERR_CONFLICT', `external case "${inboundId}" is still being received`)

  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  crashPoint('import.checked')
  // The imported case and its event commit together.
  const created = await ctx.transaction(async (tx) => {
    const store = tx.store
    if ((await store.cases.findImportedFrom(inboundId)) !== undefined) return undefined
    // spec: CW-REVN-006 — what is applied, not a pending revision.
    const view = await appliedView(store, share)
    const record = await insertImport(store, { ...share.manifest, case: view.case, evidence: view.evidence }, inboundId, principal.userId, now)
    tx.record({ type: 'case.imported', caseId: share.id, actor, importedCaseId: record.id })
    return record
  })
  if (created === undefined) {
    const existing = await ctx.store.cases.findImportedFrom(inboundId)
    if (existing === undefined || !(await canReadCase(ctx, principal, existing.id))) {
      throw new RequestError('CW_ERR_CONFLICT', `external case "${inboundId}" was already imported; its owner can add you to the case team`)
    }
    return { case: existing, created: false }
  }
  crashPoint('import.committed')
  ctx.log.info({ inboundId, caseId: created.id, userId: principal.userId }, 'external case imported')
  return { case: created, created: true }
}

async function insertImport(store: Repositories, manifest: CaseManifest, inboundId: string, owner: string, now: number): Promise<CaseRecord> {
  const fields: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(manifest.case.fields)) if (value !== undefined) fields[name] = Array.isArray(value) ? [...value] : value
  const record: CaseRecord = { id: randomUUID(), fields, createdAt: now, updatedAt: now, importedFrom: inboundId }
  await store.cases.insert(record)
  await store.cases.setAccess({ caseId: record.id, owner, team: [], updatedAt: now })
  for (const folder of parentsFirst(manifest.case.folders)) {
    const local: FolderRecord = { id: folder.id, caseId: record.id, parentId: folder.parent ?? null, name: folder.name }
    await store.cases.insertFolder(local)
  }
  // Evidence ids are global on this node: each item gets a new one; attachments follow.
  // Derived from the case and item ids, so that applied updates find them (CW-REVN-006).
  const ids = new Map(manifest.evidence.map((item) => [item.id, importedEvidenceId(record.id, item.id)]))
  for (const item of manifest.evidence) {
    const attachmentOf = item.attachmentOf === undefined ? null : (ids.get(item.attachmentOf) ?? null)
    const evidence = importedEvidence(item, { caseId: record.id, folderId: item.folder ?? null, attachmentOf, createdAt: now })
    await store.cases.insertEvidence(evidence)
  }
  return record
}

/** Folders ordered so that every parent comes before its children (the manifest's form a tree, CW-MAN-002). */
function parentsFirst(folders: CaseManifest['case']['folders']): CaseManifest['case']['folders'] {
  const byId = new Map(folders.map((folder) => [folder.id, folder]))
  const ordered: CaseManifest['case']['folders'] = []
  const placed = new Set<string>()
  const place = (folder: CaseManifest['case']['folders'][number], depth: number): void => {
    if (placed.has(folder.id) || depth > folders.length) return
    const parent = folder.parent === undefined ? undefined : byId.get(folder.parent)
    if (parent !== undefined) place(parent, depth + 1)
    placed.add(folder.id)
    ordered.push(folder)
  }
  for (const folder of folders) place(folder, 0)
  return ordered
}

/**
 * Where imported case `caseId` came from: sender, recipients, received-on date, access level,
 * the sender's policy and the provenance chain back to the originator.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (missing, not the caller's to read, or not imported).
 */
export async function getImportDetails(ctx: NodeContext, principal: AccessPrincipal, caseId: string): Promise<ImportDetails> {
  const { case: record } = await requireCaseAccess(ctx, principal, caseId, 'read')
  if (record.importedFrom === null) throw new RequestError('CW_ERR_NOT_FOUND', `case "${caseId}" was not imported`)
  const share = await ctx.store.inboundShares.get(record.importedFrom)
  if (share === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `the external case case "${caseId}" was imported from is gone`)
  const { policy, manifest } = share
  return {
    caseId,
    inboundId: share.id,
    senderOrg: share.senderOrg,
    senderName: share.senderName,
    // spec: CW-MAN-005 — who shared, as the sender's node named them.
    ...(manifest.share.sharedBy === undefined ? {} : { sharedBy: manifest.share.sharedBy.name, sharedById: manifest.share.sharedBy.id }),
    recipients: manifest.share.recipients ?? [],
    addedRecipients: await addedRecipientsOf(ctx, share.id),
    receivedAt: share.receivedAt,
    importedAt: record.createdAt,
    accessLevel: accessLevelOf(policy.permissions),
    policy: { id: policy.id, version: policy.version, name: policy.name, permissions: policy.permissions },
    shareId: share.shareId,
    revision: share.revision,
    shareStatus: effectiveStatus(share, Math.floor(ctx.clock.now().getTime() / 1000)),
    provenance: await provenanceOf(ctx, share),
  }
}
