/**
 * External cases: what partners shared with us, as our users see them. The sender's effective
 * policy is enforced on our own users (SPEC.md CW-POL-006): no download unless it allows one,
 * and no access once the share is revoked or expired.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import { PolicyError, RequestError, type CaseManifest, type EvidenceItem, type SharingPolicy } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { InboundShareRecord, InboundStatus } from '../store/metadata_store.ts'
import { openChunks } from './evidence.ts'

/** An external case in a list: who shared it and where it stands. */
export interface ExternalCaseSummary {
  id: string
  /** The sharing organization. */
  sender: { org: string; name: string }
  shareId: string
  revision: number
  status: InboundStatus
  receivedAt: number
  completedAt: number | null
  expiresAt: number
}

/** An external case in full: the case snapshot, its evidence and what our users may do. */
export interface ExternalCase extends ExternalCaseSummary {
  case: CaseManifest['case']
  evidence: Array<Pick<EvidenceItem, 'id' | 'name' | 'category' | 'mediaType' | 'size' | 'digest'> & { folder: string | null; attachmentOf: string | null }>
  message: string | null
  recipients: NonNullable<CaseManifest['share']['recipients']>
  scope: CaseManifest['share']['scope']
  live: boolean
  policy: { id: string; version: number; name: string; permissions: SharingPolicy['permissions']; maxDurationSeconds: number }
}

/** Every external case that was not rejected, each marked with the sharing organization. */
export async function listExternalCases(ctx: NodeContext): Promise<ExternalCaseSummary[]> {
  const now = nowSeconds(ctx)
  return (await ctx.store.listInboundShares()).filter((share) => share.status !== 'rejected').map((share) => summary(share, now))
}

/**
 * One external case.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`.
 */
export async function getExternalCase(ctx: NodeContext, id: string): Promise<ExternalCase> {
  const share = await accessible(ctx, id)
  const { manifest, policy } = share
  return {
    ...summary(share, nowSeconds(ctx)),
    case: manifest.case,
    evidence: manifest.evidence.map((item) => ({
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
    recipients: manifest.share.recipients ?? [],
    scope: manifest.share.scope,
    live: manifest.share.live,
    policy: { id: policy.id, version: policy.version, name: policy.name, permissions: policy.permissions, maxDurationSeconds: policy.maxDurationSeconds },
  }
}

/**
 * Streams an item of an external case to one of our users: only when the share is complete,
 * neither revoked nor expired, and its effective policy permits download.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`,
 *   `CW_ERR_CONFLICT` (still receiving).
 * @throws {PolicyError} `CW_ERR_ACTION_NOT_ALLOWED` (CW-POL-006).
 */
export async function openExternalEvidence(ctx: NodeContext, inboundId: string, itemId: string): Promise<{ evidence: EvidenceItem; stream: Readable }> {
  const share = await accessible(ctx, inboundId)
  if (!share.policy.permissions.download) {
    throw new PolicyError('CW_ERR_ACTION_NOT_ALLOWED', `the sharing policy "${share.policy.id}" v${share.policy.version} of ${share.senderOrg} does not permit download`)
  }
  if (share.status !== 'complete') {
    throw new RequestError('CW_ERR_CONFLICT', `external case "${inboundId}" is still being received`)
  }
  const evidence = share.manifest.evidence.find((item) => item.id === itemId)
  if (evidence === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no evidence "${itemId}" in external case "${inboundId}"`)
  return { evidence, stream: openChunks(ctx, evidence.chunks) }
}

/** The inbound share if our users may still see it. */
async function accessible(ctx: NodeContext, id: string): Promise<InboundShareRecord> {
  const share = await ctx.store.getInboundShare(id)
  if (share === undefined || share.status === 'rejected') throw new RequestError('CW_ERR_NOT_FOUND', `no external case "${id}"`)
  const status = effectiveStatus(share, nowSeconds(ctx))
  if (status === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', `${share.senderOrg} revoked this share`)
  if (status === 'expired') throw new RequestError('CW_ERR_SHARE_EXPIRED', 'this share has expired')
  return share
}

function summary(share: InboundShareRecord, now: number): ExternalCaseSummary {
  return {
    id: share.id,
    sender: { org: share.senderOrg, name: share.senderName },
    shareId: share.shareId,
    revision: share.revision,
    status: effectiveStatus(share, now),
    receivedAt: share.receivedAt,
    completedAt: share.completedAt,
    expiresAt: share.expiresAt,
  }
}

/** A share past its expiry is expired even before a job has marked it (CW-POL-006). */
function effectiveStatus(share: InboundShareRecord, now: number): InboundStatus {
  if (share.status !== 'revoked' && share.status !== 'rejected' && share.expiresAt <= now) return 'expired'
  return share.status
}

function nowSeconds(ctx: NodeContext): number {
  return Math.floor(ctx.clock.now().getTime() / 1000)
}
