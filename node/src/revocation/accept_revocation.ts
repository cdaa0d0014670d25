/**
 * Receiving a revocation (EP-5, SPEC.md §13, CW-REV-003, CW-REV-004): verified, from the peer
 * on the connection, for a share that peer sent us; the external case is marked `revoked` at
 * once, so its users lose access (`receiving/external_cases.ts` answers `CW_ERR_SHARE_REVOKED`; a fetch still
 * running finds the share no longer receiving and stops), and every outbound share this node
 * derived from it is revoked in turn, with its own revocation to the next hop.
 *
 * A case already imported from the external case stays (it is this agency's copy), but it
 * cannot be shared onward any more: onward shares go from the external case, which refuses
 * every use once revoked, and any share already derived from the imported case is revoked
 * here. Its import details show the external case's status (`revoked`).
 *
 * Idempotent: the same revocation again, or another one for a share already revoked, answers
 * the same and changes nothing — except that it finishes a cascade an earlier call did not
 * complete (a crash between the two steps).
 *
 * Free of HTTP: the federation listener and any other caller use it alike.
 *
 * @module
 */
import { VerificationError, verifyRevocation, type RevocationAnswer } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SIGNED_OBJECT_MAX_BYTES } from '../limits.ts'
import { partnerActor } from '../events.ts'
import { revokeShare } from './revoke_share.ts'
import { crashPoint } from '../operations/crash_points.ts'

export interface AcceptedRevocation {
  /** False when the share was revoked already: nothing changed. */
  revoked: boolean
  /** The external case (inbound share) revoked; undefined when this node never held the share (CW-FED-018). */
  inboundId: string | undefined
  /** Outbound shares derived from it that this call revoked (CW-REV-003). */
  cascaded: string[]
  answer: RevocationAnswer
}

/**
 * Records a revocation from `peerOrg` (the org of the verified TLS client certificate).
 *
 * @throws {VerificationError} any §8 code, `CW_ERR_PEER_MISMATCH`, `CW_ERR_REPLAY`
 */
export async function acceptRevocation(ctx: NodeContext, peerOrg: string, jws: string): Promise<AcceptedRevocation> {
  const currentDate = ctx.clock.now()
  // spec: CW-REV-001, CW-REV-004 — §8 with type revocation, addressed to this node.
  const { revocation, digest } = await verifyRevocation(jws, {
    trustAnchors: await ctx.trustAnchors(),
    audience: ctx.identity.org,
    currentDate,
    maxBytes: SIGNED_OBJECT_MAX_BYTES,
    // spec: CW-VER-001 — the versions this node is configured to speak.
    versions: ctx.config.federation.protocolVersions,
  })
  // spec: CW-REV-004, CW-TLS-003 — only the sharer revokes, over its own connection.
  if (revocation.iss !== peerOrg) {
    throw new VerificationError('CW_ERR_PEER_MISMATCH', '"iss" is not the organization of the connected peer', { at: '/iss' })
  }
  const reason = revocation.reason ?? null
  crashPoint('revocation.verified')

  const { inboundId, changed } = await ctx.transaction(async (action): Promise<{ inboundId: string | undefined; changed: boolean }> => {
    const tx = action.store
    // spec: CW-SIG-012 — remembered only if the transaction commits (an unknown share leaves nothing).
    const seen = await tx.replay.remember(revocation.iss, revocation.jti, digest, revocation.exp)
    if (seen !== undefined && seen !== digest) {
      throw new VerificationError('CW_ERR_REPLAY', '("iss", "jti") already accepted with another object', { at: '/jti' })
    }
    // spec: CW-REV-004 — one answer for a missing share and another sender's share.
    const inbound = await tx.inboundShares.find(peerOrg, revocation.share)
    if (inbound === undefined) {
      // spec: CW-FED-018 — the revocation overtook its offer (or the offer never came): remember
      // that the share ended, so that a later offer of it is refused, and answer as for any
      // revocation. Nothing else is stored: no case, no content.
      await tx.inboundShares.insertTombstone({
        senderOrg: peerOrg,
        shareId: revocation.share,
        revokedAt: revocation.revokedAt,
        expiresAt: revocation.exp,
        receivedAt: Math.floor(currentDate.getTime() / 1000),
      })
      return { inboundId: undefined, changed: false }
    }
    if (inbound.status === 'revoked') return { inboundId: inbound.id, changed: false }
    // spec: CW-REV-003 — access ends with this commit.
    await tx.inboundShares.update({ ...inbound, status: 'revoked', statusDetail: reason ?? `revoked by ${peerOrg}` })
    // On the record with the revocation itself; `cascaded` counts the derived shares revoked next.
    const derived = (await tx.outboundShares.listDerivedFrom(inbound.id)).filter((share) => share.status !== 'revoked')
    action.record({
      type: 'inbound.revoked',
      caseId: inbound.id,
      actor: partnerActor(peerOrg),
      sender: peerOrg,
      shareId: revocation.share,
      reason,
      cascaded: derived.length,
    })
    return { inboundId: inbound.id, changed: true }
  })
  if (changed) crashPoint('revocation.accepted')

  if (inboundId === undefined) {
    ctx.log.info({ peerOrg, shareId: revocation.share }, 'revocation of a share never offered: remembered, a later offer of it will be refused')
    return { revoked: false, inboundId: undefined, cascaded: [], answer: { share: revocation.share, status: 'revoked' } }
  }

  // spec: CW-REV-003, CW-REV-006 — every share derived from it, each with its own revocation job.
  const cascaded: string[] = []
  for (const derived of await ctx.store.outboundShares.listDerivedFrom(inboundId)) {
    if (derived.status === 'revoked') continue
    const { revoked } = await revokeShare(ctx, derived.id, { actor: partnerActor(peerOrg), reason, derivedFrom: inboundId })
    if (revoked) cascaded.push(derived.id)
  }

  if (changed) {
    ctx.log.info({ peerOrg, shareId: revocation.share, inboundId, cascaded: cascaded.length }, 'share revoked by its sender')
  }
  return { revoked: changed, inboundId, cascaded, answer: { share: revocation.share, status: 'revoked' } }
}
