/**
 * Recipients the receiving side adds (SPEC.md CW-LOC-025, CW-LOC-026, CW-POL-008): a recipient
 * of an external case, or an administrator, names further users or groups of this organization
 * — from the external case or from the case imported from it ("Import Details → Edit next to
 * Recipient") — when the sender's effective policy permits `addRecipients`.
 *
 * Added recipients are kept beside the signed manifest (which stays what the sender signed), so
 * a later revision does not drop them; they see the external case like the first recipients
 * and are notified like them. Nothing of this travels to the sender.
 *
 * @module
 */
import { PolicyError, RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { userActor } from '../events.ts'
import { SHARE_LIMITS } from '../limits.ts'
import { requireCaseAccess, requireExternalAccess, type AccessPrincipal } from '../access/case_access.ts'
import { recipientsOf } from '../access/recipients.ts'
import { accessible, addedRecipientsOf, type AddedRecipient } from './external_cases.ts'

/** A user or group of this organization, as the receiving side names one. */
export interface LocalRecipient {
  kind: 'user' | 'group'
  id: string
}

/** What adding recipients did. */
export interface AddedRecipients {
  inboundId: string
  /** The recipients this call added (those the external case had already are left out). */
  added: LocalRecipient[]
  /** Every recipient added on this node so far, oldest first. */
  addedRecipients: AddedRecipient[]
}

/**
 * Adds `recipients` to external case `inboundId` on behalf of `principal`, a recipient of it or
 * an administrator.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (missing, or the caller is neither a recipient nor
 *   an administrator), `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`, `CW_ERR_BAD_REQUEST` (a
 *   recipient that is not an enabled user or an existing group of this node).
 * @throws {PolicyError} `CW_ERR_ACTION_NOT_ALLOWED` (the policy does not permit addRecipients).
 */
export async function addExternalRecipients(ctx: NodeContext, principal: AccessPrincipal, inboundId: string, recipients: unknown): Promise<AddedRecipients> {
  // Administrators pass on metadata access; anyone else must be a recipient (else the same 404 as a missing case).
  await requireExternalAccess(ctx, principal, inboundId, 'metadata', 'external.add_recipients')
  return add(ctx, principal, inboundId, recipients)
}

/**
 * Adds `recipients` to the external case imported case `caseId` came from, for a caller who may
 * write that case (its owner, team or an administrator) and is a recipient of the external case
 * or an administrator.
 *
 * @throws as {@link addExternalRecipients}; `CW_ERR_NOT_FOUND` also when the case was not imported.
 */
export async function addImportRecipients(ctx: NodeContext, principal: AccessPrincipal, caseId: string, recipients: unknown): Promise<AddedRecipients> {
  const { case: record } = await requireCaseAccess(ctx, principal, caseId, 'write', 'import.add_recipients')
  if (record.importedFrom === null) throw new RequestError('CW_ERR_NOT_FOUND', `case "${caseId}" was not imported`)
  const { recipient } = await requireExternalAccess(ctx, principal, record.importedFrom, 'metadata', 'import.add_recipients')
  if (!recipient && principal.role !== 'admin') throw new RequestError('CW_ERR_NOT_FOUND', `case "${caseId}" was not imported`)
  return add(ctx, principal, record.importedFrom, recipients)
}

async function add(ctx: NodeContext, principal: AccessPrincipal, inboundId: string, body: unknown): Promise<AddedRecipients> {
  const share = await accessible(ctx, inboundId)
  const actor = userActor(principal.userId)
  // spec: CW-POL-008 — absent is false: only a policy that says true lets the receiver widen the audience.
  if (share.policy.permissions.addRecipients !== true) {
    await ctx.record({ type: 'action.refused', caseId: share.id, actor, action: 'external.add_recipients', code: 'CW_ERR_ACTION_NOT_ALLOWED' })
    throw new PolicyError(
      'CW_ERR_ACTION_NOT_ALLOWED',
      `the sharing policy "${share.policy.id}" v${share.policy.version} of ${share.senderOrg} does not permit adding recipients`,
    )
  }
  const wanted = await checkLocalRecipients(ctx, body)
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  const added = await ctx.transaction(async (tx) => {
    const current = await recipientsOf({ ...ctx, store: tx.store }, share)
    const known = new Set(current.map((r) => `${r.kind}\u0000${r.id}`))
    if (known.size + wanted.length > SHARE_LIMITS.maxRecipients) {
      throw new RequestError('CW_ERR_BAD_REQUEST', `an external case has at most ${SHARE_LIMITS.maxRecipients} recipients`, { at: '/recipients' })
    }
    const fresh: LocalRecipient[] = []
    for (const recipient of wanted) {
      if (known.has(`${recipient.kind}\u0000${recipient.id}`)) continue
      if (
        !(await tx.store.inboundShares.insertAddedRecipient({
          inboundId,
          kind: recipient.kind,
          recipientId: recipient.id,
          addedBy: principal.userId,
          addedAt: now,
        }))
      )
        continue
      fresh.push(recipient)
    }
    if (fresh.length === 0) return fresh
    const imported = await tx.store.cases.findImportedFrom(inboundId)
    const names = fresh.map((r) => `${r.kind}:${r.id}`)
    // spec: CW-LOC-026 — on both trails; the external case's event also queues the notifications.
    tx.record({ type: 'recipients.added', caseId: inboundId, actor, revision: share.revision, recipients: names, importedCaseId: imported?.id ?? null })
    if (imported !== undefined) tx.record({ type: 'import.recipients_added', caseId: imported.id, actor, inboundId, recipients: names })
    return fresh
  })
  ctx.log.info({ inboundId, userId: principal.userId, added: added.length }, 'recipients added to an external case')
  return { inboundId, added, addedRecipients: await addedRecipientsOf(ctx, inboundId) }
}

/**
 * The body's `recipients`: 1 to {@link SHARE_LIMITS.maxRecipients} users or groups, each an
 * enabled user or an existing group of this node (never an e-mail address or badge a caller
 * types: whom the agency mails stays decided by its own directory, CW-NOT-006).
 */
async function checkLocalRecipients(ctx: NodeContext, body: unknown): Promise<LocalRecipient[]> {
  const list = (body as { recipients?: unknown } | null)?.recipients
  if (!Array.isArray(list) || list.length === 0 || list.length > SHARE_LIMITS.maxRecipients) {
    throw new RequestError('CW_ERR_BAD_REQUEST', `recipients must name 1 to ${SHARE_LIMITS.maxRecipients} users or groups`, { at: '/recipients' })
  }
  const result: LocalRecipient[] = []
  for (const [index, item] of list.entries()) {
    const recipient = item as Partial<LocalRecipient> | null
    const at = `/recipients/${index}`
    if (typeof recipient?.id !== 'string' || (recipient.kind !== 'user' && recipient.kind !== 'group')) {
      throw new RequestError('CW_ERR_BAD_REQUEST', 'a recipient added here is { kind: user|group, id }', { at })
    }
    if (recipient.kind === 'user') {
      const user = await ctx.store.principals.getUser(recipient.id)
      if (user === undefined || user.disabled)
        throw new RequestError('CW_ERR_BAD_REQUEST', `no enabled user "${recipient.id}" at this node`, { at: `${at}/id` })
    } else if ((await ctx.store.principals.getGroup(recipient.id)) === undefined) {
      throw new RequestError('CW_ERR_BAD_REQUEST', `no group "${recipient.id}" at this node`, { at: `${at}/id` })
    }
    result.push({ kind: recipient.kind, id: recipient.id })
  }
  return result
}
