/**
 * Revoking a share (sender side, SPEC.md §13): the share is marked `revoked` at once — from
 * that moment its chunks are refused (CW-REV-002, `sending/serve_chunk.ts`) — and a signed revocation is
 * queued for the partner in the same transaction. The `revoke` job POSTs it to the partner's
 * EP-5 and retries with back-off until the partner takes it (CW-REV-005): a partner that is
 * offline receives it when it comes back.
 *
 * The same path serves a user's revocation and a cascade (`accept_revocation.ts`: a share we
 * derived from an inbound share that its sender revoked, CW-REV-003), so the revocation of a
 * cascade reaches the next hop exactly like our own.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { PROTOCOL_VERSION, RequestError, signRevocation, type Revocation } from '#protocol'
import { partnerSupports } from '../peer/versions.ts'
import type { NodeContext } from '../context.ts'
import { MAX_REASON_LENGTH } from '../limits.ts'
import { SYSTEM_ACTOR, type Actor } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { JOB } from '../jobs/kinds.ts'
import { PeerRefusal } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import type { OutboundShareRecord } from '../store/metadata_store.ts'
import { shareNotFound } from '../access/case_access.ts'
import { getShare } from '../sending/share_case.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** How long a signed revocation is valid; the job signs it afresh when less than a day is left. */
export const REVOCATION_LIFETIME_SECONDS = 30 * 86_400
/** A stored revocation with less validity than this left is re-signed before it is sent. */
const REFRESH_MARGIN_SECONDS = 86_400
/** Limit of the revocation schema's `reason` (common Text). */

export interface RevokeOptions {
  /** Who revokes: a local user, or the partner whose revocation cascades here. */
  actor: Actor
  /** Why, told to the partner (optional, at most 4000 characters). */
  reason?: string | null
  /** The inbound share whose revocation cascades to this one (CW-REV-003); absent for a user's revocation. */
  derivedFrom?: string | null
}

export interface RevokeResult {
  /** The share as it reads now (status `revoked`). */
  share: OutboundShareRecord
  /** False when it was revoked already: nothing changed and nothing new is sent. */
  revoked: boolean
}

/** What the `revoke` job carries: the signed revocation and what it says, to sign it again when it gets old. */
interface RevokePayload {
  jws: string
  revokedAt: number
  reason: string | null
}

/**
 * Revokes outbound share `shareId` (access is the caller's question: `requireShareAccess`).
 * Idempotent: a share already revoked is returned unchanged.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (no such share), `CW_ERR_BAD_REQUEST` (reason too long).
 */
