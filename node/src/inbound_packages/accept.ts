/**
 * Packages a partner offers to our users (SPEC.md §22, CW-PKG-012, CW-PKG-015), receiver side:
 * EP-10's package offer and EP-12's revocation. Nothing is stored before the offer is verified
 * and its sender is the connected peer; an accepted offer is stored `receiving` with the job
 * that pulls it (`pull_job.ts`), and no user sees it until the package itself has verified.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { CasewayError, RequestError, VerificationError, verifyPackageOffer, verifyRevocation, type PackageOfferAnswer, type RevocationAnswer } from '#protocol'
import type { NodeContext } from '../context.ts'
import { partnerActor } from '../events.ts'
import { JOB } from '../jobs/kinds.ts'
import { SIGNED_OBJECT_MAX_BYTES } from '../limits.ts'
import { QuotaExceededError } from '../receiving/quotas.ts'
import type { InboundPackageRecord } from '../store/metadata_store.ts'

/** A new inbound package record of `senderOrg`'s package `packageId`, as of `now`. */
function inboundPackage(
  senderOrg: string,
  packageId: string,
  now: number,
  fields: Pick<InboundPackageRecord, 'state' | 'offer' | 'recipients' | 'expiresAt'>,
): InboundPackageRecord {
  return {
    id: randomUUID(),
    senderOrg,
    packageId,
    ...fields,
    failure: null,
    senderName: null,
    caseId: null,
    content: null,
    createdAt: now,
    updatedAt: now,
    receivedAt: null,
    revokedAt: fields.state === 'revoked' ? now : null,
  }
}

/** EP-10's answer for a package held: receiving, then received or refused (CW-PKG-012). */
export function packageOfferAnswer(held: Pick<InboundPackageRecord, 'packageId' | 'state'>): PackageOfferAnswer {
  return { package: held.packageId, status: held.state === 'received' ? 'received' : held.state === 'refused' ? 'refused' : 'receiving' }
}

const seconds = (ctx: NodeContext): number => Math.floor(ctx.clock.now().getTime() / 1000)

function verifyOptions(ctx: NodeContext, trustAnchors: Awaited<ReturnType<NodeContext['trustAnchors']>>) {
  // spec: CW-VER-001 — the versions this node is configured to speak.
  return {
    trustAnchors,
    audience: ctx.identity.org,
    currentDate: ctx.clock.now(),
    maxBytes: SIGNED_OBJECT_MAX_BYTES,
    versions: ctx.config.federation.protocolVersions,
  }
}

function peerMismatch(): VerificationError {
  return new VerificationError('CW_ERR_PEER_MISMATCH', '"iss" is not the organization of the connected peer', { at: '/iss' })
}

function packageRevoked(packageId: string): RequestError {
  return new RequestError('CW_ERR_SHARE_REVOKED', `package "${packageId}" was revoked`)
}

/**
 * spec: CW-PKG-012 — records a package offer from `peerOrg` (the org of the verified client
 * certificate), its checks in the order the SPEC fixes; a refusal is on the federation trail.
 *
 * @throws {CasewayError} the first failing check's code.
 */
export async function acceptPackageOffer(ctx: NodeContext, peerOrg: string, jws: string): Promise<{ created: boolean; answer: PackageOfferAnswer }> {
  try {
    return await accept(ctx, peerOrg, jws)
  } catch (error) {
    if (error instanceof CasewayError) await ctx.record({ type: 'offer.refused', actor: partnerActor(peerOrg), code: error.code })
    throw error
  }
}

