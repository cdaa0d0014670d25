/**
 * The batched chunk pull (SPEC.md §16, "Batched chunk pulls", CW-VER-007, CW-BAT-001..006): a receiver asks a
 * sender that advertises the `chunk-batch` feature for many small chunks of one share in one
 * EP-20 request, and gets their bytes back concatenated in request order, with nothing between
 * them. The receiver knows each chunk's length from the manifest (CW-MAN-002), so it splits the
 * body itself ({@link splitChunkBatch}) and hashes every piece before it stores it (CW-FED-007).
 *
 * Free of HTTP and storage: the node's listener and peer client and the conformance harness use it.
 *
 * @module
 */

/**
 * CW-VER-007: the response header listing the optional features a node's federation listener
 * serves (comma-separated tokens), on every answer, next to `Caseway-Versions`.
 */
export const FEATURES_HEADER = 'caseway-features'

/** CW-VER-007, CW-BAT-001: the feature token of EP-20. */
export const CHUNK_BATCH_FEATURE = 'chunk-batch'

/** CW-BAT-003: the media type of an EP-20 answer. */
export const CHUNK_BATCH_MEDIA_TYPE = 'application/octet-stream'

/**
 * CW-BAT-001, CW-BAT-002: the bounds of one EP-20 request. A sender serves any request within
 * them; a receiver never asks for more. `bodyBytes` bounds the JSON request body (1,024 digests
 * of 71 characters and their quotes and commas fit in it).
 */
export const CHUNK_BATCH_LIMITS = Object.freeze({ maxChunks: 1024, maxBytes: 16 * 1024 * 1024, bodyBytes: 128 * 1024 })

const TOKEN = /^[a-z0-9][a-z0-9-]{0,62}$/

/**
 * The feature tokens a `Caseway-Features` value lists, lower-cased, without duplicates; tokens
 * that are not `[a-z0-9-]` words are ignored. An absent header lists none.
 */
export function parseFeaturesHeader(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return []
  const text = typeof value === 'string' ? value : value.join(',')
  const features: string[] = []
  for (const token of text.split(',')) {
    const feature = token.trim().toLowerCase()
    if (TOKEN.test(feature) && !features.includes(feature)) features.push(feature)
  }
  return features
}

/**
 * The length of chunk `index` of an item of `size` bytes cut in `chunkSize` pieces
 * (CW-MAN-002): every chunk is `chunkSize` bytes but the last, which holds the rest.
 */
export function chunkBatchLength(size: number, chunkSize: number, index: number): number {
  return Math.max(0, Math.min(chunkSize, size - index * chunkSize))
}

/** One chunk cut out of an EP-20 answer: its bytes, in the order they arrived. */
export interface BatchPiece {
  digest: string
  /** The chunk's bytes (exactly its expected length). */
  bytes: Uint8Array
}

/**
 * Cuts the body of an EP-20 answer into the chunks it was asked for (CW-BAT-003, CW-BAT-005): `expected`
 * lists the digests in request order with the length each must have. Yields each chunk once
 * all its bytes have arrived (so at most one chunk is held here); the caller hashes it before
 * storing it. Throws once the body ends early or runs past the last chunk: what was yielded
 * before stands, the rest of the batch failed.
 */
export async function* splitChunkBatch(body: AsyncIterable<Uint8Array>, expected: readonly { digest: string; length: number }[]): AsyncGenerator<BatchPiece> {
  let index = 0
  let current: Uint8Array | undefined
  let filled = 0
  const startNext = (): void => {
    while (index < expected.length && expected[index]!.length === 0) {
      // An empty chunk has no bytes on the wire.
      index += 1
    }
    current = index < expected.length ? new Uint8Array(expected[index]!.length) : undefined
    filled = 0
  }
  startNext()
  const done: BatchPiece[] = []
  for await (const piece of body) {
    let offset = 0
    while (offset < piece.byteLength) {
      if (current === undefined) throw new BatchShapeError(`the answer runs past its last chunk (${expected.length} asked for)`)
      const take = Math.min(current.byteLength - filled, piece.byteLength - offset)
      current.set(piece.subarray(offset, offset + take), filled)
      filled += take
      offset += take
      if (filled === current.byteLength) {
        done.push({ digest: expected[index]!.digest, bytes: current })
        index += 1
        startNext()
      }
    }
    while (done.length > 0) yield done.shift()!
  }
  if (current !== undefined) throw new BatchShapeError(`the answer ended ${current.byteLength - filled} bytes into chunk ${index + 1} of ${expected.length}`)
}

/** An EP-20 answer whose length is not the sum of the chunks asked for (CW-BAT-003, CW-BAT-005). */
export class BatchShapeError extends Error {
  readonly code = 'CW_ERR_CHUNK_DIGEST_MISMATCH'
}
