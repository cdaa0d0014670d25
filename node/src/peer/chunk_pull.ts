/**
 * Receiver: one pull of the fetch loop (`receiving/fetch_job.ts`, `receiving/revision_fetch.ts`) — one chunk on EP-2,
 * or a batch of small chunks on EP-20 (CW-BAT-004..006) — each chunk stored through the
 * blob store, which hashes it and makes it visible only if it matches its digest (CW-FED-007),
 * and only then recorded as delivered by the partner (CW-POS-005). The state and its order are
 * the same whichever way the bytes came.
 *
 * A batch answer is cut by the lengths the manifest gives and its chunks (at most one batch's
 * bytes, held until stored) are made durable together: the blob store hashes each and syncs the
 * group at once (`BlobStore.putBatch`), then the chunks it stored are recorded as delivered in
 * one commit. Syncing each chunk's file and directory and committing its record one chunk at a
 * time was most of what ten thousand small items cost the receiver. Nothing is recorded before
 * its bytes are durable, nor counted before its record is. A chunk whose bytes do not match is
 * discarded, the others of the batch are kept, and the pull fails with the first error (the fetch
 * loop retries it as it retries a failed EP-2 pull, for the chunks still missing).
 *
 * @module
 */
import { splitChunkBatch } from '#protocol'
import type { NodeContext } from '../context.ts'
import { crashPoint, type CrashPointName } from '../operations/crash_points.ts'
import { forEachUnit, planUnits, type ChunkPlan, type ChunkUnit } from './chunk_pool.ts'
import { PeerRefusal, PeerUnreachable } from './errors.ts'
import type { PeerClient } from './peer_client.ts'
import type { BlobPut } from '../store/blob_store.ts'
import type { ChunkTap } from '../receiving/verification/streamed_item_check.ts'
import type { PartnerRecord } from '../store/metadata_store.ts'
import { recordDelivered, recordDeliveredGroup } from '../receiving/possession.ts'

export interface PullTarget {
  ctx: NodeContext
  peer: PeerClient
  partner: PartnerRecord
  shareId: string
  plan: ChunkPlan
  signal: AbortSignal
  /** Reached after each chunk is stored and recorded. */
  storedPoint: CrashPointName
  /** Told of each chunk stored and recorded, with its size. */
  stored(digest: string, bytes: number): void
  /** Given each chunk's bytes as they arrive, and whether the blob store stored them (the receiver's item check: `StreamedItemCheck`). */
  tap?(digest: string): ChunkTap | undefined
}

/**
 * Chunks planned at once. Whether the partner serves batches is asked again for each window: a
 * sender too busy to answer the probe when a pull of 100,000 small chunks began (issue 13: its
 * event loop held for seconds by a large share) once had every one of them pulled alone on EP-2;
 * now only the first window is, and its answers teach the partner's features for the next.
 */
export const PLAN_WINDOW_CHUNKS = 4_096

/**
 * spec: CW-BAT-004 — runs `work` over the pulls that bring `needed` from the target's partner,
 * `parallelChunks` at a time ({@link forEachUnit}): small chunks in batches when the partner's
 * latest answer listed `chunk-batch`, every other chunk on EP-2. Planned window by window
 * ({@link PLAN_WINDOW_CHUNKS}); stops before the next window once `stopped()` is true.
 */
export async function forEachPull(
  target: Pick<PullTarget, 'peer' | 'partner' | 'plan' | 'signal'>,
  needed: readonly string[],
  parallelChunks: number,
  stopped: () => boolean,
  work: (unit: ChunkUnit) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < needed.length && !stopped() && !target.signal.aborted; start += PLAN_WINDOW_CHUNKS) {
    const batches = (await target.peer.chunkBatchesServed?.(target.partner, target.signal)) ?? false
    await forEachUnit(planUnits(needed.slice(start, start + PLAN_WINDOW_CHUNKS), target.plan, batches), parallelChunks, work)
  }
}

/** Counts the bytes of `body` as they pass, and shows each piece to `tap`. */
async function* counted(body: AsyncIterable<Uint8Array>, count: { bytes: number }, tap: ChunkTap | undefined): AsyncGenerator<Uint8Array> {
  for await (const piece of body) {
    count.bytes += piece.byteLength
    tap?.piece(piece)
    yield piece
  }
}

/**
 * Pulls `unit` and stores its chunks, counting them in `tally`. Throws the first failure, after
 * every chunk of the unit that could be stored is stored and recorded.
 */
export async function pullUnit(target: PullTarget, unit: ChunkUnit, tally: { stored: number } = { stored: 0 }): Promise<void> {
  const counting: PullTarget = {
    ...target,
    stored(digest, bytes) {
      tally.stored += 1
      target.stored(digest, bytes)
    },
  }
  const fetchBatch = target.peer.fetchChunkBatch
  if (!unit.batch || fetchBatch === undefined) return pullEach(counting, unit.digests)
  return pullBatch(counting, unit, fetchBatch)
}

