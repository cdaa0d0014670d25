/**
 * The persistent jobs of the exchange (SPEC.md §16): the sender's offer, the receiver's chunk
 * pull and its receipt. Each handler is idempotent and resumable — it reads the current state
 * from the store, does what is still missing and records the outcome — so a crash, a restart
 * or a retry at any point ends in the same place.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { DIGEST_PREFIX, PROTOCOL_VERSION, signReceipt, type CaseManifest, type DeliveryReceipt, type EvidenceItem } from '#protocol'
import type { NodeContext } from '../context.ts'
import { partnerActor, SYSTEM_ACTOR } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { JOB, type ExchangeJobKind } from '../jobs/kinds.ts'
import { newJobRecord } from '../jobs/new_job_record.ts'
import { PeerRefusal, PeerUnreachable } from '../peer/errors.ts'
import type { PeerClient } from '../peer/peer_client.ts'
import type { BlobStore } from '../store/blob_store.ts'
import type { InboundShareRecord, MetadataStore, OutboundStatus, PartnerRecord } from '../store/metadata_store.ts'
import { openChunks } from '../cases/evidence.ts'
import { storedReceipt } from '../sending/accept_receipt.ts'
import { fetchPendingRevisions } from './revision_fetch.ts'
import { offerInOrder } from '../sending/revisions.ts'

/** Longest a receipt is valid; it is re-signed if it expires before the sender takes it. */
export const RECEIPT_LIFETIME_SECONDS = 86_400

/** Existence checks run this many at a time. */
const HAS_BATCH = 64

type ReceiptProblem = NonNullable<DeliveryReceipt['problem']>

/** The distinct chunk digests of a manifest, in manifest order. */
function distinctChunks(manifest: CaseManifest): string[] {
  const digests = new Set<string>()
  for (const item of manifest.evidence) for (const chunk of item.chunks) digests.add(chunk)
  return [...digests]
}

/** CW-FED-003: the distinct chunk digests of `manifest` that `blobs` does not hold yet. */
export async function neededChunks(blobs: BlobStore, manifest: CaseManifest): Promise<string[]> {
  const digests = distinctChunks(manifest)
  const needed: string[] = []
  for (let start = 0; start < digests.length; start += HAS_BATCH) {
    const batch = digests.slice(start, start + HAS_BATCH)
    const present = await Promise.all(batch.map((digest) => blobs.has(digest)))
    batch.forEach((digest, index) => {
      if (!present[index]) needed.push(digest)
    })
  }
  return needed
}

/** What the exchange jobs report (the node's metrics implement it). */
export interface ExchangeObserver {
  /** The fetch job stored `bytes` of a chunk pulled from `peerOrg` (its digest matched). */
  chunkStored(peerOrg: string, bytes: number): void
}

/** Counts the bytes of `body` as they pass. */
async function* counted(body: AsyncIterable<Uint8Array>, count: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const piece of body) {
    count.bytes += piece.byteLength
    yield piece
  }
}

