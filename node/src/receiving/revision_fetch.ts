/**
 * Receiver: the chunks and receipts of pending revisions (SPEC.md CW-REVN-005). A revision
 * received while another is applied is kept apart; its chunks are pulled in the background
 * (so applying it later is fast), every item is checked against its whole-file digest, and
 * the signed receipt — `delivered` = received and verified, not applied — is sent to the
 * sender. Runs inside the fetch job of the inbound share, after its applied revision; like the
 * other exchange jobs it is idempotent and resumable: it reads the state, does what is left.
 *
 * @module
 */
import type { Logger } from 'pino'
import type { CaseManifest } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR } from '../events.ts'
import { PermanentJobError } from '../jobs/job_runner.ts'
import { enabledPartner } from '../partners/partners.ts'
import { PeerRefusal } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import type { InboundRevisionRecord, InboundShareRecord, PartnerRecord } from '../store/metadata_store.ts'
import { chunksToPull } from './possession.ts'
import { forEachPull, pullUnit, type PullTarget } from '../peer/chunk_pull.ts'
import { checkItems, issueReceipt, itemIdentity, type ReceiptProblem } from './receipts.ts'
import { shareExpiryOf } from './share_expiry.ts'
import { planChunks } from '../peer/chunk_pool.ts'
import { crashPoint } from '../operations/crash_points.ts'
import { StreamedItemCheck } from './verification/streamed_item_check.ts'

interface Observer {
  chunkStored(peerOrg: string, bytes: number): void
}

