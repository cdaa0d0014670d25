/**
 * Serving a batch of chunks of an outbound share to its partner (EP-20, SPEC.md CW-BAT-001..003).
 *
 * Every digest is authorized exactly as EP-2 authorizes one ({@link openChunk}'s checks,
 * CW-FED-005) and every chunk's size is read before anything is answered, so a refusal is a
 * whole problem document and never follows bytes. The body then streams each chunk from the
 * blob store in turn, one open at a time: nothing of the batch is held in memory.
 *
 * Free of HTTP, like `serve_chunk.ts`.
 *
 * @module
 */
import { Readable } from 'node:stream'
import { assertChunkBatchRequest, CHUNK_BATCH_LIMITS, RequestError, VerificationError, type ChunkBatchRequest } from '#protocol'
import type { NodeContext } from '../context.ts'
import { crashPoint } from '../operations/crash_points.ts'
import { authorizeShare, batchChunkSize } from './serve_chunk.ts'
import type { PooledBuffers } from '../store/pooled_buffers.ts'

/** An authorized batch: the chunks in request order with their sizes, and their total. */
export interface OpenChunkBatch {
  chunks: readonly { digest: string; size: number }[]
  /** The answer's `Content-Length`: the sum of the sizes (CW-BAT-003). */
  totalBytes: number
  /** The answer's body: each chunk whole, in request order, nothing between them. */
  stream(): Readable
}

/**
 * The request body of EP-20, checked with its schema (CW-BAT-001): a refusal names the field.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST`.
 */
export function chunkBatchRequestOf(body: unknown): ChunkBatchRequest {
  try {
    assertChunkBatchRequest(body)
  } catch (error) {
    throw new RequestError('CW_ERR_BAD_REQUEST', (error as Error).message, { cause: error })
  }
  return body
}

/**
 * Authorizes the chunks `digests` of outbound share `shareId` for `peerOrg` (CW-BAT-002), all or
 * none, and opens the batch; its body reads into `buffers` (the answer's).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (the share is not the peer's, or a digest is not one
 *   it lists: one answer for both, CW-FED-005), `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`,
 *   `CW_ERR_TOO_LARGE` (the chunks hold more than {@link CHUNK_BATCH_LIMITS}`.maxBytes`).
 */
export async function openChunkBatch(
  ctx: NodeContext,
  peerOrg: string,
  shareId: string,
  digests: readonly string[],
  buffers: PooledBuffers,
): Promise<OpenChunkBatch> {
  // spec: CW-BAT-002, CW-FED-005 — the share as EP-2 checks it, once for the batch…
  const now = await authorizeShare(ctx, peerOrg, shareId)
  // …and every digest as EP-2 checks one: any refused refuses the batch, before any byte. The
  // share's list is read once for all of them and the sizes side by side: a query and a stat
  // per chunk, one after another, were most of a batch's answer time.
  const servable = await ctx.store.outboundShares.servableChunks(peerOrg, shareId, digests, now)
  const sizes = await Promise.all(digests.map((digest) => batchChunkSize(ctx, peerOrg, shareId, digest, servable)))
  const chunks = digests.map((digest, index) => ({ digest, size: sizes[index]! }))
  const totalBytes = sizes.reduce((sum, size) => sum + size, 0)
  // spec: CW-BAT-002 — the bytes of one batch are bounded.
  if (totalBytes > CHUNK_BATCH_LIMITS.maxBytes) {
    throw new VerificationError('CW_ERR_TOO_LARGE', `the chunks asked for hold ${totalBytes} bytes, over ${CHUNK_BATCH_LIMITS.maxBytes}`)
  }
  return {
    chunks,
    totalBytes,
    stream: () => Readable.from(concatenated(ctx, chunks, buffers), { objectMode: false }),
  }
}

/** Each chunk's bytes in turn, one blob open at a time. A blob that is shorter or longer than its size breaks the answer. */
async function* concatenated(ctx: NodeContext, chunks: readonly { digest: string; size: number }[], buffers: PooledBuffers): AsyncGenerator<Uint8Array> {
  for (const { digest, size } of chunks) {
    const blob = await ctx.blobs.get(digest, undefined, { buffers })
    // As EP-2 reaches it for each chunk it opens (the crash matrix arms it on either endpoint).
    crashPoint('chunk.opened')
    let sent = 0
    try {
      for await (const piece of blob as AsyncIterable<Uint8Array>) {
        sent += piece.byteLength
        if (sent > size) throw new Error(`blob ${digest} is longer than its size ${size}`)
        yield piece
      }
    } finally {
      blob.destroy()
    }
    if (sent !== size) throw new Error(`blob ${digest} ended at ${sent} of ${size} bytes`)
  }
}
