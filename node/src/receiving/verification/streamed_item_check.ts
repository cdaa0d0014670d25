/**
 * Receiver: the whole-file check of an item (CW-FED-008, CW-REC-002) done while its chunks
 * arrive, instead of reading every item back and hashing it again once they are all stored.
 * That second pass was a fifth of a large transfer's time on the receiver (issue 13), run
 * alone at the end.
 *
 * SHA-256 has to see an item's bytes in order, but a fetch round pulls several chunks of a file
 * at once. So the chunk whose turn it is (the item's next chunk) is hashed as its pieces arrive;
 * a chunk that arrives before its turn is copied into a buffer of its length and hashed when its
 * turn comes. Held buffers are bounded ({@link HELD_MAX_BYTES}); a chunk beyond the bound is read
 * back from the blob store when its turn comes, as are bytes before the turn when nothing was
 * held. A piece counts only once the blob store stored its chunk: it hashes every chunk as it
 * arrives and keeps one only under the digest its bytes hashed to (CW-FED-007), so the bytes
 * hashed here are the bytes stored.
 *
 * An item that is its one chunk (every item up to the chunk size) needs no hashing of its own:
 * its chunk's digest is its digest (CW-FMT-003), so the chunk stored with the item's size is the
 * item — checked here as it is stored, instead of by the size of its blob afterwards (a hundred
 * thousand small items: a hundred thousand look-ups).
 *
 * Only an item whose every chunk is pulled in this round, and pulled for it alone, is followed:
 * an item with a chunk held before, or shared with another item, is left to the read-back check
 * (`checkItems` in `receipts.ts`), as is an item whose round failed, was cut short or was interrupted by a
 * restart. A followed item that does not match is left to it too, which then reports it: the
 * outcome is the same either way, this only decides which items need not be read again.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto'
import { chunkBatchLength, DIGEST_PREFIX, type CaseManifest, type EvidenceItem } from '#protocol'
import type { BlobStore } from '../../store/blob_store.ts'
import { itemIdentity } from '../receipts.ts'

/** The most bytes of chunks that arrived before their turn held in memory at once, per round. */
export const HELD_MAX_BYTES = 16 * 1024 * 1024

/** What a pull tells the check about one chunk's bytes, in order; `stored` or `failed` ends it. */
export interface ChunkTap {
  /** The next piece of the chunk's bytes as it arrived (not kept: copied if it must wait). */
  piece(bytes: Uint8Array): void
  /** The blob store stored the chunk: its bytes matched its digest and are durable. */
  stored(): void
  /** The chunk was not stored (its bytes did not match, the pull failed): its item is left to the read-back check. */
  failed(): void
}

interface ChunkState {
  readonly digest: string
  /** Its length in the item (CW-MAN-002). */
  readonly length: number
  /** `live`: its turn has come while it arrives, each piece is hashed as it comes. */
  phase: 'waiting' | 'arriving' | 'live' | 'stored' | 'hashed'
  /** The bytes that arrived before its turn, when the bound allowed holding them. */
  held: Buffer | undefined
  /** Bytes that arrived so far. */
  seen: number
}

interface FollowedItem {
  readonly item: EvidenceItem
  readonly chunks: ChunkState[]
  /** The index of the chunk whose turn it is. */
  next: number
  hash: Hash | undefined
  /** A chunk being read back from the blob store; the turn waits for it. */
  reading: Promise<void> | undefined
  /** No longer followed: the read-back check decides. */
  dropped: boolean
}

/** The items of one fetch round, checked as their chunks are stored. */
export class StreamedItemCheck {
  readonly #blobs: Pick<BlobStore, 'get'>
  readonly #heldMax: number
  readonly #items: FollowedItem[] = []
  readonly #byDigest = new Map<string, { item: FollowedItem; chunk: ChunkState }>()
  /** Items that are their one chunk (its digest is theirs), by that digest: stored whole, they are verified. */
  readonly #whole = new Map<string, EvidenceItem>()
  readonly #verified = new Set<string>()
  #heldBytes = 0
  /**
   * Buffers released, kept for the next early chunk of their length: a chunk's buffer lives long
   * enough to reach V8's old generation, where only a full collection frees it (a 1 GiB transfer,
   * one run each: 61 full collections on the receiver with a new buffer per chunk, 52–56 with these).
   */
  readonly #spare: Buffer[] = []
  #spareBytes = 0

