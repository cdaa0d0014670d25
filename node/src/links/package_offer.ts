/**
 * Carrying a link share's package to a partner's user or group (SPEC.md §22, CW-PKG-011,
 * CW-PKG-015, CW-PKG-016), sender side. Once the package is built, the `package-offer` job signs
 * the package offer once (every retry sends the same bytes, so the partner answers a retry `200`)
 * and POSTs it on EP-10 with the job machinery's back-off. A refusal that waiting does not help
 * leaves the link share `failed` with the reason; a `404` means the partner's node has no EP-10.
 * Revoking the link share queues the `package-revoke` job, which POSTs a signed revocation naming
 * the package on EP-12 until the partner takes it.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { RequestError, signPackageOffer, signRevocation, type PackageOffer } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { JOB } from '../jobs/kinds.ts'
import { PeerRefusal } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import type { LinkShareRecord, PartnerRecord } from '../store/metadata_store.ts'

/** The partner and the recipient there of a link share for a partner's user or group; undefined for any other. */
export function partnerRecipientOf(link: Pick<LinkShareRecord, 'recipient'>): { org: string; kind: 'user' | 'group'; id: string } | undefined {
  const { kind, value } = link.recipient
  if (kind !== 'partner-user' && kind !== 'partner-group') return undefined
  const slash = value.indexOf('/')
  return { org: value.slice(0, slash), kind: kind === 'partner-user' ? 'user' : 'group', id: value.slice(slash + 1) }
}

const seconds = (ctx: NodeContext): number => Math.floor(ctx.clock.now().getTime() / 1000)

/** An enabled partner to send to; otherwise a retryable error (an administrator may enable it again). */
async function enabledPartner(ctx: NodeContext, org: string): Promise<PartnerRecord> {
  const partner = await ctx.store.partners.get(org)
  if (partner === undefined || !partner.enabled || partner.trustOnly) throw new Error(`partner ${org} is not an enabled partner`)
  return partner
}

/** spec: CW-PKG-011 — the offer of `link`'s package, signed with the certificate that signed the package. */
async function signOffer(ctx: NodeContext, link: LinkShareRecord & { package: NonNullable<LinkShareRecord['package']> }): Promise<string> {
  const recipient = partnerRecipientOf(link)!
  const offer: PackageOffer = {
    cwv: '0.2',
    iss: ctx.identity.org,
    aud: recipient.org,
    iat: seconds(ctx),
    exp: link.expiresAt,
    jti: randomUUID(),
    package: link.id,
    recipients: [{ kind: recipient.kind, id: recipient.id }],
    format: link.format,
    size: link.package.size,
    manifest: link.package.digest,
  }
  if (link.message !== null) offer.message = link.message
  return signPackageOffer(offer, ctx.identity.signer)
}

