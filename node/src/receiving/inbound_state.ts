/**
 * Moving an inbound share on, safely against what happened meanwhile (a newer revision, a
 * revocation): the receiver's jobs read, work outside any transaction, then store their
 * outcome only if the share is still as they read it.
 *
 * @module
 */
import type { NodeContext, Transaction } from '../context.ts'
import type { InboundShareRecord, InboundShareWithManifest } from '../store/metadata_store.ts'

/**
 * Replaces an inbound share with `change(current, tx)` in one action transaction (its events
 * and jobs go with it), if it is still the same revision (same manifest) and in the same
 * status it was read in. Returns whether it did.
 */
export async function updateInbound(
  ctx: Pick<NodeContext, 'transaction'>,
  read: InboundShareRecord,
  // With its manifestJws when it moves the share to another manifest.
  change: (
    current: InboundShareRecord,
    tx: Transaction,
  ) => InboundShareRecord | InboundShareWithManifest | Promise<InboundShareRecord | InboundShareWithManifest>,
): Promise<boolean> {
  return ctx.transaction(async (action) => {
    const tx = action.store
    const current = await tx.inboundShares.get(read.id)
    if (current === undefined || current.manifestDigest !== read.manifestDigest || current.status !== read.status) return false
    await tx.inboundShares.update(await change(current, action))
    return true
  })
}
