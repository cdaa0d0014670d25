/**
 * Receiver: per-partner quotas on offers (SPEC.md CW-QUO-001..004). One partner must not be able
 * to fill this node's database and disk, or keep its transfer queue busy for everyone else: an
 * offer over a quota is refused `429 CW_ERR_QUOTA_EXCEEDED`, with `Retry-After` when waiting
 * frees the quota. Counted per partner organization (the verified client certificate's), never
 * across partners.
 *
 * @module
 */
import { RequestError, type CaseManifest } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { Repositories } from '../store/metadata_store.ts'

const DAY_SECONDS = 86_400
/** Offers pending drain as transfers finish: ask the sender to come back after this long. */
const PENDING_RETRY_SECONDS = 60

/** A quota refusal; `retryAfterSeconds` becomes the `Retry-After` header when waiting helps. */
export class QuotaExceededError extends RequestError {
  readonly retryAfterSeconds: number | undefined

  constructor(message: string, retryAfterSeconds?: number) {
    super('CW_ERR_QUOTA_EXCEEDED', message)
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** The evidence bytes an offered revision asks this node to hold (its items' sizes). */
export function offerBytes(manifest: CaseManifest): number {
  return manifest.evidence.reduce((sum, item) => sum + item.size, 0)
}

/**
 * spec: CW-QUO-001, CW-QUO-002, CW-QUO-003 — throws {@link QuotaExceededError} when accepting
 * `manifest` from `partnerOrg` now would exceed one of its quotas. Runs in the offer's
 * transaction (`store`), so two offers at once cannot both take the last of a quota.
 */
export async function checkQuotas(ctx: NodeContext, store: Repositories, partnerOrg: string, manifest: CaseManifest, now: number): Promise<void> {
  const { itemsPerOffer, pendingOffers, bytesPerDay } = ctx.config.limits.partners
  const items = manifest.evidence.length
  if (itemsPerOffer > 0 && items > itemsPerOffer) {
    // Waiting does not help: the sender has to share less at once (no Retry-After).
    throw new QuotaExceededError(`the offer has ${items} evidence items; this node accepts at most ${itemsPerOffer} per offer from a partner`)
  }
  if (pendingOffers === 0 && bytesPerDay === 0) return
  const usage = await store.quotas.usage(partnerOrg, now - DAY_SECONDS)
  if (pendingOffers > 0 && usage.pendingOffers >= pendingOffers) {
    throw new QuotaExceededError(
      `${usage.pendingOffers} offers from ${partnerOrg} are still being received; at most ${pendingOffers} at once`,
      PENDING_RETRY_SECONDS,
    )
  }
  const bytes = offerBytes(manifest)
  if (bytesPerDay > 0 && usage.bytes + bytes > bytesPerDay) {
    // Retry when the oldest offer counted leaves the 24-hour window (unless this one never fits).
    const retry = bytes > bytesPerDay || usage.oldestAt === undefined ? undefined : Math.max(1, usage.oldestAt + DAY_SECONDS - now)
    throw new QuotaExceededError(`the offer's ${bytes} evidence bytes would take ${partnerOrg} past ${bytesPerDay} bytes in 24 hours`, retry)
  }
}

/** spec: CW-QUO-003 — counts an accepted offer's bytes against the partner's daily budget (in its transaction). */
export async function countOffer(store: Repositories, partnerOrg: string, manifest: CaseManifest, now: number): Promise<void> {
  await store.quotas.recordOfferBytes(partnerOrg, now, offerBytes(manifest))
}
