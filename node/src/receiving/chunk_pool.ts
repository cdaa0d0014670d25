/**
 * How many chunks of one share a receiver pulls at once.
 *
 * `transfers.parallelChunks` counts full-size chunks: a chunk smaller than the share's largest
 * counts for its fraction of one, so a case of ten thousand 16 KiB photos is pulled up to
 * {@link SMALL_CHUNKS_AT_ONCE} chunks at a time while a video's 4 MiB chunks still go
 * `parallelChunks` at a time. With four small chunks in flight, both nodes sat idle half the
 * time waiting on per-chunk round trips and fsyncs; sixteen halved the time to deliver them.
 *
 * @module
 */
import type { CaseManifest } from '#protocol'

/** The most chunks in flight, however small they are. */
export const SMALL_CHUNKS_AT_ONCE = 16

/** Each chunk digest of `manifest` → its length in bytes (the largest, if items of different sizes list it). */
export function chunkLengths(manifest: CaseManifest): Map<string, number> {
  const lengths = new Map<string, number>()
  for (const item of manifest.evidence) {
    item.chunks.forEach((digest, index) => {
      const length = Math.max(0, Math.min(item.chunkSize, item.size - index * item.chunkSize))
      lengths.set(digest, Math.max(lengths.get(digest) ?? 0, length))
    })
  }
  return lengths
}

/**
 * Runs `work` over `digests` in order, with at most `parallelChunks` full-size chunks' worth
 * of bytes (by `lengths`) and at most `max(parallelChunks, SMALL_CHUNKS_AT_ONCE)` chunks in
 * flight; one chunk always may start. `work` must not throw.
 */
export async function forEachChunk(
  digests: readonly string[],
  lengths: ReadonlyMap<string, number>,
  parallelChunks: number,
  work: (digest: string) => Promise<void>,
): Promise<void> {
  let largest = 1
  for (const digest of digests) largest = Math.max(largest, lengths.get(digest) ?? 0)
  const budget = parallelChunks * largest
  const maxCount = Math.max(parallelChunks, SMALL_CHUNKS_AT_ONCE)
  let next = 0
  let inFlight = 0
  let bytesInFlight = 0
  return new Promise<void>((resolve) => {
    const startMore = (): void => {
      while (next < digests.length && inFlight < maxCount) {
        const digest = digests[next]!
        const bytes = Math.max(1, lengths.get(digest) ?? largest)
        if (inFlight > 0 && bytesInFlight + bytes > budget) break
        next += 1
        inFlight += 1
        bytesInFlight += bytes
        void work(digest).finally(() => {
          inFlight -= 1
          bytesInFlight -= bytes
          startMore()
        })
      }
      if (next >= digests.length && inFlight === 0) resolve()
    }
    startMore()
  })
}
