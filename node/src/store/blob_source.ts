/**
 * What every blob store does the same way with the bytes it is given and asked for: digests
 * checked against `^sha256:[0-9a-f]{64}$` before they come near a path or an object key,
 * sources normalised to one iterable of `Uint8Array`, `maxBytes` and ranges validated, and
 * the bytes hashed and counted while they flow (`verified`), so that no store can make a
 * blob visible before its digest matched.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { VerificationError } from '#protocol'
import type { ByteRange } from './blob_store.ts'

const DIGEST_PATTERN = /^sha256:([0-9a-f]{64})$/

/** `sha256:abcd…` → `abcd…`; anything else is a `TypeError` (no path traversal, no odd keys). */
export function digestHex(digest: string): string {
  const hex = typeof digest === 'string' ? DIGEST_PATTERN.exec(digest)?.[1] : undefined
  if (hex === undefined) throw new TypeError('digest must be sha256:<64 lower-case hex>')
  return hex
}

/** `maxBytes` as given to `put`, checked. */
export function checkedMaxBytes(maxBytes: number | undefined): number | undefined {
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
    throw new TypeError('maxBytes must be a non-negative integer')
  }
  return maxBytes
}

/** A range as given to `get`, checked (its end against the blob's size is the store's job). */
export function checkRange(range: ByteRange | undefined): void {
  if (range === undefined) return
  if (
    typeof range !== 'object' ||
    range === null ||
    !Number.isSafeInteger(range.start) ||
    !Number.isSafeInteger(range.end) ||
    range.start < 0 ||
    range.end < range.start
  ) {
    throw new TypeError('range must be { start, end } with 0 <= start <= end')
  }
}

/** The source of `put` as one iterable; anything but bytes is a `TypeError`. */
export function sourceChunks(source: AsyncIterable<Uint8Array> | Uint8Array): AsyncIterable<unknown> | Iterable<unknown> {
  if (source instanceof Uint8Array) return [source]
  if (isAsyncIterable(source)) return source
  throw new TypeError('source must be a Uint8Array or an async iterable of Uint8Array')
}

/**
 * Yields the chunks of `chunks` while hashing and counting them. Throws
 * `CW_ERR_CHUNK_DIGEST_MISMATCH` as soon as more than `maxBytes` arrived (the source is closed,
 * not read to its end) and, after the last chunk, when the bytes do not hash to `digest`: a
 * consumer that completes its loop without an exception has seen exactly the claimed bytes.
 */
export async function* verified(
  chunks: AsyncIterable<unknown> | Iterable<unknown>,
  digest: string,
  maxBytes: number | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const hash = createHash('sha256')
  let total = 0
  for await (const chunk of chunks) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('source must yield Uint8Array chunks')
    total += chunk.byteLength
    if (maxBytes !== undefined && total > maxBytes) {
      throw new VerificationError('CW_ERR_CHUNK_DIGEST_MISMATCH', 'blob larger than allowed')
    }
    hash.update(chunk)
    yield chunk
  }
  if ('sha256:' + hash.digest('hex') !== digest) {
    throw new VerificationError('CW_ERR_CHUNK_DIGEST_MISMATCH', 'bytes do not match their digest')
  }
}

/** Reads and checks `chunks` without keeping them (a blob that is already stored). */
export async function drainVerified(chunks: AsyncIterable<unknown> | Iterable<unknown>, digest: string, maxBytes: number | undefined): Promise<void> {
  for await (const chunk of verified(chunks, digest, maxBytes)) void chunk
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}
