/**
 * How many chunks of one share a receiver pulls at once.
 *
 * `transfers.parallelChunks` counts full-size chunks: a chunk smaller than its item's chunk
 * size (a small item's only chunk, a file's last one) counts for its fraction of one, so a case of ten thousand 16 KiB photos is pulled up to
 * {@link SMALL_CHUNKS_AT_ONCE} chunks at a time while a video's 4 MiB chunks still go
 * `parallelChunks` at a time. With four small chunks in flight, both nodes sat idle half the
 * time waiting on per-chunk round trips and fsyncs; sixteen halved the time to deliver them.
 *
 * @module
 */
import type { CaseManifest } from '#protocol'

/** The most chunks in flight, however small they are. */
export const SMALL_CHUNKS_AT_ONCE = 16

/** What a receiver needs to know of each chunk digest a manifest lists, read in one pass. */
export interface ChunkPlan {
  /** The largest chunk size any item listing the digest allows for it: the most bytes to accept. */
  readonly maxBytes: ReadonlyMap<string, number>
  /** The fraction of a full-size chunk it is (of its item's `chunkSize`; the largest, if several items list it). */
  readonly weights: ReadonlyMap<string, number>
}

export function planChunks(manifest: CaseManifest): ChunkPlan {
  const maxBytes = new Map<string, number>()
  const weights = new Map<string, number>()
  for (const item of manifest.evidence) {
    item.chunks.forEach((digest, index) => {
      const length = Math.min(item.chunkSize, item.size - index * item.chunkSize)
      maxBytes.set(digest, Math.max(maxBytes.get(digest) ?? 0, item.chunkSize))
      weights.set(digest, Math.max(weights.get(digest) ?? 0, length / item.chunkSize))
    })
  }
  return { maxBytes, weights }
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
