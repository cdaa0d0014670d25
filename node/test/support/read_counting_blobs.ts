/**
 * A blob store that notes the digest of every blob read (`get`) in `reads`: what the tests of
 * the receiver's item checks assert, that an item was or was not read back.
 */
import type { BlobStore } from '../../src/store/blob_store.ts'

export function readCounting(blobs: BlobStore, reads: string[]): BlobStore {
  return {
    has: (digest) => blobs.has(digest),
    size: (digest) => blobs.size(digest),
    put: (digest, source, options) => blobs.put(digest, source, options),
    putBatch: (pieces) => blobs.putBatch(pieces),
    check: () => blobs.check(),
    list: () => blobs.list(),
    delete: (digest, options) => blobs.delete(digest, options),
    get: (digest, range, options) => {
      reads.push(digest)
      return blobs.get(digest, range, options)
    },
  }
}
