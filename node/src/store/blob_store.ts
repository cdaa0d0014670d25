/**
 * The blob store: evidence chunks, content-addressed by SHA-256. The embedded implementation
 * is the filesystem (`fs_blob_store.ts`); `s3_blob_store.ts` keeps them in S3/MinIO.
 * No other module touches the disk or the bucket.
 *
 * A blob is written only under the digest of its bytes: `put` hashes while writing to a
 * temporary object and makes it visible only after the digest matched (and, on a filesystem,
 * after fsync and rename). Half-written or mismatching bytes are never visible.
 *
 * @module
 */
import type { Readable } from 'node:stream'

export interface ByteRange {
  /** First byte, inclusive. */
  start: number
  /** Last byte, inclusive. */
  end: number
}

export interface BlobStore {
  /** Whether the blob is stored. */
  has(digest: string): Promise<boolean>
  /** Size in bytes, or undefined when absent. */
  size(digest: string): Promise<number | undefined>
  /**
   * Stores `source` under `digest`. Throws `VerificationError('CW_ERR_CHUNK_DIGEST_MISMATCH')`
   * (and stores nothing) when the bytes do not hash to `digest`, or when they exceed `maxBytes`.
   * Storing a blob that is already there is a no-op that still consumes and checks `source`.
   */
  put(digest: string, source: AsyncIterable<Uint8Array> | Uint8Array, options?: { maxBytes?: number }): Promise<void>
  /** Streams the blob (or a range of it). Throws when absent. */
  get(digest: string, range?: ByteRange): Promise<Readable>
  /** Checks that the store can be written and read (readiness). */
  check(): Promise<void>
}
