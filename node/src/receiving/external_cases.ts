/**
 * External cases: what partners shared with us, as our users see them. The sender's effective
 * policy is enforced on our own users (SPEC.md CW-POL-006): no download unless it allows one,
 * and no access once the share is revoked or expired.
 *
 * Only the share's recipients see an external case (CW-LOC-001); administrators also see its
 * metadata (sender, recipients, status, policy, dates) for administration, never its fields,
 * folders or evidence unless they are recipients. Anyone else is answered as if it did not
 * exist (`access/case_access.ts`).
 *
 * Each reports where it stands while received: `retrying` or `failed` after a failed fetch, and
 * the chunks and bytes stored (CW-LOC-030, CW-LOC-031).
 *
 * @module
 */
import type { Readable } from 'node:stream'
import { PolicyError, RequestError, type CaseManifest, type EvidenceItem, type SharingPolicy } from '#protocol'
import { appliedView } from './applied.ts'
import type { NodeContext } from '../context.ts'
import { notificationStates, type NotificationState } from '../notifications/notification_states.ts'
import { userActor } from '../events.ts'
import type { InboundShareRecord, InboundShareState, InboundStatus, JobRecord, ListPosition, PageRequest } from '../store/metadata_store.ts'
import { externalCaseNotFound, requireExternalAccess, type AccessPrincipal } from '../access/case_access.ts'
import { openChunks } from '../cases/evidence.ts'
import { provenanceOf, type ProvenanceHop } from './provenance.ts'
import { liveJob } from '../jobs/live_job.ts'
import { chunkSizes, type ChunkedItem, type TransferProgress } from '../transfer_progress.ts'
import { JOB } from '../jobs/kinds.ts'

/** A recipient our side added: whom, who added it and when. */
export interface AddedRecipient {
  kind: 'user' | 'group'
  id: string
  addedBy: string
  addedAt: number
}

/** The recipients our side added to external case `inboundId`, oldest first. */
export async function addedRecipientsOf(ctx: NodeContext, inboundId: string): Promise<AddedRecipient[]> {
  return (await ctx.store.inboundShares.listAddedRecipients(inboundId)).map((r) => ({
    kind: r.kind,
    id: r.recipientId,
    addedBy: r.addedBy,
    addedAt: r.addedAt,
  }))
}

/** An external case in a list: who shared it and where it stands. */
export interface ExternalCaseSummary {
  id: string
  /** The sharing organization. */
  sender: { org: string; name: string }
  /** The person at the sender who shared, when the manifest names them (0.2, CW-MAN-005). */
  sharedBy?: { id: string; name: string }
  /** The `cwv` of the manifest shown. */
  protocolVersion: string
  shareId: string
  revision: number
  /** `retrying` or `failed` while the fetch job failed (CW-LOC-030). */
  status: ExternalCaseStatus
  /** Why it was rejected, or the last error while retrying or failed. */
  statusDetail: string | null
  /** While retrying: when the next attempt is due (Unix seconds). */
  nextAttemptAt: number | null
  /** Chunks and bytes of the revision being received that are stored (CW-LOC-031). */
  progress: TransferProgress<ReceivingPhase>
  receivedAt: number
  completedAt: number | null
  expiresAt: number
  /** Who the sender named: users, groups, e-mail addresses, badges, or the entire agency. */
  recipients: NonNullable<CaseManifest['share']['recipients']>
  /** The sender's effective policy: what our users may do with this case. */
  policy: { id: string; version: number; name: string; permissions: SharingPolicy['permissions']; maxDurationSeconds: number }
  /** `recipient`: the caller sees the content; `administration`: an administrator sees the metadata only. */
  access: 'recipient' | 'administration'
}

/**
 * An external case in full: the case snapshot, its evidence and what our users may do. For an
 * administrator who is not a recipient (`access: 'administration'`), `case`, `evidence` and
 * `message` are left out.
 */
