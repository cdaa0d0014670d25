/**
 * Revisions of outbound shares (sender side, SPEC.md §10 "Revisions"): a share of the entire
 * case or of folders is live — evidence added to what it covers and case field changes make a
 * new revision for every live share of the case that is neither revoked nor expired
 * (CW-REVN-001); an evidence share changes only when asked (`updateShare`); adding recipients
 * makes a new revision too. A revision is built by `buildRevision` (same policy version as the
 * share, new origin grant, `previous` = digest of the revision before), stored with its chunk
 * index, and the share goes back to processing with its offer job queued in one transaction.
 *
 * @module
 */
import { canonicalJson, PolicyError, RequestError, type CaseManifest, type Recipient } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SHARE_LIMITS } from '../limits.ts'
import { SYSTEM_ACTOR, type Actor } from '../events.ts'
import { JOB } from '../jobs/kinds.ts'
import { PeerRefusal } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import type { OutboundRevisionRecord, OutboundShareRecord, PartnerRecord } from '../store/metadata_store.ts'
import { buildRevision, checkRecipients, getShare, idList, type BuiltRevision } from './share_case.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** What changes with the new revision besides the case content. */
export interface RevisionChange {
  /** Items added to an evidence share. */
  evidenceIds?: string[]
  /** Recipients added (same partner organization). */
  recipients?: Recipient[]
}

/** How often a live revision is retried when another revision was stored meanwhile. */
const ATTEMPTS = 3

/**
 * Makes the next revision of share `shareId` now. With `onlyIfChanged`, nothing is made when
 * the revision would carry the same case, evidence and recipients as the latest one.
 * Returns the new revision, or undefined when none was made.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_CONFLICT` (revoked, expired or rejected by
 *   policy at the partner), `CW_ERR_BAD_REQUEST`.
 */
export async function reviseShare(
  ctx: NodeContext,
  shareId: string,
  change: RevisionChange,
  actor: Actor,
  onlyIfChanged = false,
): Promise<OutboundRevisionRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    const share = await getShare(ctx, shareId)
    if (share.status === 'revoked' || share.status === 'expired') {
      throw new RequestError('CW_ERR_CONFLICT', `share "${shareId}" is ${share.status}: it makes no more revisions`)
    }
    const draft = withChange(share, change)
    const number = share.revision + 1
    let built: BuiltRevision | undefined
    if (onlyIfChanged) {
      const latest = await ctx.store.outboundShares.getRevision(share.id, share.revision)
      const before = latest === undefined ? undefined : manifestOf(latest.manifestJws)
      built = await buildRevision(ctx, draft, number, (manifest) => before !== undefined && sameContent(before, manifest))
      if (built === undefined) return undefined
    } else {
      built = await buildRevision(ctx, draft, number)
    }
    const at = built.revision.createdAt
    const stored = await ctx
      .transaction(async (action) => {
        const tx = action.store
        const current = await tx.outboundShares.get(share.id)
        // Another revision was stored meanwhile: build again on top of it.
        if (current === undefined || current.revision !== share.revision) return false
        await tx.outboundShares.insertRevision(built.revision, built.chunkDigests)
        await tx.outboundShares.insertHeldBack(share.id, number, built.heldBack)
        await tx.outboundShares.advance(share.id, number, draft.recipients, draft.evidenceIds, Math.max(at, current.updatedAt))
        await ctx.jobs.enqueue(action, JOB.offer, share.id, { revision: number }, at)
        action.record({ type: 'share.revised', caseId: share.caseId, actor, shareId, partner: share.partnerOrg, revision: number, items: built.shared.length })
        return true
      })
      .catch((error: unknown) => {
        // The same, seen later: another replica (PostgreSQL, READ COMMITTED) stored revision
        // `number` after the check above read the share; its primary key refused ours. What it
        // stored may predate this change (its case was read earlier): build again on top of it.
        if (error instanceof RequestError && error.code === 'CW_ERR_CONFLICT') return false
        throw error
      })
    if (!stored) {
      if (attempt < ATTEMPTS) continue
      throw new RequestError('CW_ERR_CONFLICT', `share "${shareId}" changed while its revision was made; try again`)
    }
    crashPoint('revision.stored')
    ctx.log.info({ shareId, caseId: share.caseId, partner: share.partnerOrg, revision: number, items: built.shared.length }, 'share revised')
    return built.revision
  }
}

/**
 * CW-REVN-001: after evidence was added to case `caseId` or its fields changed, makes a new
 * revision of each of its live shares (scope case or folders) that is neither revoked nor
 * expired, when what the share covers changed. A failure for one share is logged and does
 * not stop the others (the change itself is already stored).
 */
export async function reviseLiveShares(ctx: NodeContext, caseId: string, actor: Actor = SYSTEM_ACTOR): Promise<number> {
  let made = 0
  for (const share of await ctx.store.outboundShares.list(caseId)) {
    if (share.scope === 'evidence' || share.status === 'revoked' || share.status === 'expired') continue
    if (share.expiresAt <= Math.floor(ctx.clock.now().getTime() / 1000)) continue
    try {
      if ((await reviseShare(ctx, share.id, {}, actor, true)) !== undefined) made += 1
    } catch (error) {
      ctx.log.warn({ err: error, shareId: share.id, caseId }, 'live share not revised')
    }
  }
  return made
}

