/**
 * Where an external case stands while it is received, as the local API reports it (SPEC.md
 * CW-LOC-030, CW-LOC-031): `retrying` with the last error and the next attempt while the fetch
 * job will pull again, `failed` once it stopped for good, and the chunks and bytes of the
 * revision being received that are stored out of its total.
 *
 * Read, never written: the fetch job owns its attempts and last error, and the partner's
 * possession record (`partner_chunks`, written as each chunk is stored) says which chunks
 * arrived, so one query answers for a whole manifest.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { JOB } from '../jobs/kinds.ts'
import type { InboundShareRecord, InboundStatus, JobRecord } from '../store/metadata_store.ts'
import { chunkSizes, liveJob, type ChunkedItem, type TransferProgress } from '../transfer_progress.ts'

/** An external case's status as the local API reports it. */
export type ExternalCaseStatus = InboundStatus | 'retrying' | 'failed'

/** transferring: chunks still to store; verifying: all stored, items being checked; done: complete. */
export type ReceivingPhase = 'transferring' | 'verifying' | 'done'

export interface ReceivingState {
  status: ExternalCaseStatus
  /** Why it was rejected, or the last error while retrying or failed. */
  statusDetail: string | null
  /** While retrying: when the fetch job runs again (Unix seconds). */
  nextAttemptAt: number | null
  progress: TransferProgress<ReceivingPhase>
}

/** The reported state of `share`, whose status (expiry applied) is `status`. */
export async function receivingState(ctx: NodeContext, share: InboundShareRecord, status: InboundStatus): Promise<ReceivingState> {
  if (status !== 'receiving') {
    return { status, statusDetail: share.statusDetail, nextAttemptAt: null, progress: receivingProgress(status, share.manifest.evidence, undefined) }
  }
  const sizes = chunkSizes(share.manifest.evidence)
  const [jobs, delivered] = await Promise.all([ctx.store.listJobs(share.id), ctx.store.deliveredChunks(share.senderOrg, [...sizes.keys()])])
  return { ...reportedFetchStatus(jobs, share.statusDetail), progress: receivingProgress(status, share.manifest.evidence, delivered) }
}

/**
 * A share being received reads `retrying` while its fetch job failed and will run again,
 * `failed` when its last fetch job is dead and none will run, `receiving` otherwise.
 */
export function reportedFetchStatus(
  jobs: readonly JobRecord[],
  detail: string | null,
): { status: 'receiving' | 'retrying' | 'failed'; statusDetail: string | null; nextAttemptAt: number | null } {
  const live = liveJob(jobs, JOB.fetch)
  if (live !== undefined) {
    return live.lastError === null || live.state === 'running'
      ? { status: 'receiving', statusDetail: detail, nextAttemptAt: null }
      : { status: 'retrying', statusDetail: live.lastError, nextAttemptAt: live.runAt }
  }
  const last = jobs.filter((job) => job.kind === JOB.fetch).at(-1)
  if (last?.state === 'dead') return { status: 'failed', statusDetail: last.lastError ?? detail, nextAttemptAt: null }
  return { status: 'receiving', statusDetail: detail, nextAttemptAt: null }
}

/**
 * Chunks and bytes of the revision being received: while receiving, those its sender delivered
 * (`delivered`) out of every distinct chunk of the manifest; once complete, all of them.
 */
export function receivingProgress(
  status: InboundStatus,
  evidence: readonly ChunkedItem[],
  delivered: ReadonlySet<string> | undefined,
): TransferProgress<ReceivingPhase> {
  const sizes = chunkSizes(evidence)
  let bytesTotal = 0
  let chunksDone = 0
  let bytesDone = 0
  for (const [digest, size] of sizes) {
    bytesTotal += size
    if (status === 'complete' || delivered?.has(digest) === true) {
      chunksDone += 1
      bytesDone += size
    }
  }
  const phase: ReceivingPhase = status === 'complete' ? 'done' : chunksDone < sizes.size ? 'transferring' : 'verifying'
  return { phase, chunksDone, chunksTotal: sizes.size, bytesDone, bytesTotal }
}
