/**
 * How many chunks of one share a receiver pulls at once.
 *
 * `transfers.parallelChunks` counts full-size chunks: a chunk smaller than its item's chunk
 * size (a small item's only chunk, a file's last one) counts for its fraction of one, so a case of ten thousand 16 KiB photos is pulled up to
 * {@link SMALL_CHUNKS_AT_ONCE} chunks at a time while a video's 4 MiB chunks still go
 * `parallelChunks` at a time. With four small chunks in flight, both nodes sat idle half the
 * time waiting on per-chunk round trips and fsyncs; sixteen halved the time to deliver them.
 *
 * With a partner that serves batched pulls (EP-20, CW-BAT-001..006), the small chunks are grouped
 * into batches ({@link planUnits}): one request brings up to {@link BATCH_MAX_CHUNKS} of them, and a
 * batch counts in the pool for the sum of its chunks' fractions.
 *
 * @module
 */
import { CHUNK_BATCH_LIMITS, chunkBatchLength, type CaseManifest } from '#protocol'

/** The most chunks in flight, however small they are. */
export const SMALL_CHUNKS_AT_ONCE = 16

/** What a receiver needs to know of each chunk digest a manifest lists, read in one pass. */
export interface ChunkPlan {
  /** The largest chunk size any item listing the digest allows for it: the most bytes to accept. */
  readonly maxBytes: ReadonlyMap<string, number>
  /** The fraction of a full-size chunk it is (of its item's `chunkSize`; the largest, if several items list it). */
  readonly weights: ReadonlyMap<string, number>
  /**
   * Its length in bytes as the manifest gives it (CW-MAN-002), what a batch answer must hold
   * for it (CW-BAT-003); `null` when items listing it disagree (it is then pulled alone, on EP-2).
   */
  readonly lengths: ReadonlyMap<string, number | null>
}

export function planChunks(manifest: CaseManifest): ChunkPlan {
  const maxBytes = new Map<string, number>()
  const weights = new Map<string, number>()
  const lengths = new Map<string, number | null>()
  for (const item of manifest.evidence) {
    item.chunks.forEach((digest, index) => {
      const length = chunkBatchLength(item.size, item.chunkSize, index)
      maxBytes.set(digest, Math.max(maxBytes.get(digest) ?? 0, item.chunkSize))
      weights.set(digest, Math.max(weights.get(digest) ?? 0, length / item.chunkSize))
      const known = lengths.get(digest)
      lengths.set(digest, known === undefined || known === length ? length : null)
    })
  }
  return { maxBytes, weights, lengths }
}

/** Chunks of at most this many bytes are pulled in batches from a partner that serves them. */
export const BATCH_CHUNK_MAX_BYTES = 64 * 1024
/** The most chunks in one batch this receiver asks for (the protocol allows {@link CHUNK_BATCH_LIMITS}`.maxChunks`). */
export const BATCH_MAX_CHUNKS = 64
/** The most bytes in one batch this receiver asks for (the protocol allows {@link CHUNK_BATCH_LIMITS}`.maxBytes`). */
export const BATCH_MAX_BYTES = Math.min(1024 * 1024, CHUNK_BATCH_LIMITS.maxBytes)

/** What one pull brings: one chunk on EP-2, or several small ones in one EP-20 batch. */
export interface ChunkUnit {
  readonly digests: readonly string[]
  /** True: pulled as one batch (EP-20); false: one chunk on EP-2. */
  readonly batch: boolean
  /** Its weight in the pool: the sum of its chunks' fractions of a full-size chunk. */
  readonly weight: number
}

/**
 * Groups `digests` into the pulls that bring them, in order: with `batches`, each run of chunks
 * of at most {@link BATCH_CHUNK_MAX_BYTES} whose length the manifest fixes goes into batches of
 * at most {@link BATCH_MAX_CHUNKS} chunks and {@link BATCH_MAX_BYTES} bytes; every other chunk
 * (and a batch of one) is pulled alone.
 */
export function planUnits(digests: readonly string[], plan: ChunkPlan, batches: boolean): ChunkUnit[] {
  const units: ChunkUnit[] = []
  let open: string[] = []
  let openBytes = 0
  let openWeight = 0
  const single = (digest: string): ChunkUnit => ({ digests: [digest], batch: false, weight: plan.weights.get(digest) ?? 1 })
  const close = (): void => {
    if (open.length === 1) units.push(single(open[0]!))
    else if (open.length > 1) units.push({ digests: open, batch: true, weight: openWeight })
    open = []
    openBytes = 0
    openWeight = 0
  }
  for (const digest of digests) {
    const length = plan.lengths.get(digest)
    if (!batches || length === undefined || length === null || length > BATCH_CHUNK_MAX_BYTES) {
      units.push(single(digest))
      continue
    }
    if (open.length >= BATCH_MAX_CHUNKS || openBytes + length > BATCH_MAX_BYTES) close()
    open.push(digest)
    openBytes += length
    openWeight += plan.weights.get(digest) ?? 1
  }
  close()
  return units
}

/** {@link forEachChunk} over pulls: a unit weighs the sum of its chunks' fractions. `work` must not throw. */
export async function forEachUnit(units: readonly ChunkUnit[], parallelChunks: number, work: (unit: ChunkUnit) => Promise<void>): Promise<void> {
  const keys = units.map((_, index) => String(index))
  const weights = new Map(units.map((unit, index) => [String(index), unit.weight]))
  await forEachChunk(keys, weights, parallelChunks, (key) => work(units[Number(key)]!))
}

/**
 * Runs `work` over `digests` in order, with at most `parallelChunks` full-size chunks' worth
 * (by `weights`; an unknown digest weighs one) and at most `max(parallelChunks,
 * SMALL_CHUNKS_AT_ONCE)` chunks in flight; one chunk always may start. `work` must not throw.
 */
export async function forEachChunk(
  digests: readonly string[],
  weights: ReadonlyMap<string, number>,
  parallelChunks: number,
  work: (digest: string) => Promise<void>,
): Promise<void> {
  const maxCount = Math.max(parallelChunks, SMALL_CHUNKS_AT_ONCE)
  let next = 0
  let inFlight = 0
  let weightInFlight = 0
  return new Promise<void>((resolve) => {
    const startMore = (): void => {
      while (next < digests.length && inFlight < maxCount) {
        const digest = digests[next]!
        const weight = weights.get(digest) ?? 1
        if (inFlight > 0 && weightInFlight + weight > parallelChunks) break
        next += 1
        inFlight += 1
        weightInFlight += weight
        void work(digest).finally(() => {
          inFlight -= 1
          weightInFlight -= weight
          startMore()
        })
      }
      if (next >= digests.length && inFlight === 0) resolve()
    }
    startMore()
  })
}