/** The handlers of the `package-offer` and `package-revoke` jobs (ref = link share id). */
export function packageOfferJobHandlers(ctx: NodeContext, peer: PeerClient): Record<typeof JOB.packageOffer | typeof JOB.packageRevoke, JobHandler> {
  const offer: JobHandler = async (job, signal) => {
    const link = await ctx.store.linkShares.get(job.ref)
    if (link === undefined) throw new PermanentJobError(`no link share ${job.ref}`)
    const recipient = partnerRecipientOf(link)
    // Revoked, failed or expired meanwhile: nothing to offer (a revocation goes its own way).
    if (recipient === undefined || link.state !== 'ready' || link.package === null || link.expiresAt <= seconds(ctx)) return
    if (peer.offerPackage === undefined) throw new PermanentJobError('this node has no package client')
    const log = ctx.log.child({ linkShareId: link.id, peerOrg: recipient.org })
    const partner = await enabledPartner(ctx, recipient.org)
    let jws = (await ctx.store.linkShares.getOffer(link.id))?.jws
    if (jws === undefined) {
      jws = await signOffer(ctx, { ...link, package: link.package })
      await ctx.store.linkShares.setOffer(link.id, jws, seconds(ctx))
    }
    try {
      await peer.offerPackage(partner, jws, signal)
    } catch (error) {
      // spec: CW-PKG-016 — temporary answers are retried by the job runner; the others end the link share.
      if (signal.aborted || !(error instanceof PeerRefusal) || error.retryable) throw error
      const reason =
        error.status === 404
          ? `${recipient.org}'s node does not accept packages (EP-10 answered 404): share the case with ${recipient.org} instead`
          : `${recipient.org} refused the package: ${error.code}${error.detail === '' ? '' : ` (${error.detail})`}`
      await ctx.transaction(async (tx) => {
        if (await tx.store.linkShares.fail(link.id, reason, seconds(ctx)))
          tx.record({ type: 'link.failed', caseId: link.caseId, actor: SYSTEM_ACTOR, linkShareId: link.id, error: reason })
      })
      log.warn({ code: error.code, status: error.status }, 'package offer refused by partner')
      return
    }
    await ctx.transaction(async (tx) => {
      if (await tx.store.linkShares.markOffered(link.id, seconds(ctx)))
        tx.record({ type: 'link.offered', caseId: link.caseId, actor: SYSTEM_ACTOR, linkShareId: link.id, partner: recipient.org })
    })
    log.info('package offered to partner')
  }

  const revoke: JobHandler = async (job, signal) => {
    const link = await ctx.store.linkShares.get(job.ref)
    if (link === undefined) throw new PermanentJobError(`no link share ${job.ref}`)
    const recipient = partnerRecipientOf(link)
    const now = seconds(ctx)
    // An expired package is withdrawn by the partner on its own: nothing left to send (as CW-REV-005).
    if (recipient === undefined || link.state !== 'revoked' || link.expiresAt <= now) return
    if (peer.sendPackageRevocation === undefined) throw new PermanentJobError('this node has no package client')
    const partner = await enabledPartner(ctx, recipient.org)
    // spec: CW-PKG-015 — §13's revocation, naming the package; it lives no longer than the package.
    const jws = await signRevocation(
      {
        cwv: '0.2',
        iss: ctx.identity.org,
        aud: recipient.org,
        iat: now,
        exp: link.expiresAt,
        jti: randomUUID(),
        share: link.id,
        revokedAt: link.revokedAt ?? now,
      },
      ctx.identity.signer,
    )
    try {
      await peer.sendPackageRevocation(partner, jws, signal)
    } catch (error) {
      // A partner without EP-12 never had the package (it has no EP-10 either): nothing to withdraw.
      if (error instanceof PeerRefusal && error.status === 404) return
      if (error instanceof PeerRefusal && !error.retryable) throw new PermanentJobError(error.message, { cause: error })
      throw error
    }
    await ctx.record({ type: 'revocation.delivered', caseId: link.caseId, actor: SYSTEM_ACTOR, shareId: link.id, partner: recipient.org })
  }
  return { [JOB.packageOffer]: offer, [JOB.packageRevoke]: revoke }
}

/**
 * spec: CW-PKG-013 — link share `packageId`'s package, if it was offered to `peerOrg`: the same
 * `404` for a package that does not exist, was offered to another partner, was never offered or
 * failed; `410` once revoked or expired.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`.
 */
export async function requireOfferedPackage(
  ctx: NodeContext,
  peerOrg: string,
  packageId: string,
): Promise<LinkShareRecord & { package: NonNullable<LinkShareRecord['package']> }> {
  const link = await ctx.store.linkShares.get(packageId)
  const offered = link === undefined || partnerRecipientOf(link)?.org !== peerOrg ? undefined : await ctx.store.linkShares.getOffer(link.id)
  if (link === undefined || offered === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no package "${packageId}"`)
  if (link.state === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', `package "${packageId}" was revoked`)
  if (link.expiresAt <= seconds(ctx)) throw new RequestError('CW_ERR_SHARE_EXPIRED', `package "${packageId}" expired`)
  if (link.state !== 'ready' || link.package === null) throw new RequestError('CW_ERR_NOT_FOUND', `no package "${packageId}"`)
  return { ...link, package: link.package }
}