/**
 * `POST /shares/{id}/update`: a new revision now; with `evidenceIds`, items added to an
 * evidence share (scope `evidence` only).
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST`, `CW_ERR_NOT_FOUND`, `CW_ERR_CONFLICT`.
 * @throws {PolicyError} for items the policy excludes (as when sharing).
 */
export async function updateShare(ctx: NodeContext, shareId: string, input: { evidenceIds?: unknown }, actor: Actor): Promise<OutboundShareRecord> {
  const evidenceIds = idList(input.evidenceIds, '/evidenceIds')
  const share = await getShare(ctx, shareId)
  if (evidenceIds.length > 0 && share.scope !== 'evidence') {
    throw new RequestError('CW_ERR_BAD_REQUEST', `evidenceIds is only for scope "evidence"; a ${share.scope} share follows its case`, { at: '/evidenceIds' })
  }
  await reviseShare(ctx, shareId, { evidenceIds }, actor)
  return getShare(ctx, shareId)
}

/**
 * `POST /shares/{id}/recipients`: adds recipients at the share's partner organization; a new
 * revision carries the extended list.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST`, `CW_ERR_NOT_FOUND`, `CW_ERR_CONFLICT`.
 */
export async function addRecipients(ctx: NodeContext, shareId: string, input: { recipients?: unknown }, actor: Actor): Promise<OutboundShareRecord> {
  const share = await getShare(ctx, shareId)
  if (!Array.isArray(input.recipients) || input.recipients.length === 0) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'recipients must name at least one recipient', { at: '/recipients' })
  }
  const recipients = checkRecipients(input.recipients, share.partnerOrg)
  await reviseShare(ctx, shareId, { recipients }, actor)
  return getShare(ctx, shareId)
}

function withChange(share: OutboundShareRecord, change: RevisionChange): OutboundShareRecord {
  const evidenceIds = [...share.evidenceIds]
  for (const id of change.evidenceIds ?? []) if (!evidenceIds.includes(id)) evidenceIds.push(id)
  const recipients = [...share.recipients]
  const key = (recipient: Recipient) => `${recipient.kind}\u0000${recipient.id}`
  const known = new Set(recipients.map(key))
  for (const recipient of change.recipients ?? []) {
    if (known.has(key(recipient))) continue
    known.add(key(recipient))
    recipients.push(recipient)
  }
  if (evidenceIds.length > SHARE_LIMITS.maxEvidenceIds || recipients.length > SHARE_LIMITS.maxRecipients) {
    throw new PolicyError('CW_ERR_POLICY_VIOLATION', `a share lists at most ${SHARE_LIMITS.maxEvidenceIds} items and ${SHARE_LIMITS.maxRecipients} recipients`)
  }
  return { ...share, evidenceIds, recipients }
}

/** The manifest of a revision we signed ourselves (no verification needed). */
export function manifestOf(jws: string): CaseManifest {
  return JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as CaseManifest
}

function sameContent(a: CaseManifest, b: CaseManifest): boolean {
  const content = (m: CaseManifest) =>
    canonicalJson({ case: m.case, evidence: m.evidence, recipients: m.share.recipients ?? [], message: m.share.message ?? null })
  return content(a) === content(b)
}

/**
 * The sender's offer of revision n of a share, in order (CW-REVN-004): when the partner refuses
 * it as stale because it does not hold revision n − 1, the revisions after the last one it
 * answered with a receipt are offered again in order, then revision n. Returns the partner's
 * answer to revision n; throws its refusal otherwise.
 */
export async function offerInOrder(
  ctx: NodeContext,
  peer: PeerClient,
  partner: PartnerRecord,
  share: OutboundShareRecord,
  latest: OutboundRevisionRecord,
  signal: AbortSignal,
): ReturnType<PeerClient['offer']> {
  try {
    return await peer.offer(partner, latest.manifestJws, signal)
  } catch (error) {
    if (!(error instanceof PeerRefusal) || error.code !== 'CW_ERR_STALE_REVISION' || latest.revision < 2) throw error
  }
  const earlier: OutboundRevisionRecord[] = []
  for (let number = latest.revision - 1; number >= 1; number--) {
    const revision = await ctx.store.outboundShares.getRevision(share.id, number)
    if (revision === undefined || revision.receiptJws !== null) break
    earlier.unshift(revision)
  }
  for (const revision of earlier) {
    try {
      await peer.offer(partner, revision.manifestJws, signal)
    } catch (error) {
      // Superseded at the partner (it took a later one before this was ever applied): go on.
      if (!(error instanceof PeerRefusal) || error.code !== 'CW_ERR_STALE_REVISION') throw error
    }
  }
  return peer.offer(partner, latest.manifestJws, signal)
}