export interface ExternalCase extends ExternalCaseSummary {
  case?: CaseManifest['case']
  evidence?: Array<Pick<EvidenceItem, 'id' | 'name' | 'category' | 'mediaType' | 'size' | 'digest'> & { folder: string | null; attachmentOf: string | null }>
  message?: string | null
  scope: CaseManifest['share']['scope']
  live: boolean
  /** Delivery state of the notifications (e-mail, webhook) of each revision received. */
  notifications: NotificationState[]
  /** Users and groups our side added as recipients (CW-LOC-025), oldest first. */
  addedRecipients: AddedRecipient[]
  /**
   * The provenance chain, originator first (recipients only): each hop's organizations, dates
   * and policy; the last hop's policy is the effective one (CW-PROV-007).
   */
  provenance?: ProvenanceHop[]
}

/** A page of external cases, and where the next page starts (null: this was the last). */
export interface ExternalCasePage {
  externalCases: ExternalCaseSummary[]
  next: ListPosition | null
}

/**
 * A page of the external cases `principal` may see (CW-LOC-054), newest first, each marked with
 * the sharing organization: those it is a recipient of; an administrator sees every one
 * (metadata only where not a recipient). Rejected shares are never listed. Who sees which is
 * decided in the store, in the same terms as `access/recipients.ts`.
 */
export async function listExternalCases(ctx: NodeContext, principal: AccessPrincipal, page: PageRequest): Promise<ExternalCasePage> {
  const now = nowSeconds(ctx)
  const viewer = { org: ctx.identity.org, userId: principal.userId, groups: principal.groups, seesAll: principal.role === 'admin' }
  const visible = await ctx.store.inboundShares.listVisible(viewer, page)
  const externalCases: ExternalCaseSummary[] = []
  for (const { share, recipient } of visible.items) externalCases.push(await summary(ctx, share, now, recipient))
  return { externalCases, next: visible.next }
}

/**
 * One external case, for a recipient (recorded as `case.viewed`); for an administrator who is
 * not a recipient, its metadata only.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (also: not a recipient), `CW_ERR_SHARE_REVOKED`,
 *   `CW_ERR_SHARE_EXPIRED` (recipients).
 */
export async function getExternalCase(ctx: NodeContext, principal: AccessPrincipal, id: string): Promise<ExternalCase> {
  const { share: found, recipient } = await requireExternalAccess(ctx, principal, id, 'metadata')
  if (!recipient) {
    const { manifest } = found
    return {
      ...(await summary(ctx, found, nowSeconds(ctx), false)),
      scope: manifest.share.scope,
      live: manifest.share.live,
      notifications: await notificationStates(ctx, found.id),
      addedRecipients: await addedRecipientsOf(ctx, found.id),
    }
  }
  // The record the access check read: a second read would parse a large manifest twice.
  const share = usable(ctx, found)
  const { manifest } = share
  // spec: CW-REVN-003 — the applied state, never a pending revision.
  const view = await appliedView(ctx.store, share)
  await ctx.record({ type: 'case.viewed', caseId: share.id, actor: userActor(principal.userId) })
  return {
    ...(await summary(ctx, share, nowSeconds(ctx), true)),
    case: view.case,
    evidence: view.evidence.map((item) => ({
      id: item.id,
      name: item.name,
      folder: item.folder ?? null,
      category: item.category,
      mediaType: item.mediaType,
      size: item.size,
      digest: item.digest,
      attachmentOf: item.attachmentOf ?? null,
    })),
    message: manifest.share.message ?? null,
    scope: manifest.share.scope,
    live: manifest.share.live,
    notifications: await notificationStates(ctx, share.id),
    addedRecipients: await addedRecipientsOf(ctx, share.id),
    provenance: await provenanceOf(ctx, share),
  }
}

/**
 * Streams an item of an external case to one of its recipients: only when the share is
 * complete, neither revoked nor expired, and its effective policy permits download. Recorded
 * as `evidence.downloaded`; a refusal by policy as `action.refused`.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (also: not a recipient), `CW_ERR_SHARE_REVOKED`,
 *   `CW_ERR_SHARE_EXPIRED`, `CW_ERR_CONFLICT` (still receiving).
 * @throws {PolicyError} `CW_ERR_ACTION_NOT_ALLOWED` (CW-POL-006).
 */