/** The handler of each exchange job kind, for the job runner. */
export function exchangeJobHandlers(ctx: NodeContext, peer: PeerClient, observer?: ExchangeObserver): Record<ExchangeJobKind, JobHandler> {
  const seconds = () => Math.floor(ctx.clock.now().getTime() / 1000)

  /** The enabled partner `org`, or a retryable error: an admin may enable it again. */
  async function enabledPartner(org: string): Promise<PartnerRecord> {
    const partner = await ctx.store.getPartner(org)
    if (partner === undefined || !partner.enabled || partner.trustOnly) throw new Error(`partner ${org} is not an enabled partner`)
    return partner
  }

  /** Sets an outbound share's status if it still is one of `from` at `revision` (a receipt may have come first). */
  async function moveOutbound(id: string, revision: number, from: readonly OutboundStatus[], to: OutboundStatus, code: string | null, detail: string | null) {
    await ctx.store.transaction(async (tx) => {
      const share = await tx.getOutboundShare(id)
      if (share === undefined || share.revision !== revision || !from.includes(share.status)) return
      if (share.status === to && share.statusCode === code && share.statusDetail === detail) return
      await tx.updateOutboundStatus(id, to, code, detail, seconds())
    })
  }

  /** Sender: POST the latest revision's manifest to the partner (EP-1). */
  const offer: JobHandler = async (job, signal) => {
    const share = await ctx.store.getOutboundShare(job.ref)
    if (share === undefined) throw new PermanentJobError(`no outbound share ${job.ref}`)
    const log = ctx.log.child({ peerOrg: share.partnerOrg, shareId: share.id, revision: share.revision })
    if ((share.status !== 'processing' && share.status !== 'failed') || share.expiresAt <= seconds()) {
      log.info({ status: share.status }, 'share no longer in flight: offer dropped')
      return
    }
    const revision = await ctx.store.getOutboundRevision(share.id, share.revision)
    if (revision === undefined) throw new PermanentJobError(`no revision ${share.revision} of outbound share ${share.id}`)
    const inFlight: OutboundStatus[] = ['processing', 'failed']
    try {
      const partner = await enabledPartner(share.partnerOrg)
      // CW-REVN-004: revisions the partner lacks are offered again in order first.
      const { status, answer } = await offerInOrder(ctx, peer, partner, share, revision, signal)
      log.info({ answer: status, needed: answer.needed.length }, 'offer accepted by partner')
      await moveOutbound(share.id, share.revision, ['failed'], 'processing', null, null)
      if (status === 202) {
        await ctx.record({ type: 'share.offered', caseId: share.caseId, actor: SYSTEM_ACTOR, shareId: share.id, partner: share.partnerOrg, revision: share.revision })
      }
    } catch (error) {
      if (signal.aborted) throw error
      if (error instanceof PeerRefusal && !error.retryable) {
        log.warn({ code: error.code, status: error.status }, 'offer refused by partner')
        await moveOutbound(share.id, share.revision, inFlight, 'rejected', error.code, error.detail)
        await ctx.record({
          type: 'share.rejected',
          caseId: share.caseId,
          actor: partnerActor(share.partnerOrg),
          shareId: share.id,
          partner: share.partnerOrg,
          revision: share.revision,
          code: error.code,
        })
        throw new PermanentJobError(error.message, { cause: error })
      }
      const code = (error as { code?: unknown }).code
      await moveOutbound(share.id, share.revision, inFlight, 'failed', typeof code === 'string' ? code : null, (error as Error).message)
      await ctx.record({ type: 'share.failed', caseId: share.caseId, actor: SYSTEM_ACTOR, shareId: share.id, partner: share.partnerOrg, error: (error as Error).message })
      throw error
    }
  }

  /** Receiver: pull the chunks still missing, verify every item, then sign and queue the receipt (EP-2). */
  const fetch: JobHandler = async (job, signal) => {
    // A newer revision may arrive while one is pulled: go round until the stored one is finished.
    for (;;) {
      const inbound = await ctx.store.getInboundShare(job.ref)
      if (inbound === undefined) throw new PermanentJobError(`no inbound share ${job.ref}`)
      if (inbound.status !== 'receiving') return
      const log = ctx.log.child({ peerOrg: inbound.senderOrg, shareId: inbound.shareId, revision: inbound.revision })
      if (inbound.expiresAt <= seconds()) {
        await updateInbound(ctx.store, inbound, (current) => ({ ...current, status: 'expired' }))
        log.info('share expired while receiving')
        return
      }
      const partner = await enabledPartner(inbound.senderOrg)
      await pullChunks(inbound, partner, signal, log)
      signal.throwIfAborted()

      // spec: CW-FED-008, CW-REC-002 — every item's bytes must hash to its whole-file digest.
      const problem = await checkItems(inbound.manifest, signal)
      const now = seconds()
      if (inbound.expiresAt <= now) continue
      const receiptJws = await issueReceipt(inbound, problem, now)
      const finished = await updateInbound(ctx.store, inbound, async (current, tx) => {
        await tx.enqueueJob(newJobRecord(JOB.receipt, current.id, { revision: current.revision }, now))
        return { ...current, status: problem === undefined ? 'complete' : 'rejected', statusDetail: problem?.detail ?? null, completedAt: now, receiptJws }
      })
      if (finished) {
        const about = { caseId: inbound.id, actor: SYSTEM_ACTOR, sender: inbound.senderOrg, shareId: inbound.shareId, revision: inbound.revision }
        if (problem === undefined) {
          log.info('revision received and verified')
          const bytes = inbound.manifest.evidence.reduce((sum, item) => sum + item.size, 0)
          await ctx.record({ type: 'inbound.completed', ...about, bytes })
        } else {
          log.warn({ code: problem.code }, 'revision rejected after its chunks were received')
          await ctx.record({ type: 'inbound.rejected', ...about, code: problem.code })
        }
        await ctx.jobs.enqueue(JOB.receipt, inbound.id, { revision: inbound.revision })
        return
      }
    }
  }

  /** Pulls every chunk of `inbound` not yet stored, `parallelChunks` at a time; throws if any is still missing. */
  async function pullChunks(inbound: InboundShareRecord, partner: PartnerRecord, signal: AbortSignal, log: Logger): Promise<void> {
    const limits = chunkLimits(inbound.manifest)
    const needed = await neededChunks(ctx.blobs, inbound.manifest)
    let failed = 0
    let mismatched = 0
    let firstError: unknown
    let gone: PeerRefusal | undefined
    // An unreachable sender ends the round at once: the job retries with back-off, instead of
    // trying (and logging) every remaining chunk against a peer that is down.
    let unreachable = false
    await forEachLimit(needed, ctx.config.transfers.parallelChunks, async (digest) => {
      if (signal.aborted || gone !== undefined || unreachable) return
      try {
        const body = await peer.fetchChunk(partner, inbound.shareId, digest, signal)
        const count = { bytes: 0 }
        try {
          // spec: CW-FED-007 — hashed while it arrives, visible only if it matches.
          await ctx.blobs.put(digest, observer === undefined ? body : counted(body, count), { maxBytes: limits.get(digest)! })
        } finally {
          body.destroy()
        }
        observer?.chunkStored(partner.org, count.bytes)
      } catch (error) {
        if (signal.aborted) return
        failed += 1
        firstError ??= error
        const code = (error as { code?: unknown }).code
        if (error instanceof PeerRefusal && (code === 'CW_ERR_SHARE_REVOKED' || code === 'CW_ERR_SHARE_EXPIRED')) gone = error
        if (error instanceof PeerUnreachable || (error instanceof PeerRefusal && code === 'CW_ERR_RATE_LIMITED')) {
          if (!unreachable) log.warn({ code, err: error }, 'sender unreachable or busy: stopping this round')
          unreachable = true
          return
        }
        if (code === 'CW_ERR_CHUNK_DIGEST_MISMATCH') {
          mismatched += 1
          log.warn({ digest, code }, 'chunk bytes do not match their digest: discarded, will fetch again')
        } else {
          log.warn({ digest, code, err: error }, 'chunk fetch failed')
        }
      }
    })
    signal.throwIfAborted()
    if (gone !== undefined) {
      await updateInbound(ctx.store, inbound, (current) => ({ ...current, statusDetail: `sender answered ${gone!.code}` }))
      throw new PermanentJobError(gone.message, { cause: gone })
    }
    if (failed > 0) {
      const summary = `${failed} of ${needed.length} chunks not stored (${mismatched} digest mismatches)`
      throw new Error(`${summary}; first: ${(firstError as Error)?.message ?? String(firstError)}`, { cause: firstError })
    }
    if (needed.length > 0) log.info({ chunks: needed.length }, 'chunks stored')
  }

  /** The first item whose bytes do not hash to its digest, as a receipt problem; undefined when all match. */
  async function checkItems(manifest: CaseManifest, signal: AbortSignal): Promise<ReceiptProblem | undefined> {
    const checked = new Set<string>()
    for (const item of manifest.evidence) {
      if (checked.has(item.digest)) continue
      signal.throwIfAborted()
      if (!(await itemMatches(item))) {
        return { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', detail: `evidence "${item.id}": its chunks do not make up its size and digest` }
      }
      checked.add(item.digest)
    }
    return undefined
  }

  /** Streams the item's chunks in order through SHA-256. */
  async function itemMatches(item: EvidenceItem): Promise<boolean> {
    const hash = createHash('sha256')
    let size = 0
    for await (const piece of openChunks(ctx, item.chunks)) {
      hash.update(piece as Uint8Array)
      size += (piece as Uint8Array).byteLength
    }
    return size === item.size && DIGEST_PREFIX + hash.digest('hex') === item.digest
  }

  /** spec: CW-REC-001, CW-SIG-014 — signed by us to the sender, naming the manifest digest; exp ≤ a day and ≤ the share's expiry. */
  async function issueReceipt(inbound: InboundShareRecord, problem: ReceiptProblem | undefined, now: number): Promise<string> {
    const receipt: DeliveryReceipt = {
      cwv: PROTOCOL_VERSION,
      iss: ctx.identity.org,
      aud: inbound.senderOrg,
      iat: now,
      exp: Math.max(now + 1, Math.min(now + RECEIPT_LIFETIME_SECONDS, inbound.expiresAt)),
      jti: randomUUID(),
      share: inbound.shareId,
      revision: inbound.revision,
      manifest: inbound.manifestDigest,
      status: problem === undefined ? 'delivered' : 'rejected',
    }
    if (problem !== undefined) receipt.problem = problem
    return signReceipt(receipt, ctx.identity.signer)
  }

  /** Receiver: POST the stored receipt to the sender until it takes it (EP-3). */
  const receipt: JobHandler = async (job, signal) => {
    const inbound = await ctx.store.getInboundShare(job.ref)
    if (inbound === undefined) throw new PermanentJobError(`no inbound share ${job.ref}`)
    if (inbound.receiptJws === null) return
    const log = ctx.log.child({ peerOrg: inbound.senderOrg, shareId: inbound.shareId, revision: inbound.revision })
    const partner = await enabledPartner(inbound.senderOrg)
    try {
      await peer.sendReceipt(partner, inbound.receiptJws, signal)
      log.info('receipt accepted by sender')
    } catch (error) {
      if (signal.aborted || !(error instanceof PeerRefusal) || error.retryable) throw error
      if (error.code === 'CW_ERR_EXPIRED') {
        // The sender was away longer than the receipt lives: sign it afresh, retry.
        const previous = storedReceipt(inbound.receiptJws)
        const fresh = await issueReceipt(inbound, previous.problem, seconds())
        await updateInbound(ctx.store, inbound, (current) => ({ ...current, receiptJws: fresh }))
        log.info('receipt expired before the sender took it: re-signed')
        throw error
      }
      log.warn({ code: error.code, status: error.status }, 'receipt refused by sender')
      throw new PermanentJobError(error.message, { cause: error })
    }
  }

  // CW-REVN-005: after the applied revision, the chunks and receipts of pending revisions.
  const fetchAll: JobHandler = async (job, signal) => {
    await fetch(job, signal)
    await fetchPendingRevisions(ctx, peer, job.ref, signal, observer)
  }

  return { offer, fetch: fetchAll, receipt }
}

/**
 * Replaces an inbound share with `change(current)` in one transaction, if it is still the same
 * revision (same manifest) and in the same status it was read in. Returns whether it did.
 */
async function updateInbound(
  store: MetadataStore,
  read: InboundShareRecord,
  change: (current: InboundShareRecord, tx: MetadataStore) => InboundShareRecord | Promise<InboundShareRecord>,
): Promise<boolean> {
  return store.transaction(async (tx) => {
    const current = await tx.getInboundShare(read.id)
    if (current === undefined || current.manifestDigest !== read.manifestDigest || current.status !== read.status) return false
    await tx.updateInboundShare(await change(current, tx))
    return true
  })
}

/** The largest chunk size any item listing a digest allows for it. */
function chunkLimits(manifest: CaseManifest): Map<string, number> {
  const limits = new Map<string, number>()
  for (const item of manifest.evidence) {
    for (const digest of item.chunks) limits.set(digest, Math.max(limits.get(digest) ?? 0, item.chunkSize))
  }
  return limits
}

/** Runs `work` over `items`, at most `limit` at a time. `work` must not throw. */
async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
