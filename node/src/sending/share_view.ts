/**
 * What the local API tells of an outbound share besides its record (SPEC.md CW-LOC-030,
 * CW-LOC-031): whether the node is still trying (`retrying` with the next attempt, or `failed`
 * for good), how far the partner has fetched the revision, and what the policy held back.
 *
 * Retrying or failed is read from the offer job, which owns the attempts: the share keeps the
 * last error (stored status `failed`), the job says whether another attempt comes and when.
 * Reading it from the job keeps the two from disagreeing after a crash between their writes.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { JOB } from '../jobs/kinds.ts'
import { liveJob } from '../jobs/live_job.ts'
import { chunkSizes, type ChunkedItem, type TransferProgress } from '../transfer_progress.ts'
import type { HeldBackItem, JobRecord, OutboundShareRecord, OutboundStatus, OutboundTransferRecord, TransferChunk } from '../store/metadata_store.ts'

/** A share's status as the local API reports it. */
export type ShareStatus = OutboundStatus | 'retrying'

/** Where the current revision of a share is on its way to the partner. */
export type SendingPhase = 'offering' | 'transferring' | 'awaiting-receipt' | 'done'

/** An outbound share as the local API shows it. */
export interface ShareView extends Omit<OutboundShareRecord, 'status'> {
  status: ShareStatus
  /** When the next attempt is due (Unix seconds), while `retrying`; null otherwise. */
  nextAttemptAt: number | null
  progress: TransferProgress<SendingPhase>
  /** What the policy left out of the current revision, and why. */
  heldBack: HeldBackItem[]
}

/** The share with its reported status, progress and held-back items (three small reads). */
export async function describeShare(ctx: NodeContext, share: OutboundShareRecord): Promise<ShareView> {
  const [jobs, transfer, heldBack] = await Promise.all([
    share.status === 'failed' ? ctx.store.jobs.list(share.id) : Promise.resolve([]),
    ctx.store.outboundShares.getTransfer(share.id, share.revision),
    ctx.store.outboundShares.listHeldBack(share.id, share.revision),
  ])
  const { status, nextAttemptAt } = reportedStatus(share.status, liveJob(jobs, JOB.offer))
  return { ...share, status, nextAttemptAt, progress: sendingProgress(share.status, transfer), heldBack }
}

/**
 * A failed attempt reads `retrying` while the job that makes the next one is live (due at its
 * `runAt`), and `failed` once no job will try again (it is dead: out of attempts).
 */
export function reportedStatus(stored: OutboundStatus, offerJob: JobRecord | undefined): { status: ShareStatus; nextAttemptAt: number | null } {
  if (stored !== 'failed') return { status: stored, nextAttemptAt: null }
  return offerJob === undefined ? { status: 'failed', nextAttemptAt: null } : { status: 'retrying', nextAttemptAt: offerJob.runAt }
}

/**
 * The progress of the current revision: `offering` until the partner answered the offer,
 * `transferring` while it fetches the chunks it asked for, `awaiting-receipt` once it has all
 * of them, `done` when its receipt came (everything asked for counts as fetched then).
 */
export function sendingProgress(stored: OutboundStatus, transfer: OutboundTransferRecord | undefined): TransferProgress<SendingPhase> {
  const counts = {
    chunksDone: transfer?.chunksDone ?? 0,
    chunksTotal: transfer?.chunksTotal ?? 0,
    bytesDone: transfer?.bytesDone ?? 0,
    bytesTotal: transfer?.bytesTotal ?? 0,
  }
  if (stored === 'delivered') return { phase: 'done', ...counts, chunksDone: counts.chunksTotal, bytesDone: counts.bytesTotal }
  if (transfer === undefined) return { phase: 'offering', ...counts }
  return { phase: counts.chunksDone < counts.chunksTotal ? 'transferring' : 'awaiting-receipt', ...counts }
}

/** The chunks a partner's offer answer asked for, with their sizes in the manifest offered. */
export function neededChunks(evidence: readonly ChunkedItem[], needed: readonly string[]): TransferChunk[] {
  const sizes = chunkSizes(evidence)
  const chunks: TransferChunk[] = []
  for (const digest of new Set(needed)) {
    const size = sizes.get(digest)
    // A digest the manifest does not list is no chunk of this revision: the partner cannot fetch it.
    if (size !== undefined) chunks.push({ digest, size })
  }
  return chunks
}
