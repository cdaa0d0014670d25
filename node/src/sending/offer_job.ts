/**
 * Sender: the offer job of an outbound share (SPEC.md §16, EP-1) — POST the latest revision's
 * manifest to the partner (after the revisions it lacks, CW-REVN-004) until it answers. The
 * share's status and the event saying why commit together. Idempotent: it reads the share,
 * offers what is current, and an offer answered twice changes nothing.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { partnerActor, SYSTEM_ACTOR, type NodeEvent } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { enabledPartner } from '../partners/partners.ts'
import { PeerRefusal } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import type { OutboundStatus, Repositories } from '../store/metadata_store.ts'
import { manifestOf, offerInOrder } from './revisions.ts'
import { neededChunks } from './share_view.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** The handler of the `offer` job (ref = outbound share id). */
export function offerJobHandler(ctx: NodeContext, peer: PeerClient): JobHandler {
  const seconds = () => Math.floor(ctx.clock.now().getTime() / 1000)

  /**
   * Sets an outbound share's status if it still is one of `from` at `revision` (a receipt may
   * have come first), and records `event` (if any) and what `also` writes in the same transaction.
   */
  async function moveOutbound(
    id: string,
    revision: number,
    from: readonly OutboundStatus[],
    to: OutboundStatus,
    code: string | null,
    detail: string | null,
    event?: NodeEvent,
    also?: (store: Repositories) => Promise<void>,
  ) {
    await ctx.transaction(async (action) => {
      if (event !== undefined) action.record(event)
      const tx = action.store
      await also?.(tx)
      const share = await tx.outboundShares.get(id)
      if (share === undefined || share.revision !== revision || !from.includes(share.status)) return
      if (share.status === to && share.statusCode === code && share.statusDetail === detail) return
      await tx.outboundShares.updateStatus(id, to, code, detail, seconds())
    })
  }

  return async (job, signal) => {
    const share = await ctx.store.outboundShares.get(job.ref)
    if (share === undefined) throw new PermanentJobError(`no outbound share ${job.ref}`)
    const log = ctx.log.child({ peerOrg: share.partnerOrg, shareId: share.id, revision: share.revision })
    if ((share.status !== 'processing' && share.status !== 'failed') || share.expiresAt <= seconds()) {
      log.info({ status: share.status }, 'share no longer in flight: offer dropped')
      return
    }
    const revision = await ctx.store.outboundShares.getRevision(share.id, share.revision)
    if (revision === undefined) throw new PermanentJobError(`no revision ${share.revision} of outbound share ${share.id}`)
    const inFlight: OutboundStatus[] = ['processing', 'failed']
    const about = { caseId: share.caseId, shareId: share.id, partner: share.partnerOrg }
    try {
      const partner = await enabledPartner(ctx, share.partnerOrg)
      crashPoint('offer.before-send')
      // CW-REVN-004: revisions the partner lacks are offered again in order first.
      const { status, answer } = await offerInOrder(ctx, peer, partner, share, revision, signal)
      crashPoint('offer.answered')
      log.info({ answer: status, needed: answer.needed.length }, 'offer accepted by partner')
      const offered: NodeEvent | undefined = status === 202 ? { type: 'share.offered', ...about, actor: SYSTEM_ACTOR, revision: share.revision } : undefined
      // The chunks the partner asked for are the revision's transfer (CW-LOC-031): counted as it fetches them.
      const transfer = neededChunks(manifestOf(revision.manifestJws).evidence, answer.needed)
      await moveOutbound(share.id, share.revision, ['failed'], 'processing', null, null, offered, (tx) =>
        tx.outboundShares.startTransfer(share.id, share.revision, transfer),
      )
      crashPoint('offer.recorded')
    } catch (error) {
      if (signal.aborted) throw error
      if (error instanceof PeerRefusal && !error.retryable) {
        log.warn({ code: error.code, status: error.status }, 'offer refused by partner')
        const rejected: NodeEvent = { type: 'share.rejected', ...about, actor: partnerActor(share.partnerOrg), revision: share.revision, code: error.code }
        await moveOutbound(share.id, share.revision, inFlight, 'rejected', error.code, error.detail, rejected)
        throw new PermanentJobError(error.message, { cause: error })
      }
      // Stored as failed with the last error; the share reads `retrying` while this job will run again (CW-LOC-030).
      const code = (error as { code?: unknown }).code
      const failed: NodeEvent = { type: 'share.failed', ...about, actor: SYSTEM_ACTOR, error: (error as Error).message }
      await moveOutbound(share.id, share.revision, inFlight, 'failed', typeof code === 'string' ? code : null, (error as Error).message, failed)
      throw error
    }
  }
}
