/**
 * Progress of a revision's transfer, as the local API reports it on both sides (SPEC.md
 * CW-LOC-031): the sender counts the chunks its partner fetched (`sending/share_view.ts`), the
 * receiver the chunks it stored (`receiving/external_cases.ts`).
 *
 * @module
 */
import type { EvidenceItem } from '#protocol'

/** Chunks and bytes of a revision moved so far, and the phase it is in. */
export interface TransferProgress<Phase extends string> {
  phase: Phase
  chunksDone: number
  chunksTotal: number
  bytesDone: number
  bytesTotal: number
}

/** What the chunk sizes of an item are computed from. */
export type ChunkedItem = Pick<EvidenceItem, 'size' | 'chunkSize' | 'chunks'>

/** Sizes already computed for a frozen evidence list: a shared manifest's (`shared_manifests.ts`). */
const computed = new WeakMap<readonly ChunkedItem[], ReadonlyMap<string, number>>()

/**
 * The size of every distinct chunk of a manifest: chunk i of an item is `chunkSize` bytes, the
 * last one what is left of `size`. Computed once for a frozen list (frozen all the way down, as
 * shared manifests are): every listing and detail of a large external case reports its progress
 * from them, 60 ms at 100,000 items.
 */
export function chunkSizes(evidence: readonly ChunkedItem[]): ReadonlyMap<string, number> {
  const known = computed.get(evidence)
  if (known !== undefined) return known
  const sizes = new Map<string, number>()
  for (const item of evidence) {
    item.chunks.forEach((digest, index) => {
      sizes.set(digest, Math.max(0, Math.min(item.chunkSize, item.size - index * item.chunkSize)))
    })
  }
  if (Object.isFrozen(evidence)) computed.set(evidence, sizes)
  return sizes
}
