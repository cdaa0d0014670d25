/**
 * The blob store: evidence chunks, content-addressed by SHA-256. The embedded implementation
 * is the filesystem (`fs_blob_store.ts`); `s3_blob_store.ts` keeps them in S3/MinIO.
 * No other module touches the disk or the bucket.
 *
 * A blob is written only under the digest of its bytes: `put` hashes while writing to a
 * temporary object and makes it visible only after the digest matched (and, on a filesystem,
 * after fsync and rename). Half-written or mismatching bytes are never visible.
 *
 * Blobs are deleted only by the collector (`operations/blob_collector.ts`), which deletes a blob
 * no record names once it is older than a grace period. Storing a blob that is already there
 * refreshes its modification time, so an upload of a digest the collector is about to sweep
 * makes it young again: the grace period protects it.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import type { PooledBuffers } from './pooled_buffers.ts'

export interface ByteRange {
  /** First byte, inclusive. */
  start: number
  /** Last byte, inclusive. */
  end: number
}

/** A stored blob, as {@link BlobStore.list} reports it. */
export interface StoredBlob {
  digest: string
  size: number
  /** When it was last stored (the store's clock: file mtime, S3 Last-Modified). */
  modifiedAt: Date
}

/** One blob of {@link BlobStore.putBatch}: its bytes already in memory (a small chunk). */
export interface BlobPut {
  readonly digest: string
  readonly bytes: Uint8Array
  readonly maxBytes?: number
}

export interface BlobStore {
  /** Whether the blob is stored. */
  has(digest: string): Promise<boolean>
  /** Size in bytes, or undefined when absent. */
  size(digest: string): Promise<number | undefined>
  /**
   * Stores `source` under `digest`. Throws `VerificationError('CW_ERR_CHUNK_DIGEST_MISMATCH')`
   * (and stores nothing) when the bytes do not hash to `digest`, or when they exceed `maxBytes`.
   * Storing a blob that is already there still consumes and checks `source`, and refreshes the
   * blob's modification time (the collector's grace period counts from it).
   */
  put(digest: string, source: AsyncIterable<Uint8Array> | Uint8Array, options?: { maxBytes?: number }): Promise<void>
  /**
   * Stores each of `blobs` as {@link put} would, made durable together (group commit: on a
   * filesystem the temporary files are synced at once, renamed, and each directory touched is
   * synced once, instead of a sync of the file and of its directory per blob). Resolves once
   * every blob it reports stored is durable, with one outcome per blob, in order: `rejected`
   * with the error `put` would throw (a digest mismatch stores nothing of that blob and nothing
   * else fails with it). Rejects only for arguments that are not such a list.
   */
  putBatch(blobs: readonly BlobPut[]): Promise<PromiseSettledResult<void>[]>
  /**
   * Streams the blob (or a range of it). Throws when absent. With `buffers`, a store may read
   * into them (`pooled_buffers.ts`) instead of allocating per read: the caller promises to call
   * `buffers.ended()` only once nothing holds the bytes it was given.
   */
  get(digest: string, range?: ByteRange, options?: { buffers?: PooledBuffers }): Promise<Readable>
  /** Every stored blob (never a temporary), in no particular order, read as it is iterated. */
  list(): AsyncIterable<StoredBlob>
  /**
   * Deletes the blob; with `unmodifiedSince`, only if it was not stored again after that time
   * (checked just before deleting). Returns whether it deleted it (false: absent or refreshed).
   */
  delete(digest: string, options?: { unmodifiedSince?: Date }): Promise<boolean>
  /** Checks that the store can be written and read (readiness). */
  check(): Promise<void>
}
