/**
 * Recording a receipt a partner returns for a revision this node sent (EP-3, SPEC.md
 * CW-REC-003, CW-FED-009): verified, from the peer on the connection, answering a revision
 * sent to that peer with the manifest digest that was sent; then the share's status follows it.
 *
 * Free of HTTP: the federation listener and any other caller use it alike.
 *
 * @module
 */
import { RequestError, VerificationError, verifyReceipt, type DeliveryReceipt, type ReceiptAnswer } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SIGNED_OBJECT_MAX_BYTES } from '../limits.ts'
import { partnerActor } from '../events.ts'
import { crashPoint } from '../operations/crash_points.ts'

export interface AcceptedReceipt {
  /** False when this receipt (or one with the same outcome) was already recorded: nothing changed. */
  recorded: boolean
  answer: ReceiptAnswer
}

/**
 * Records a receipt from `peerOrg` (the org of the verified TLS client certificate).
 *
 * @throws {VerificationError} any §8 code, `CW_ERR_PEER_MISMATCH`, `CW_ERR_REPLAY`, `CW_ERR_STALE_REVISION`
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (no such share for this peer), `CW_ERR_CONFLICT`
 *   (the revision already has a receipt with the other status)
 */
export async function acceptReceipt(ctx: NodeContext, peerOrg: string, jws: string): Promise<AcceptedReceipt> {
  const currentDate = ctx.clock.now()
  // spec: CW-REC-003, CW-FED-009 — §8 with type receipt, addressed to this node.
  const { receipt, digest } = await verifyReceipt(jws, {
    trustAnchors: await ctx.trustAnchors(),
    audience: ctx.identity.org,
    currentDate,
    maxBytes: SIGNED_OBJECT_MAX_BYTES,
    // spec: CW-VER-001 — the versions this node is configured to speak.
    versions: ctx.config.federation.protocolVersions,
  })
  // spec: CW-FED-009, CW-TLS-003
  if (receipt.iss !== peerOrg) {
    throw new VerificationError('CW_ERR_PEER_MISMATCH', '"iss" is not the organization of the connected peer', { at: '/iss' })
  }
  const answer: ReceiptAnswer = { share: receipt.share, revision: receipt.revision, status: receipt.status }
  crashPoint('receipt.verified')
  const now = Math.floor(currentDate.getTime() / 1000)

  // The receipt, the share's status and their events commit together.
  const recorded = await ctx.transaction(async (action) => {
    const tx = action.store
    // spec: CW-SIG-012
    const seen = await tx.replay.remember(receipt.iss, receipt.jti, digest, receipt.exp)
    if (seen !== undefined && seen !== digest) {
      throw new VerificationError('CW_ERR_REPLAY', '("iss", "jti") already accepted with another receipt', { at: '/jti' })
    }
    // spec: CW-FED-009 — one answer for a missing share and another peer's share.
    const share = await tx.outboundShares.get(receipt.share)
    if (share === undefined || share.partnerOrg !== peerOrg) throw new RequestError('CW_ERR_NOT_FOUND', 'no such share for this peer')
    const revision = await tx.outboundShares.getRevision(share.id, receipt.revision)
    if (revision === undefined || revision.manifestDigest !== receipt.manifest) {
      throw new VerificationError('CW_ERR_STALE_REVISION', 'receipt does not answer a manifest sent to this peer', { at: '/manifest' })
    }
    if (revision.receiptJws !== null) {
      // spec: CW-FED-009 — recording the same receipt again changes nothing.
      const recorded = storedReceipt(revision.receiptJws).status
      if (revision.receiptJws === jws || recorded === receipt.status) return false
      throw new RequestError('CW_ERR_CONFLICT', `revision ${receipt.revision} already has a receipt with status ${recorded}`)
    }
    await tx.outboundShares.setReceipt(share.id, receipt.revision, jws)
    const about = { caseId: share.caseId, actor: partnerActor(peerOrg), shareId: receipt.share, partner: peerOrg, revision: receipt.revision }
    action.record({ type: 'receipt.verified', ...about, status: receipt.status })
    if (receipt.status === 'delivered') action.record({ type: 'share.delivered', ...about })
    else action.record({ type: 'share.rejected', ...about, code: receipt.problem?.code ?? 'CW_ERR_INTERNAL' })
    // Only a receipt for the latest revision moves a share that is still in flight.
    if (receipt.revision === share.revision && (share.status === 'processing' || share.status === 'failed')) {
      if (receipt.status === 'delivered') await tx.outboundShares.updateStatus(share.id, 'delivered', null, null, now)
      else await tx.outboundShares.updateStatus(share.id, 'rejected', receipt.problem?.code ?? null, receipt.problem?.detail ?? null, now)
    }
    return true
  })
  crashPoint('receipt.recorded')
  if (recorded) {
    ctx.log.info({ peerOrg, shareId: receipt.share, revision: receipt.revision, status: receipt.status }, 'receipt recorded')
  }
  return { recorded, answer }
}

/** The payload of a receipt that was verified (or signed) before it was stored; not for peer input. */
export function storedReceipt(jws: string): DeliveryReceipt {
  return JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as DeliveryReceipt
}