async function accept(ctx: NodeContext, peerOrg: string, jws: string): Promise<{ created: boolean; answer: PackageOfferAnswer }> {
  // (1) §8 steps 1–16, typ package offer, addressed to this node.
  const { offer, digest } = await verifyPackageOffer(jws, verifyOptions(ctx, await ctx.trustAnchors()))
  // (2) spec: CW-TLS-003 — only the sender offers, over its own connection.
  if (offer.iss !== peerOrg) throw peerMismatch()
  return ctx.transaction(async (action) => {
    const tx = action.store
    const held = await tx.inboundPackages.find(peerOrg, offer.package)
    // (3) spec: CW-PKG-015 — revocation wins, over a retry too.
    if (held?.state === 'revoked') throw packageRevoked(offer.package)
    // (4) the same offer again: the answer as it stands, nothing changed.
    if (held !== undefined && held.offer?.digest === digest) return { created: false, answer: packageOfferAnswer(held) }
    // (5) spec: CW-SIG-012 — remembered only if this commits.
    const seen = await tx.replay.remember(offer.iss, offer.jti, digest, offer.exp)
    if (seen !== undefined && seen !== digest)
      throw new VerificationError('CW_ERR_REPLAY', '("iss", "jti") already accepted with another object', { at: '/jti' })
    if (held !== undefined) throw new RequestError('CW_ERR_CONFLICT', `package "${offer.package}" was offered already with another offer`, { at: '/package' })
    // (6) every recipient is ours.
    for (const [index, recipient] of offer.recipients.entries()) {
      const known = recipient.kind === 'user' ? await tx.principals.getUser(recipient.id) : await tx.principals.getGroup(recipient.id)
      if (known === undefined || ('disabled' in known && known.disabled))
        throw new RequestError('CW_ERR_CONFLICT', `no ${recipient.kind} "${recipient.id}" here`, { at: `/recipients/${index}` })
    }
    // (7) spec: CW-PKG-017, CW-QUO-003 — a package alone over the partner's daily bytes is refused for good.
    const bound = ctx.config.limits.partners.bytesPerDay
    if (bound > 0 && offer.size > bound) throw new QuotaExceededError(`a package of ${offer.size} bytes is over the bound of ${bound} bytes from one partner`)
    const now = seconds(ctx)
    const record = inboundPackage(peerOrg, offer.package, now, {
      state: 'receiving',
      offer: { jws, digest, jti: offer.jti, format: offer.format, size: offer.size, manifest: offer.manifest, message: offer.message ?? null },
      recipients: offer.recipients.map(({ kind, id }) => ({ kind, id })),
      expiresAt: offer.exp,
    })
    await tx.inboundPackages.insert(record)
    await ctx.jobs.enqueue(action, JOB.packagePull, record.id)
    action.record({
      type: 'package.offered',
      caseId: record.id,
      actor: partnerActor(peerOrg),
      sender: peerOrg,
      packageId: offer.package,
      recipients: record.recipients.map(({ kind, id }) => `${kind}:${id}`),
      bytes: offer.size,
    })
    ctx.log.info({ peerOrg, packageId: offer.package, inboundPackageId: record.id, bytes: offer.size }, 'package offer accepted')
    return { created: true, answer: packageOfferAnswer(record) }
  })
}

/**
 * spec: CW-PKG-015 — records the revocation of a package from `peerOrg`: withdrawn from our
 * users at once; one never offered is remembered, so that its offer is refused later.
 *
 * @throws {CasewayError} any §8 code, `CW_ERR_PEER_MISMATCH`, `CW_ERR_REPLAY`.
 */
export async function acceptPackageRevocation(ctx: NodeContext, peerOrg: string, jws: string): Promise<RevocationAnswer> {
  const { revocation, digest } = await verifyRevocation(jws, verifyOptions(ctx, await ctx.trustAnchors()))
  if (revocation.iss !== peerOrg) throw peerMismatch()
  await ctx.transaction(async (action) => {
    const tx = action.store
    const seen = await tx.replay.remember(revocation.iss, revocation.jti, digest, revocation.exp)
    if (seen !== undefined && seen !== digest)
      throw new VerificationError('CW_ERR_REPLAY', '("iss", "jti") already accepted with another object', { at: '/jti' })
    const now = seconds(ctx)
    const held = await tx.inboundPackages.find(peerOrg, revocation.share)
    if (held === undefined) {
      // spec: CW-PKG-015 — remembered, so that a later offer of it is refused.
      await tx.inboundPackages.insert(
        inboundPackage(peerOrg, revocation.share, now, { state: 'revoked', offer: null, recipients: [], expiresAt: revocation.exp }),
      )
      return
    }
    if (await tx.inboundPackages.revoke(held.id, now))
      action.record({ type: 'package.revoked', caseId: held.id, actor: partnerActor(peerOrg), sender: peerOrg, packageId: held.packageId })
  })
  ctx.log.info({ peerOrg, packageId: revocation.share }, 'package revoked by its sender')
  return { share: revocation.share, status: 'revoked' }
}