  /**
   * Follows the items of `manifest` whose chunks are all in `pulled`: an item that is its one
   * chunk (its chunk digest is its digest) is verified once that chunk is stored with the item's
   * size; an item of other chunks, each listed by no other item, is hashed in order.
   */
  constructor(blobs: Pick<BlobStore, 'get'>, manifest: CaseManifest, pulled: readonly string[], heldMax = HELD_MAX_BYTES) {
    this.#blobs = blobs
    this.#heldMax = heldMax
    const inRound = new Set(pulled)
    const listings = new Map<string, number>()
    const candidates: EvidenceItem[] = []
    const seenItems = new Set<string>()
    for (const item of manifest.evidence) {
      if (item.chunks.length === 1 && item.chunks[0] === item.digest) {
        if (inRound.has(item.digest) && !this.#whole.has(item.digest)) this.#whole.set(item.digest, item)
        continue
      }
      for (const digest of item.chunks) listings.set(digest, (listings.get(digest) ?? 0) + 1)
      // The read-back check checks an item digest once; so is it followed once.
      if (seenItems.has(item.digest)) continue
      seenItems.add(item.digest)
      candidates.push(item)
    }
    for (const item of candidates) {
      if (!item.chunks.every((digest) => inRound.has(digest) && listings.get(digest) === 1 && !this.#whole.has(digest))) continue
      const followed: FollowedItem = { item, chunks: [], next: 0, hash: undefined, reading: undefined, dropped: false }
      item.chunks.forEach((digest, index) => {
        const chunk: ChunkState = { digest, length: chunkBatchLength(item.size, item.chunkSize, index), phase: 'waiting', held: undefined, seen: 0 }
        followed.chunks.push(chunk)
        this.#byDigest.set(digest, { item: followed, chunk })
      })
      this.#items.push(followed)
    }
  }

  /** The tap for chunk `digest` as its pull begins; undefined when no followed item lists it. */
  tap(digest: string): ChunkTap | undefined {
    const whole = this.#whole.get(digest)
    if (whole !== undefined) return this.#tapWhole(whole)
    const entry = this.#byDigest.get(digest)
    if (entry === undefined || entry.item.dropped || entry.chunk.phase !== 'waiting') return undefined
    const { item, chunk } = entry
    chunk.phase = 'arriving'
    this.#advance(item)
    if (chunk.phase === 'arriving' && this.#heldBytes + chunk.length <= this.#heldMax) {
      const spare = this.#spare.findIndex((buffer) => buffer.length === chunk.length)
      if (spare !== -1) this.#spareBytes -= chunk.length
      chunk.held = spare === -1 ? Buffer.allocUnsafe(chunk.length) : this.#spare.splice(spare, 1)[0]!
      this.#heldBytes += chunk.length
    }
    return {
      piece: (bytes) => {
        if (item.dropped) return
        if (chunk.seen + bytes.byteLength > chunk.length) return this.#drop(item)
        if (chunk.phase === 'live') this.#update(item, bytes)
        else chunk.held?.set(bytes, chunk.seen)
        chunk.seen += bytes.byteLength
      },
      stored: () => {
        if (item.dropped) return
        if (chunk.seen !== chunk.length) return this.#drop(item)
        if (chunk.phase === 'live') {
          chunk.phase = 'hashed'
          item.next += 1
        } else {
          chunk.phase = 'stored'
        }
        this.#advance(item)
      },
      failed: () => this.#drop(item),
    }
  }

  /**
   * The identities ({@link itemIdentity}) of the followed items whose bytes, hashed as they were
   * stored, make up their size and digest: what `checkItems` need not read again. Waits for
   * the chunks still being read back.
   */
  async verified(): Promise<Set<string>> {
    for (const item of this.#items) while (item.reading !== undefined) await item.reading
    const verified = this.#verified
    for (const followed of this.#items) {
      if (followed.dropped || followed.hash === undefined || followed.next !== followed.chunks.length) continue
      if (DIGEST_PREFIX + followed.hash.digest('hex') === followed.item.digest) verified.add(itemIdentity(followed.item))
    }
    return verified
  }

  /** An item that is its one chunk: the blob store hashed it as the chunk (CW-FMT-003); what is left is its size. */
  #tapWhole(item: EvidenceItem): ChunkTap {
    this.#whole.delete(item.digest)
    let seen = 0
    return {
      piece: (bytes) => {
        seen += bytes.byteLength
      },
      stored: () => {
        if (seen === item.size) this.#verified.add(itemIdentity(item))
      },
      failed: () => undefined,
    }
  }

  /** Hashes what can be hashed in order: chunks stored, then the one arriving, from which point its pieces are hashed as they come. */
  #advance(item: FollowedItem): void {
    while (!item.dropped && item.reading === undefined && item.next < item.chunks.length) {
      const chunk = item.chunks[item.next]!
      if (chunk.phase === 'stored' && chunk.held !== undefined) {
        this.#update(item, chunk.held)
        this.#release(chunk)
        chunk.phase = 'hashed'
        item.next += 1
      } else if (chunk.phase === 'stored') {
        item.reading = this.#readBack(item, chunk)
      } else if (chunk.phase === 'arriving' && (chunk.held !== undefined || chunk.seen === 0)) {
        if (chunk.held !== undefined) this.#update(item, chunk.held.subarray(0, chunk.seen))
        this.#release(chunk)
        chunk.phase = 'live'
        return
      } else {
        // Not begun, live already, or arriving without its first bytes held: it is stored first.
        return
      }
    }
  }

  /** A chunk stored before its turn without its bytes held: hashed from the blob store. */
  async #readBack(item: FollowedItem, chunk: ChunkState): Promise<void> {
    try {
      const stream = await this.#blobs.get(chunk.digest)
      let bytes = 0
      for await (const piece of stream) {
        if (item.dropped) {
          stream.destroy()
          break
        }
        this.#update(item, piece as Uint8Array)
        bytes += (piece as Uint8Array).byteLength
      }
      if (!item.dropped && bytes !== chunk.length) this.#drop(item)
      chunk.phase = 'hashed'
      item.next += 1
    } catch {
      this.#drop(item)
    } finally {
      item.reading = undefined
    }
    this.#advance(item)
  }

  #update(item: FollowedItem, bytes: Uint8Array): void {
    item.hash ??= createHash('sha256')
    item.hash.update(bytes)
  }

  #release(chunk: ChunkState): void {
    if (chunk.held === undefined) return
    this.#heldBytes -= chunk.length
    // Spares and buffers in use together stay within the bound.
    if (this.#heldBytes + this.#spareBytes + chunk.length <= this.#heldMax) {
      this.#spare.push(chunk.held)
      this.#spareBytes += chunk.length
    }
    chunk.held = undefined
  }

  #drop(item: FollowedItem): void {
    item.dropped = true
    item.hash = undefined
    for (const chunk of item.chunks) this.#release(chunk)
  }
}
