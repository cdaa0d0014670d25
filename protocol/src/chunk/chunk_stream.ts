/**
 * Splitting a byte stream into fixed-size chunks while hashing it (SPEC.md CW-FMT-003).
 *
 * One pass: the whole-file and per-chunk SHA-256 are computed while bytes flow, and at most
 * one chunk is held in memory, so a file of any size is processed with flat memory.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { DIGEST_PREFIX } from '../canonical/digest.ts'

/** Default chunk size: 4 MiB. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
/** Smallest allowed chunk size: 64 KiB. */
export const MIN_CHUNK_SIZE = 64 * 1024
/** Largest allowed chunk size: 16 MiB. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024

/** One chunk of the stream. */
export interface Chunk {
  /** 0-based position in the item. */
  index: number
  /** Byte offset of the chunk in the item (`index * chunkSize`). */
  offset: number
  /** `sha256:` digest of `data`. */
  digest: string
  /**
   * The chunk's bytes: a view of the generator's one chunk buffer, valid only until the
   * generator is resumed. Write or hash it before asking for the next chunk; copy it
   * (`data.slice()`) to keep it.
   */
  data: Uint8Array
}

/** What a manifest records about an item's content. */
export interface ContentSummary {
  size: number
  /** `sha256:` digest of all bytes. */
  digest: string
  chunkSize: number
  /** Chunk digests in order; `ceil(size / chunkSize)` entries (none for an empty item). */
  chunks: string[]
}

/** True for the allowed chunk sizes: powers of two from 64 KiB to 16 MiB. */
export function isAllowedChunkSize(chunkSize: unknown): chunkSize is number {
  return (
    typeof chunkSize === 'number' &&
    Number.isInteger(chunkSize) &&
    chunkSize >= MIN_CHUNK_SIZE &&
    chunkSize <= MAX_CHUNK_SIZE &&
    (chunkSize & (chunkSize - 1)) === 0
  )
}

/**
 * Yields the chunks of `source` in order and returns the {@link ContentSummary}.
 *
 * Input pieces may have any sizes; they are copied into one chunk buffer, never concatenated,
 * and that buffer is reused for every chunk (a fresh buffer per chunk leaves garbage faster than
 * the collector frees it: memory would grow with the file). The buffer starts at 64 KiB and
 * doubles up to `chunkSize` only as the first chunk fills it: a 16 KiB photo must not cost a
 * zeroed 4 MiB allocation (ten thousand of them were a tenth of an upload's CPU).
 * So each yielded `data` is only valid until the generator is resumed.
 * Throws `TypeError` for a chunk size that is not allowed or a piece that is not a Uint8Array.
 */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, chunkSize: number = DEFAULT_CHUNK_SIZE): AsyncGenerator<Chunk, ContentSummary, void> {
  if (!isAllowedChunkSize(chunkSize)) {
    throw new TypeError('chunkSize must be a power of two from 64 KiB to 16 MiB')
  }
  const whole = createHash('sha256')
  const chunks: string[] = []
  let size = 0
  let buffer = new Uint8Array(Math.min(chunkSize, INITIAL_BUFFER_BYTES))
  let filled = 0

  const take = (length: number): Chunk => {
    const data = length === chunkSize ? buffer : buffer.subarray(0, length)
    const digest = DIGEST_PREFIX + createHash('sha256').update(data).digest('hex')
    const index = chunks.length
    chunks.push(digest)
    return { index, offset: index * chunkSize, digest, data }
  }

  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) throw new TypeError('stream pieces must be Uint8Array')
    whole.update(piece)
    size += piece.byteLength
    let read = 0
    while (read < piece.byteLength) {
      if (filled === buffer.byteLength) buffer = grown(buffer, filled, chunkSize)
      const length = Math.min(buffer.byteLength - filled, piece.byteLength - read)
      buffer.set(piece.subarray(read, read + length), filled)
      filled += length
      read += length
      if (filled === chunkSize) {
        const chunk = take(chunkSize)
        filled = 0
        yield chunk
      }
    }
  }
  if (filled > 0) yield take(filled)
  return { size, digest: DIGEST_PREFIX + whole.digest('hex'), chunkSize, chunks }
}

/** The chunk buffer's first size: the smallest allowed chunk. */
const INITIAL_BUFFER_BYTES = MIN_CHUNK_SIZE

/** `buffer` (its first `filled` bytes kept) at twice the size, never over `chunkSize`. */
function grown(buffer: Uint8Array, filled: number, chunkSize: number): Uint8Array<ArrayBuffer> {
  const larger = new Uint8Array(Math.min(chunkSize, buffer.byteLength * 2))
  larger.set(buffer.subarray(0, filled))
  return larger
}