export async function revokeShare(ctx: NodeContext, shareId: string, options: RevokeOptions): Promise<RevokeResult> {
  const reason = options.reason ?? null
  if (reason !== null && (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', `reason must be a string of at most ${MAX_REASON_LENGTH} characters`)
  }
  const existing = await ctx.store.outboundShares.get(shareId)
  if (existing === undefined) throw shareNotFound(shareId)
  if (existing.status === 'revoked') return { share: await getShare(ctx, shareId), revoked: false }

  const now = seconds(ctx)
  const jws = await signShareRevocation(ctx, existing, now, reason)
  const payload: RevokePayload = { jws, revokedAt: now, reason }
  // spec: CW-REV-002, CW-REV-005 — the status and the job that tells the partner commit together.
  // The event commits with them too.
  const changed = await ctx.transaction(async (action) => {
    const tx = action.store
    const share = await tx.outboundShares.get(shareId)
    if (share === undefined || share.status === 'revoked') return false
    await tx.outboundShares.updateStatus(shareId, 'revoked', null, reason, now)
    await ctx.jobs.enqueue(action, JOB.revoke, shareId, { ...payload }, now)
    action.record({
      type: 'share.revoked',
      caseId: existing.caseId,
      actor: options.actor,
      shareId,
      partner: existing.partnerOrg,
      reason,
      derivedFrom: options.derivedFrom ?? null,
    })
    return true
  })
  if (changed) crashPoint('revocation.stored')
  if (changed) {
    ctx.log.info({ shareId, caseId: existing.caseId, partner: existing.partnerOrg, derivedFrom: options.derivedFrom ?? null }, 'share revoked')
  }
  return { share: await getShare(ctx, shareId), revoked: changed }
}

/**
 * spec: CW-SIG-014 — a revocation expires no later than the share it ends (the share's expiry,
 * the last grant's exp, which the share's `expiresAt` is), and after `iat` (CW-SIG-011).
 */
function revocationExpiry(share: OutboundShareRecord, iat: number): number {
  return Math.max(iat + 1, Math.min(iat + REVOCATION_LIFETIME_SECONDS, share.expiresAt))
}

/** spec: CW-REV-001 — signed by us, addressed to the share's partner. */
async function signShareRevocation(ctx: NodeContext, share: OutboundShareRecord, revokedAt: number, reason: string | null): Promise<string> {
  const iat = seconds(ctx)
  const revocation: Revocation = {
    cwv: PROTOCOL_VERSION,
    iss: ctx.identity.org,
    aud: share.partnerOrg,
    iat,
    exp: revocationExpiry(share, iat),
    jti: randomUUID(),
    share: share.id,
    revokedAt: Math.min(revokedAt, iat),
  }
  if (reason !== null) revocation.reason = reason
  return signRevocation(revocation, ctx.identity.signer)
}

/** The handler of the `revoke` job, for the job runner. */
export function revocationJobHandlers(ctx: NodeContext, peer: PeerClient): Record<typeof JOB.revoke, JobHandler> {
  /** Sender: POST the signed revocation to the partner (EP-5) until it takes it. */
  const revoke: JobHandler = async (job, signal) => {
    const share = await ctx.store.outboundShares.get(job.ref)
    if (share === undefined) throw new PermanentJobError(`no outbound share ${job.ref}`)
    if (share.status !== 'revoked') return
    const log = ctx.log.child({ peerOrg: share.partnerOrg, shareId: share.id })
    const stored = payloadOf(job.payload, share)
    const now = seconds(ctx)
    // spec: CW-REV-005 — a revocation cannot outlive the share (CW-SIG-014): once the share has
    // expired the partner has removed access on its own, and there is nothing left to send.
    if (share.expiresAt <= now) {
      log.info('share expired: revocation no longer sent')
      return
    }
    // Signed afresh when about to expire — unless a fresh one would expire no later (a short share).
    const held = expiryOf(stored.jws)
    const jws =
      held - now > REFRESH_MARGIN_SECONDS || held >= revocationExpiry(share, now)
        ? stored.jws
        : await signShareRevocation(ctx, share, stored.revokedAt, stored.reason)
    try {
      const partner = await ctx.store.partners.get(share.partnerOrg)
      // An admin may enable the partner again: retry.
      if (partner === undefined || !partner.enabled || partner.trustOnly) throw new Error(`partner ${share.partnerOrg} is not an enabled partner`)
      crashPoint('revocation.before-send')
      await peer.sendRevocation(partner, jws, signal)
      crashPoint('revocation.sent')
    } catch (error) {
      if (signal.aborted) throw error
      if (error instanceof PeerRefusal && !error.retryable) {
        // spec: CW-FED-019 — a 0.2 partner takes the revocation of a share it never saw (CW-FED-018),
        // so its 404 is no final answer (the offer may still be on its way): retried like any
        // failure. A 0.1 partner remembers nothing of such a share: there, 404 ends it.
        if (error.code === 'CW_ERR_NOT_FOUND' && !(await partnerSupports(ctx, share.partnerOrg, '0.2'))) {
          log.info({ code: error.code }, 'v0.1 partner holds no such share: revocation not needed')
          return
        }
        if (error.code === 'CW_ERR_NOT_FOUND') {
          log.warn({ code: error.code }, 'v0.2 partner answered 404 to a revocation: retrying')
        } else if (error.code !== 'CW_ERR_EXPIRED' && error.code !== 'CW_ERR_NOT_YET_VALID') {
          log.warn({ code: error.code, status: error.status }, 'revocation refused by partner')
          throw new PermanentJobError(error.message, { cause: error })
        }
      }
      // spec: CW-REV-005 — retried until accepted: when this job runs out of attempts, a new one takes over.
      if (job.attempts >= ctx.config.transfers.maxAttempts) {
        const runAt = now + Math.ceil(ctx.config.transfers.retryMaxMs / 1000)
        await ctx.transaction((tx) => ctx.jobs.enqueue(tx, JOB.revoke, share.id, { ...stored }, runAt))
      }
      throw error
    }
    log.info('revocation accepted by partner')
    await ctx.record({ type: 'revocation.delivered', caseId: share.caseId, actor: SYSTEM_ACTOR, shareId: share.id, partner: share.partnerOrg })
  }
  return { revoke }
}

function payloadOf(payload: Record<string, unknown>, share: OutboundShareRecord): RevokePayload {
  return {
    jws: typeof payload['jws'] === 'string' ? payload['jws'] : '',
    revokedAt: typeof payload['revokedAt'] === 'number' ? payload['revokedAt'] : share.updatedAt,
    reason: typeof payload['reason'] === 'string' ? payload['reason'] : null,
  }
}

/** `exp` of a revocation this node signed (0 when unreadable: it is signed again). */
function expiryOf(jws: string): number {
  try {
    const exp = (JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }).exp
    return typeof exp === 'number' ? exp : 0
  } catch {
    return 0
  }
}

function seconds(ctx: NodeContext): number {
  return Math.floor(ctx.clock.now().getTime() / 1000)
}
