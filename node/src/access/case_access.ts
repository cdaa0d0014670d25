/**
 * Object-level authorization of the local API (SPEC.md CW-LOC-002, CW-LOC-001): who may see and
 * change which case. Every case-scoped route asks here before it acts.
 *
 * Local cases: the owner (the user who created or imported it) and its team (users, groups)
 * read and write the case, its folders, evidence and shares; the owner and administrators
 * manage the team; administrators administer every case. A case without an owner record
 * (created by the node itself, or before owners existed) is administrators' only.
 *
 * External cases: only their recipients (`recipients.ts`) see them; administrators also see
 * their metadata, for administration, but not their content.
 *
 * Anyone else gets exactly the answer a missing id gets: `404 CW_ERR_NOT_FOUND` with the same
 * detail, so ids cannot be probed. A refusal of an existing object is recorded as an
 * `action.refused` event of that object.
 *
 * @module
 */
import { RequestError, type Recipient, type SharingPolicy } from '#protocol'
import type { NodeContext } from '../context.ts'
import { userActor } from '../events.ts'
import type { CaseAccessRecord, CaseRecord, EvidenceRecord, InboundShareRecord, InboundShareState, OutboundShareRecord, Role } from '../store/metadata_store.ts'
import { isRecipient, knownRecipientsOf, recipientsOf } from './recipients.ts'

/** What a caller asks to do with a case: read it, change it, or manage its team. */
export type CaseAccessMode = 'read' | 'write' | 'administer'
/** What a caller asks of an external case: its metadata (list, administration) or its content. */
export type ExternalAccessMode = 'metadata' | 'content'

/** The caller, as access checks see it (a `Principal` fits). */
export interface AccessPrincipal {
  readonly userId: string
  readonly role: Role
  readonly groups: readonly string[]
}

/** How the caller relates to a case. */
export type CaseRelation = 'owner' | 'team' | 'admin' | 'none'

/** The case and how the caller relates to it. */
export interface CaseAccess {
  case: CaseRecord
  access: CaseAccessRecord | undefined
  relation: CaseRelation
}

/** The same answer for a case that does not exist and one the caller may not see. */
export function caseNotFound(id: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `no case "${id}"`)
}

export function evidenceNotFound(id: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `no evidence "${id}"`)
}

export function shareNotFound(id: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `no share "${id}"`)
}

export function externalCaseNotFound(id: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `no external case "${id}"`)
}

/** How `principal` relates to a case with owner/team `access` (no store access). */
export function relationTo(principal: AccessPrincipal, access: CaseAccessRecord | undefined): CaseRelation {
  if (access !== undefined && access.owner === principal.userId) return 'owner'
  if (principal.role === 'admin') return 'admin'
  if (access !== undefined && access.team.some((member) => (member.kind === 'user' ? member.id === principal.userId : principal.groups.includes(member.id))))
    return 'team'
  return 'none'
}

function allows(relation: CaseRelation, mode: CaseAccessMode): boolean {
  if (relation === 'none') return false
  if (mode === 'administer') return relation !== 'team'
  return true
}

/**
 * The case `caseId` if `principal` may `mode` it.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (missing, or not the caller's to see),
 *   `CW_ERR_FORBIDDEN` (a team member asking to administer).
 */
export async function requireCaseAccess(
  ctx: NodeContext,
  principal: AccessPrincipal,
  caseId: string,
  mode: CaseAccessMode,
  action = `case.${mode}`,
): Promise<CaseAccess> {
  const record = await ctx.store.cases.get(caseId)
  if (record === undefined) throw caseNotFound(caseId)
  const access = await ctx.store.cases.getAccess(caseId)
  const relation = relationTo(principal, access)
  if (!allows(relation, mode)) {
    const error = relation === 'none' ? caseNotFound(caseId) : new RequestError('CW_ERR_FORBIDDEN', 'only the case owner or an administrator manages its team')
    await refused(ctx, principal, caseId, action, error.code)
    throw error
  }
  return { case: record, access, relation }
}

/**
 * Evidence `evidenceId` if `principal` may `mode` its case; otherwise the same 404 as for a
 * missing item.
 */
export async function requireEvidenceAccess(
  ctx: NodeContext,
  principal: AccessPrincipal,
  evidenceId: string,
  mode: CaseAccessMode,
  action = `evidence.${mode}`,
): Promise<EvidenceRecord> {
  const evidence = await ctx.store.cases.getEvidence(evidenceId)
  if (evidence === undefined) throw evidenceNotFound(evidenceId)
  await requireCaseAccess(ctx, principal, evidence.caseId, mode, action).catch((error: unknown) => {
    throw error instanceof RequestError && error.code === 'CW_ERR_NOT_FOUND' ? evidenceNotFound(evidenceId) : error
  })
  return evidence
}

