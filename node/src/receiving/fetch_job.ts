/**
 * Receiver: the fetch job of an inbound share (SPEC.md §16, EP-2) — pull the chunks the sender
 * has not delivered yet (CW-POS-003), verify every item, then store the signed receipt and queue its sending, in one
 * transaction with the share's new status and its event. Then the same for the revisions held
 * pending (`revision_fetch.ts`). Idempotent and resumable: it reads the current state, does
 * what is still missing and records the outcome, so a crash, a restart or a retry at any point
 * ends in the same place.
 *
 * @module
 */
import type { Logger } from 'pino'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { JOB } from '../jobs/kinds.ts'
import { enabledPartner } from '../partners/partners.ts'
import { PeerRefusal, PeerUnreachable } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import type { InboundShareRecord, PartnerRecord } from '../store/metadata_store.ts'
import { updateInbound } from './inbound_state.ts'
import { chunksToPull } from './possession.ts'
import { forEachPull, pullUnit, type PullTarget } from '../peer/chunk_pull.ts'
import { checkItems, issueReceipt } from './receipts.ts'
import { fetchPendingRevisions } from './revision_fetch.ts'
import { planChunks } from '../peer/chunk_pool.ts'
import { crashPoint } from '../operations/crash_points.ts'
import { StreamedItemCheck } from './verification/streamed_item_check.ts'

/** What the fetch job reports (the node's metrics implement it). */
export interface ExchangeObserver {
  /** The fetch job stored `bytes` of a chunk pulled from `peerOrg` (its digest matched). */
  chunkStored(peerOrg: string, bytes: number): void
}