/** EP-20 for the chunks of `unit`; a `404` falls back to EP-2 for each. */
async function pullBatch(target: PullTarget, unit: ChunkUnit, fetchBatch: NonNullable<PeerClient['fetchChunkBatch']>): Promise<void> {
  // spec: CW-BAT-004 — by the partner's latest answer, which may have come since the round was planned.
  if (!((await target.peer.chunkBatchesServed?.(target.partner, target.signal)) ?? false)) return pullEach(target, unit.digests)
  let body: Awaited<ReturnType<typeof fetchBatch>>
  try {
    body = await fetchBatch(target.partner, target.shareId, unit.digests, target.signal)
  } catch (error) {
    // spec: CW-BAT-004 — a 404 is a partner without the route as much as a chunk it does not
    // serve: each chunk on EP-2, which tells which (and serves the others).
    if (error instanceof PeerRefusal && error.status === 404 && !target.signal.aborted) return pullEach(target, unit.digests)
    throw error
  }
  await storeBatch(target, unit, body)
}

/**
 * EP-2 for each of `digests` in turn; throws the first failure once all were tried — or at once
 * when the partner is unreachable or refuses for another reason than this chunk (a `429`, a
 * revoked share…): the rest would fail alike.
 */
async function pullEach(target: PullTarget, digests: readonly string[]): Promise<void> {
  let failure: { error: unknown } | undefined
  for (const digest of digests) {
    target.signal.throwIfAborted()
    try {
      await pullOne(target, digest)
    } catch (error) {
      if (error instanceof PeerUnreachable || (error instanceof PeerRefusal && error.status !== 404)) throw error
      failure ??= { error }
    }
  }
  if (failure !== undefined) throw failure.error
}

/** One chunk on EP-2. */
async function pullOne({ ctx, peer, partner, shareId, plan, signal, storedPoint, stored, tap }: PullTarget, digest: string): Promise<void> {
  const body = await peer.fetchChunk(partner, shareId, digest, signal)
  const count = { bytes: 0 }
  const chunkTap = tap?.(digest)
  try {
    // spec: CW-FED-007 — hashed while it arrives, visible only if it matches.
    await ctx.blobs.put(digest, counted(body, count, chunkTap), { maxBytes: plan.maxBytes.get(digest)! })
  } catch (error) {
    chunkTap?.failed()
    throw error
  } finally {
    body.destroy()
  }
  chunkTap?.stored()
  // spec: CW-POS-005 — only after the bytes matched and are stored.
  await recordDelivered(ctx, partner.org, digest)
  crashPoint(storedPoint)
  stored(digest, count.bytes)
}

/** spec: CW-BAT-003, CW-BAT-005 — the batch answer cut by the manifest's lengths, its chunks verified, made durable and recorded as a group. */
async function storeBatch(target: PullTarget, unit: ChunkUnit, body: AsyncIterable<Uint8Array> & { destroy(): void }): Promise<void> {
  const { ctx, partner, plan, storedPoint, stored } = target
  const expected = unit.digests.map((digest) => ({ digest, length: plan.lengths.get(digest)! }))
  const pieces: BlobPut[] = []
  let cut: { error: unknown } | undefined
  try {
    for await (const { digest, bytes } of splitChunkBatch(body, expected)) pieces.push({ digest, bytes, maxBytes: plan.maxBytes.get(digest)! })
  } catch (error) {
    // A body cut short or too long: the chunks that arrived whole are still stored (CW-BAT-005).
    cut = { error }
  } finally {
    body.destroy()
  }
  // spec: CW-FED-007 — hashed by the blob store, stored only if it matches; resolves once the stored ones are durable.
  const outcomes = await ctx.blobs.putBatch(pieces)
  const durable: BlobPut[] = []
  let failure: { error: unknown } | undefined
  outcomes.forEach((outcome, index) => {
    const piece = pieces[index]!
    const chunkTap = target.tap?.(piece.digest)
    if (outcome.status === 'fulfilled') {
      chunkTap?.piece(piece.bytes)
      chunkTap?.stored()
      durable.push(piece)
    } else {
      chunkTap?.failed()
      failure ??= { error: outcome.reason }
    }
  })
  if (durable.length > 0) {
    crashPoint('pull.batch-stored')
    // spec: CW-POS-005 — only after the bytes matched and are durable; the group in one commit.
    await recordDeliveredGroup(
      ctx,
      partner.org,
      durable.map(({ digest }) => digest),
    )
    for (const { digest, bytes } of durable) {
      crashPoint(storedPoint)
      stored(digest, bytes.byteLength)
    }
  }
  failure ??= cut
  if (failure !== undefined) throw failure.error
}