/** Pulls, verifies and answers every pending revision of inbound share `inboundId` not yet answered. */
export async function fetchPendingRevisions(ctx: NodeContext, peer: PeerClient, inboundId: string, signal: AbortSignal, observer?: Observer): Promise<void> {
  const inbound = await ctx.store.inboundShares.get(inboundId)
  if (inbound === undefined || inbound.status === 'revoked') return
  const revisions = await ctx.store.inboundShares.listRevisions(inboundId)
  const open = revisions.filter((revision) => revision.status !== 'superseded' && (revision.transfer === 'receiving' || !revision.receiptSent))
  if (open.length === 0) return
  const partner = await enabledPartner(ctx, inbound.senderOrg)
  for (const pending of open) {
    signal.throwIfAborted()
    let current = pending
    if (current.transfer === 'receiving') {
      const log = ctx.log.child({ peerOrg: inbound.senderOrg, shareId: inbound.shareId, revision: current.revision, pending: true })
      const verifiedInStream = await pullChunks(ctx, peer, partner, inbound, current.manifest, signal, log, observer)
      const problem = await checkItems(ctx, current.manifest, signal, new Set([...verifiedItems(inbound, revisions), ...verifiedInStream]))
      crashPoint('revision-fetch.checked')
      const now = Math.floor(ctx.clock.now().getTime() / 1000)
      const receiptJws = await issueReceipt(ctx, subjectOf(inbound, current), problem, now)
      const verified: InboundRevisionRecord = { ...current, transfer: problem === undefined ? 'verified' : 'rejected', verifiedAt: now, receiptJws }
      current = verified
      // The outcome and its event commit together.
      await ctx.transaction(async (tx) => {
        await tx.store.inboundShares.updateRevision(verified)
        const about = { caseId: inbound.id, actor: SYSTEM_ACTOR, sender: inbound.senderOrg, shareId: inbound.shareId, revision: verified.revision }
        if (problem === undefined) {
          const bytes = verified.manifest.evidence.reduce((sum, item) => sum + item.size, 0)
          tx.record({ type: 'inbound.completed', ...about, bytes })
        } else {
          tx.record({ type: 'inbound.rejected', ...about, code: problem.code })
        }
      })
      crashPoint('revision-fetch.verified')
      if (problem === undefined) log.info('revision received and verified')
      else log.warn({ code: problem.code }, 'revision rejected after its chunks were received')
    }
    if (current.receiptJws !== null && !current.receiptSent) {
      try {
        await peer.sendReceipt(partner, current.receiptJws, signal)
        crashPoint('revision-fetch.receipt-sent')
      } catch (error) {
        if (signal.aborted || !(error instanceof PeerRefusal) || error.retryable) throw error
        if (error.code === 'CW_ERR_EXPIRED') {
          const problem: ReceiptProblem | undefined =
            current.transfer === 'rejected' ? { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', detail: 'an item does not match its digest' } : undefined
          const fresh = await issueReceipt(ctx, subjectOf(inbound, current), problem, Math.floor(ctx.clock.now().getTime() / 1000))
          await ctx.store.inboundShares.updateRevision({ ...current, receiptJws: fresh })
          throw error
        }
        ctx.log.warn({ code: error.code, revision: current.revision }, 'receipt of a pending revision refused by sender')
      }
      await ctx.store.inboundShares.updateRevision({ ...current, receiptSent: true })
    }
  }
}

async function pullChunks(
  ctx: NodeContext,
  peer: PeerClient,
  partner: PartnerRecord,
  inbound: InboundShareRecord,
  manifest: CaseManifest,
  signal: AbortSignal,
  log: Logger,
  observer?: Observer,
): Promise<Set<string>> {
  const plan = planChunks(manifest)
  // spec: CW-POS-003 — every chunk this partner has not delivered itself, held or not.
  const needed = await chunksToPull(ctx, partner.org, manifest)
  const streamed = new StreamedItemCheck(ctx.blobs, manifest, needed)
  let failure: unknown
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
    storedPoint: 'revision-fetch.chunk-stored',
    stored(_digest, bytes) {
      stored += 1
      storedBytes += bytes
      observer?.chunkStored(partner.org, bytes)
    },
    tap: (digest) => streamed.tap(digest),
  }
  // spec: CW-BAT-004, CW-BAT-006 — small chunks in batches when the partner serves them, the others on EP-2.
  const stopped = () => failure !== undefined
  await forEachPull(target, needed, ctx.config.transfers.parallelChunks, stopped, async (unit) => {
    if (stopped()) return
    try {
      await pullUnit(target, unit)
    } catch (error) {
      failure ??= error
    }
  })
  signal.throwIfAborted()
  if (needed.length > 0) {
    const summary = { chunks: stored, bytes: storedBytes, needed: needed.length, durationMs: Math.round(performance.now() - started) }
    if (failure === undefined) log.info(summary, 'chunks stored')
    else log.info({ ...summary, code: (failure as { code?: unknown }).code }, 'chunks stored in part')
  }
  if (failure !== undefined) {
    const code = (failure as { code?: unknown }).code
    if (failure instanceof PeerRefusal && (code === 'CW_ERR_SHARE_REVOKED' || code === 'CW_ERR_SHARE_EXPIRED')) {
      throw new PermanentJobError(failure.message, { cause: failure })
    }
    throw failure as Error
  }
  return streamed.verified()
}

/** The items this node verified in the share's earlier revisions: the applied one if complete, and every pending one verified. */
function verifiedItems(inbound: InboundShareRecord, revisions: readonly InboundRevisionRecord[]): Set<string> {
  const verified = new Set<string>()
  const add = (manifest: CaseManifest) => {
    for (const item of manifest.evidence) verified.add(itemIdentity(item))
  }
  if (inbound.status === 'complete') add(inbound.manifest)
  for (const revision of revisions) if (revision.transfer === 'verified') add(revision.manifest)
  return verified
}

/** spec: CW-REC-001 — the receipt of a pending revision names its number and its manifest digest. */
function subjectOf(inbound: InboundShareRecord, revision: InboundRevisionRecord) {
  return {
    senderOrg: inbound.senderOrg,
    shareId: inbound.shareId,
    revision: revision.revision,
    manifestDigest: revision.manifestDigest,
    // spec: CW-SIG-014 — the receipt's exp is bounded by the share's expiry for this revision.
    expiresAt: shareExpiryOf(revision.manifest),
  }
}