/** Outbound share `shareId` if `principal` may `mode` its case; otherwise the same 404 as for a missing share. */
export async function requireShareAccess(
  ctx: NodeContext,
  principal: AccessPrincipal,
  shareId: string,
  mode: CaseAccessMode,
  action = `share.${mode}`,
): Promise<OutboundShareRecord> {
  const share = await ctx.store.outboundShares.get(shareId)
  if (share === undefined) throw shareNotFound(shareId)
  const asNotFound = (error: unknown): never => {
    throw error instanceof RequestError && error.code === 'CW_ERR_NOT_FOUND' ? shareNotFound(shareId) : error
  }
  // An onward share belongs to an external case: its recipients (with content access) hold it.
  if ((await ctx.store.cases.get(share.caseId)) === undefined && (await ctx.store.inboundShares.get(share.caseId)) !== undefined) {
    await requireExternalAccess(ctx, principal, share.caseId, 'content', action).catch(asNotFound)
    return share
  }
  await requireCaseAccess(ctx, principal, share.caseId, mode, action).catch(asNotFound)
  return share
}

/** Whether `principal` may see the case at all (for filtering lists). */
export async function canReadCase(ctx: NodeContext, principal: AccessPrincipal, caseId: string): Promise<boolean> {
  return relationTo(principal, await ctx.store.cases.getAccess(caseId)) !== 'none'
}

/** The external case and whether the caller is one of its recipients. */
export interface ExternalAccess {
  share: InboundShareRecord
  recipient: boolean
}

/**
 * External case `inboundId` if `principal` may see it for `mode`: recipients see everything
 * (within the sender's policy); administrators see metadata; anyone else gets the same 404 as
 * for a missing (or rejected) external case.
 */
export async function requireExternalAccess(
  ctx: NodeContext,
  principal: AccessPrincipal,
  inboundId: string,
  mode: ExternalAccessMode,
  action = `external.${mode}`,
): Promise<ExternalAccess> {
  const share = await ctx.store.inboundShares.get(inboundId)
  if (share === undefined || share.status === 'rejected') throw externalCaseNotFound(inboundId)
  return { share, recipient: await allowed(ctx, principal, inboundId, await recipientsOf(ctx, share), mode, action) }
}

/**
 * {@link requireExternalAccess} for a request that is polled (listing updates): it reads the
 * external case's state, not its manifest, once the recipients of that manifest are known.
 */
export async function requireExternalStateAccess(
  ctx: NodeContext,
  principal: AccessPrincipal,
  inboundId: string,
  mode: ExternalAccessMode,
  action = `external.${mode}`,
): Promise<InboundShareState> {
  const state = await ctx.store.inboundShares.getState(inboundId)
  const recipients = state === undefined || state.status === 'rejected' ? undefined : await knownRecipientsOf(ctx, state)
  if (state === undefined || recipients === undefined) return (await requireExternalAccess(ctx, principal, inboundId, mode, action)).share
  await allowed(ctx, principal, inboundId, recipients, mode, action)
  return state
}

/** Whether the caller is a recipient; throws (and records the refusal) if it may not see the external case for `mode`. */
async function allowed(
  ctx: NodeContext,
  principal: AccessPrincipal,
  inboundId: string,
  recipients: readonly Recipient[],
  mode: ExternalAccessMode,
  action: string,
): Promise<boolean> {
  const recipient = await isRecipient(ctx, principal, recipients)
  if (recipient || (mode === 'metadata' && principal.role === 'admin')) return recipient
  await refused(ctx, principal, inboundId, action, 'CW_ERR_NOT_FOUND')
  throw externalCaseNotFound(inboundId)
}

/** What a partner may do with what it received, in three levels (for profile icons and details). */
export type AccessLevel = 'view' | 'view-download' | 'full'

/** `full` = import, apply updates or share onward; `view-download` = download; otherwise `view`. */
export function accessLevelOf(permissions: SharingPolicy['permissions']): AccessLevel {
  if (permissions.import || permissions.applyUpdates || permissions.shareOnward.allowed) return 'full'
  return permissions.download ? 'view-download' : 'view'
}

async function refused(ctx: NodeContext, principal: AccessPrincipal, caseId: string, action: string, code: string): Promise<void> {
  ctx.log.warn({ userId: principal.userId, caseId, action, code }, 'access refused')
  await ctx.record({ type: 'action.refused', caseId, actor: userActor(principal.userId), action, code })
}
