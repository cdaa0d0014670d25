/**
 * Receiver: the receipt job of an inbound share (SPEC.md §16, EP-3) — POST the stored signed
 * receipt to the sender until it takes it; an expired receipt is signed afresh.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { enabledPartner } from '../partners/partners.ts'
import { PeerRefusal } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import { storedReceipt } from '../sending/accept_receipt.ts'
import { updateInbound } from './inbound_state.ts'
import { issueReceipt } from './receipts.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** The handler of the `receipt` job (ref = inbound share id). */
export function receiptJobHandler(ctx: NodeContext, peer: PeerClient): JobHandler {
  return async (job, signal) => {
    const inbound = await ctx.store.inboundShares.get(job.ref)
    if (inbound === undefined) throw new PermanentJobError(`no inbound share ${job.ref}`)
    if (inbound.receiptJws === null) return
    const log = ctx.log.child({ peerOrg: inbound.senderOrg, shareId: inbound.shareId, revision: inbound.revision })
    const partner = await enabledPartner(ctx, inbound.senderOrg)
    try {
      crashPoint('receipt.before-send')
      await peer.sendReceipt(partner, inbound.receiptJws, signal)
      crashPoint('receipt.sent')
      log.info('receipt accepted by sender')
    } catch (error) {
      if (signal.aborted || !(error instanceof PeerRefusal) || error.retryable) throw error
      if (error.code === 'CW_ERR_EXPIRED') {
        // The sender was away longer than the receipt lives: sign it afresh, retry.
        const previous = storedReceipt(inbound.receiptJws)
        const now = Math.floor(ctx.clock.now().getTime() / 1000)
        const fresh = await issueReceipt(ctx, inbound, previous.problem, now)
        await updateInbound(ctx, inbound, (current) => ({ ...current, receiptJws: fresh }))
        log.info('receipt expired before the sender took it: re-signed')
        throw error
      }
      log.warn({ code: error.code, status: error.status }, 'receipt refused by sender')
      throw new PermanentJobError(error.message, { cause: error })
    }
  }
}