/** The handler of the `fetch` job (ref = inbound share id). */
export function fetchJobHandler(ctx: NodeContext, peer: PeerClient, observer?: ExchangeObserver): JobHandler {
  const seconds = () => Math.floor(ctx.clock.now().getTime() / 1000)

  const fetch: JobHandler = async (job, signal) => {
    // A newer revision may arrive while one is pulled: go round until the stored one is finished.
    for (;;) {
      const inbound = await ctx.store.inboundShares.get(job.ref)
      if (inbound === undefined) throw new PermanentJobError(`no inbound share ${job.ref}`)
      if (inbound.status !== 'receiving') return
      const log = ctx.log.child({ peerOrg: inbound.senderOrg, shareId: inbound.shareId, revision: inbound.revision })
      if (inbound.expiresAt <= seconds()) {
        await updateInbound(ctx, inbound, (current) => ({ ...current, status: 'expired' }))
        log.info('share expired while receiving')
        return
      }
      crashPoint('fetch.started')
      const partner = await enabledPartner(ctx, inbound.senderOrg)
      const verifiedInStream = await pullChunks(inbound, partner, signal, log)
      signal.throwIfAborted()
      crashPoint('fetch.chunks-pulled')

      // spec: CW-FED-008, CW-REC-002 — every item's bytes must hash to its whole-file digest
      // (those hashed in order as this round stored their chunks are not read again).
      const problem = await checkItems(ctx, inbound.manifest, signal, verifiedInStream)
      crashPoint('verify.checked')
      const now = seconds()
      if (inbound.expiresAt <= now) continue
      const receiptJws = await issueReceipt(
        ctx,
        {
          senderOrg: inbound.senderOrg,
          shareId: inbound.shareId,
          revision: inbound.revision,
          manifestDigest: inbound.manifestDigest,
          expiresAt: inbound.expiresAt,
        },
        problem,
        now,
      )
      crashPoint('receipt.signed')
      const finished = await updateInbound(ctx, inbound, async (current, tx) => {
        // The receipt job, the new status and the event commit together.
        await ctx.jobs.enqueue(tx, JOB.receipt, current.id, { revision: current.revision })
        const about = { caseId: current.id, actor: SYSTEM_ACTOR, sender: current.senderOrg, shareId: current.shareId, revision: current.revision }
        if (problem === undefined) {
          const bytes = current.manifest.evidence.reduce((sum, item) => sum + item.size, 0)
          tx.record({ type: 'inbound.completed', ...about, bytes })
        } else {
          tx.record({ type: 'inbound.rejected', ...about, code: problem.code })
        }
        return { ...current, status: problem === undefined ? 'complete' : 'rejected', statusDetail: problem?.detail ?? null, completedAt: now, receiptJws }
      })
      if (finished) {
        crashPoint('fetch.completed')
        if (problem === undefined) log.info('revision received and verified')
        else log.warn({ code: problem.code }, 'revision rejected after its chunks were received')
        return
      }
    }
  }

  /**
   * Pulls every chunk of `inbound` not yet stored, several at a time ({@link forEachPull}: small
   * ones in batches); throws if any is still missing. Resolves to the items whose whole-file
   * digest was checked as their chunks were stored ({@link StreamedItemCheck}).
   */
  async function pullChunks(inbound: InboundShareRecord, partner: PartnerRecord, signal: AbortSignal, log: Logger): Promise<Set<string>> {
    const plan = planChunks(inbound.manifest)
    // spec: CW-POS-003 — every chunk this partner has not delivered itself, held or not.
    const needed = await chunksToPull(ctx, partner.org, inbound.manifest)
    const streamed = new StreamedItemCheck(ctx.blobs, inbound.manifest, needed)
    let failed = 0
    let mismatched = 0
    let firstError: unknown
    let gone: PeerRefusal | undefined
    // An unreachable sender ends the round at once: the job retries with back-off, instead of
    // trying (and logging) every remaining chunk against a peer that is down.
    let unreachable = false
    // The refusal with the longest Retry-After: the job's next round waits for it (CW-FED-017).
    let waitFor: PeerRefusal | undefined
    // One info line per round (`chunks stored`); each chunk is only counted here.
    const started = performance.now()
    let stored = 0
    let storedBytes = 0
    const target: PullTarget = {
      ctx,
      peer,
      partner,
      shareId: inbound.shareId,
      plan,
      signal,
      storedPoint: 'fetch.chunk-stored',
      stored(_digest, bytes) {
        stored += 1
        storedBytes += bytes
        observer?.chunkStored(partner.org, bytes)
      },
      tap: (digest) => streamed.tap(digest),
    }
    // spec: CW-BAT-004, CW-BAT-006 — small chunks in batches when the partner serves them, the others on EP-2.
    const stopped = () => signal.aborted || gone !== undefined || unreachable
    await forEachPull(target, needed, ctx.config.transfers.parallelChunks, stopped, async (unit) => {
      if (stopped()) return
      const tally = { stored: 0 }
      try {
        await pullUnit(target, unit, tally)
      } catch (error) {
        if (signal.aborted) return
        // The chunks of the pull that are not stored (a batch keeps those that were).
        failed += Math.max(1, unit.digests.length - tally.stored)
        firstError ??= error
        const code = (error as { code?: unknown }).code
        if (error instanceof PeerRefusal && (code === 'CW_ERR_SHARE_REVOKED' || code === 'CW_ERR_SHARE_EXPIRED')) gone = error
        if (error instanceof PeerRefusal && error.retryAfterMs !== undefined && error.retryAfterMs > (waitFor?.retryAfterMs ?? -1)) waitFor = error
        if (error instanceof PeerUnreachable || (error instanceof PeerRefusal && code === 'CW_ERR_RATE_LIMITED')) {
          if (!unreachable) log.warn({ code, err: error }, 'sender unreachable or busy: stopping this round')
          unreachable = true
          return
        }
        const about = unit.batch ? { batch: unit.digests.length, first: unit.digests[0] } : { digest: unit.digests[0] }
        if (code === 'CW_ERR_CHUNK_DIGEST_MISMATCH') {
          mismatched += 1
          log.warn({ ...about, code }, 'chunk bytes do not match their digest: discarded, will fetch again')
        } else {
          log.warn({ ...about, code, err: error }, 'chunk fetch failed')
        }
      }
    })
    signal.throwIfAborted()
    if (needed.length > 0) {
      const summary = { chunks: stored, bytes: storedBytes, failed, needed: needed.length, durationMs: Math.round(performance.now() - started) }
      if (failed === 0) log.info(summary, 'chunks stored')
      else log.info(summary, 'chunks stored in part')
    }
    if (gone !== undefined) {
      await updateInbound(ctx, inbound, (current) => ({ ...current, statusDetail: `sender answered ${gone!.code}` }))
      throw new PermanentJobError(gone.message, { cause: gone })
    }
    if (failed > 0) {
      const summary = `${failed} of ${needed.length} chunks not stored (${mismatched} digest mismatches)`
      throw new Error(`${summary}; first: ${(firstError as Error)?.message ?? String(firstError)}`, { cause: waitFor ?? firstError })
    }
    return streamed.verified()
  }

  // CW-REVN-005: after the applied revision, the chunks and receipts of pending revisions.
  return async (job, signal) => {
    await fetch(job, signal)
    await fetchPendingRevisions(ctx, peer, job.ref, signal, observer)
  }
}