export async function openExternalEvidence(
  ctx: NodeContext,
  principal: AccessPrincipal,
  inboundId: string,
  itemId: string,
): Promise<{ evidence: EvidenceItem; stream: Readable }> {
  const { caseId, evidence } = await findExternalEvidence(ctx, principal, inboundId, itemId)
  await ctx.record({ type: 'evidence.downloaded', caseId, actor: userActor(principal.userId), evidenceId: evidence.id, bytes: evidence.size })
  return { evidence, stream: openChunks(ctx, evidence.chunks) }
}

/**
 * An item of an external case a recipient may download, under the conditions of
 * `openExternalEvidence`, without opening or recording anything (a download route decides
 * which bytes it sends, and records that). `caseId` is the external case's audit trail.
 *
 * @throws as `openExternalEvidence`.
 */
export async function findExternalEvidence(
  ctx: NodeContext,
  principal: AccessPrincipal,
  inboundId: string,
  itemId: string,
): Promise<{ caseId: string; evidence: EvidenceItem }> {
  await requireExternalAccess(ctx, principal, inboundId, 'content', 'external.download')
  const share = await accessible(ctx, inboundId)
  const actor = userActor(principal.userId)
  if (!share.policy.permissions.download) {
    await ctx.record({ type: 'action.refused', caseId: share.id, actor, action: 'external.download', code: 'CW_ERR_ACTION_NOT_ALLOWED' })
    throw new PolicyError(
      'CW_ERR_ACTION_NOT_ALLOWED',
      `the sharing policy "${share.policy.id}" v${share.policy.version} of ${share.senderOrg} does not permit download`,
    )
  }
  if (share.status !== 'complete') {
    throw new RequestError('CW_ERR_CONFLICT', `external case "${inboundId}" is still being received`)
  }
  const evidence = (await appliedView(ctx.store, share)).evidence.find((item) => item.id === itemId)
  if (evidence === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no evidence "${itemId}" in external case "${inboundId}"`)
  return { caseId: share.id, evidence }
}

/**
 * The inbound share if our users may still use it: present, not rejected, neither revoked nor
 * expired. (Who may see it is `access/case_access.ts`'s question; ask it first.)
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`.
 */
export async function accessible(ctx: NodeContext, id: string): Promise<InboundShareRecord> {
  const share = await ctx.store.inboundShares.get(id)
  if (share === undefined || share.status === 'rejected') throw externalCaseNotFound(id)
  return usable(ctx, share)
}

/**
 * {@link accessible} for a share (or its state) the access check already read, so that a
 * request does not read it twice.
 *
 * @throws {RequestError} `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`.
 */
export function usable<Share extends InboundShareState>(ctx: NodeContext, share: Share): Share {
  const status = effectiveStatus(share, nowSeconds(ctx))
  if (status === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', `${share.senderOrg} revoked this share`)
  if (status === 'expired') throw new RequestError('CW_ERR_SHARE_EXPIRED', 'this share has expired')
  return share
}

async function summary(ctx: NodeContext, share: InboundShareRecord, now: number, recipient: boolean): Promise<ExternalCaseSummary> {
  const { policy } = share
  const { status, statusDetail, nextAttemptAt, progress } = await receivingState(ctx, share, effectiveStatus(share, now))
  return {
    id: share.id,
    sender: { org: share.senderOrg, name: share.senderName },
    // spec: CW-MAN-005 — shown as the sender's node named them.
    ...(share.manifest.share.sharedBy === undefined ? {} : { sharedBy: { ...share.manifest.share.sharedBy } }),
    protocolVersion: share.manifest.cwv,
    shareId: share.shareId,
    revision: share.revision,
    status,
    statusDetail,
    nextAttemptAt,
    progress,
    receivedAt: share.receivedAt,
    completedAt: share.completedAt,
    expiresAt: share.expiresAt,
    recipients: share.manifest.share.recipients ?? [],
    policy: { id: policy.id, version: policy.version, name: policy.name, permissions: policy.permissions, maxDurationSeconds: policy.maxDurationSeconds },
    access: recipient ? 'recipient' : 'administration',
  }
}

/** A share past its expiry is expired even before a job has marked it (CW-POL-006). */
export function effectiveStatus(share: Pick<InboundShareRecord, 'status' | 'expiresAt'>, now: number): InboundStatus {
  if (share.status !== 'revoked' && share.status !== 'rejected' && share.expiresAt <= now) return 'expired'
  return share.status
}

function nowSeconds(ctx: NodeContext): number {
  return Math.floor(ctx.clock.now().getTime() / 1000)
}

// Where an external case stands while it is received (SPEC.md CW-LOC-030, CW-LOC-031): read,
// never written — the fetch job owns its attempts and last error, and the partner's possession
// record (written as each chunk is stored) says which chunks arrived, one query per manifest.

/** An external case's status as the local API reports it. */
export type ExternalCaseStatus = InboundStatus | 'retrying' | 'failed'

/** transferring: chunks still to store; verifying: all stored, items being checked; done: complete. */
export type ReceivingPhase = 'transferring' | 'verifying' | 'done'

export interface ReceivingState {
  status: ExternalCaseStatus
  /** Why it was rejected, or the last error while retrying or failed. */
  statusDetail: string | null
  /** While retrying: when the fetch job runs again (Unix seconds). */
  nextAttemptAt: number | null
  progress: TransferProgress<ReceivingPhase>
}

/** The reported state of `share`, whose status (expiry applied) is `status`. */
export async function receivingState(ctx: NodeContext, share: InboundShareRecord, status: InboundStatus): Promise<ReceivingState> {
  if (status !== 'receiving') {
    return { status, statusDetail: share.statusDetail, nextAttemptAt: null, progress: receivingProgress(status, share.manifest.evidence, undefined) }
  }
  const sizes = chunkSizes(share.manifest.evidence)
  const [jobs, delivered] = await Promise.all([ctx.store.jobs.list(share.id), ctx.store.chunks.delivered(share.senderOrg, [...sizes.keys()])])
  return { ...reportedFetchStatus(jobs, share.statusDetail), progress: receivingProgress(status, share.manifest.evidence, delivered) }
}

/**
 * A share being received reads `retrying` while its fetch job failed and will run again,
 * `failed` when its last fetch job is dead and none will run, `receiving` otherwise.
 */
export function reportedFetchStatus(
  jobs: readonly JobRecord[],
  detail: string | null,
): { status: 'receiving' | 'retrying' | 'failed'; statusDetail: string | null; nextAttemptAt: number | null } {
  const live = liveJob(jobs, JOB.fetch)
  if (live !== undefined) {
    return live.lastError === null || live.state === 'running'
      ? { status: 'receiving', statusDetail: detail, nextAttemptAt: null }
      : { status: 'retrying', statusDetail: live.lastError, nextAttemptAt: live.runAt }
  }
  const last = jobs.filter((job) => job.kind === JOB.fetch).at(-1)
  if (last?.state === 'dead') return { status: 'failed', statusDetail: last.lastError ?? detail, nextAttemptAt: null }
  return { status: 'receiving', statusDetail: detail, nextAttemptAt: null }
}

/**
 * Chunks and bytes of the revision being received: while receiving, those its sender delivered
 * (`delivered`) out of every distinct chunk of the manifest; once complete, all of them.
 */
export function receivingProgress(
  status: InboundStatus,
  evidence: readonly ChunkedItem[],
  delivered: ReadonlySet<string> | undefined,
): TransferProgress<ReceivingPhase> {
  const sizes = chunkSizes(evidence)
  let bytesTotal = 0
  let chunksDone = 0
  let bytesDone = 0
  for (const [digest, size] of sizes) {
    bytesTotal += size
    if (status === 'complete' || delivered?.has(digest) === true) {
      chunksDone += 1
      bytesDone += size
    }
  }
  const phase: ReceivingPhase = status === 'complete' ? 'done' : chunksDone < sizes.size ? 'transferring' : 'verifying'
  return { phase, chunksDone, chunksTotal: sizes.size, bytesDone, bytesTotal }
}
