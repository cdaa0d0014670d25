/**
 * Serving a chunk of an outbound share to its partner (EP-2, SPEC.md CW-FED-005, CW-FED-006).
 *
 * Free of HTTP: it takes the raw `Range` value and returns the byte range to send, so that
 * the federation listener (and a conformance harness) can reuse it.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { ByteRange } from '../store/blob_store.ts'
import type { PooledBuffers } from '../store/pooled_buffers.ts'

/** An open chunk: the stream of the bytes to send and where they sit in the chunk. */
export interface OpenChunk {
  stream: Readable
  /** Size of the whole chunk in bytes. */
  size: number
  /** The bytes sent, inclusive; the whole chunk when `partial` is false. */
  range: ByteRange
  /** True when a `Range` was honoured (answer 206 with `Content-Range`). */
  partial: boolean
}

/**
 * A range that cannot be satisfied (CW-FED-006); `size` goes into `Content-Range: bytes *\/size`.
 * Match it by `code` (`instanceof` matches every `RequestError`, as the base class defines it).
 */
export class RangeNotSatisfiable extends RequestError {
  readonly size: number

  constructor(size: number, message: string) {
    super('CW_ERR_RANGE_INVALID', message)
    this.size = size
  }
}

const DIGEST = /^sha256:[0-9a-f]{64}$/
const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/

/**
 * Opens chunk `digest` of outbound share `shareId` for `peerOrg`, optionally a single byte
 * range (`range` is the raw `Range` header value), read into `buffers` (the answer's:
 * `pooled_buffers.ts`).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (the share is not the peer's, or does not list the
 *   digest: one answer for both, CW-FED-005), `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`,
 *   `CW_ERR_RANGE_INVALID` ({@link RangeNotSatisfiable}).
 */
export async function openChunk(
  ctx: NodeContext,
  peerOrg: string,
  shareId: string,
  digest: string,
  range: string | undefined,
  buffers: PooledBuffers,
): Promise<OpenChunk> {
  const now = await authorizeShare(ctx, peerOrg, shareId)
  const size = await servableSize(ctx, peerOrg, shareId, digest, now)
  const selected = selectRange(range, size)
  const stream = await ctx.blobs.get(digest, selected ?? undefined, { buffers })
  return selected === null ? { stream, size, range: { start: 0, end: size - 1 }, partial: false } : { stream, size, range: selected, partial: true }
}

/** The one refusal for a share or chunk the peer may not have: it does not tell which (CW-FED-005). */
const notFound = () => new RequestError('CW_ERR_NOT_FOUND', 'no such chunk for this peer')

/**
 * spec: CW-FED-005, CW-BAT-002 — the share checks of a chunk pull (EP-2, and once for an EP-20
 * batch): the share exists and is addressed to `peerOrg`, and is neither revoked nor expired.
 * Returns the time of the check (seconds), for {@link servableSize}.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`.
 */
export async function authorizeShare(ctx: NodeContext, peerOrg: string, shareId: string): Promise<number> {
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  // Only the share's state: its evidence list would be read and parsed again for every chunk.
  const share = await ctx.store.outboundShares.getState(shareId)
  // spec: CW-FED-005 — a share addressed to another org is as absent as a missing one.
  if (share === undefined || share.partnerOrg !== peerOrg) throw notFound()
  // spec: CW-REV-002, CW-FED-005
  if (share.status === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', 'share was revoked')
  if (share.status === 'expired' || share.expiresAt <= now) throw new RequestError('CW_ERR_SHARE_EXPIRED', 'share has expired')
  return now
}

/**
 * spec: CW-FED-005, CW-BAT-002 — the size of chunk `digest` of share `shareId` (authorized by
 * {@link authorizeShare} at `now`) when the share lists it for `peerOrg` and it is stored.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`.
 */
export async function servableSize(ctx: NodeContext, peerOrg: string, shareId: string, digest: string, now: number): Promise<number> {
  if (!DIGEST.test(digest) || !(await ctx.store.outboundShares.isChunkServable(peerOrg, shareId, digest, now))) throw notFound()
  return storedSize(ctx, peerOrg, shareId, digest)
}

/**
 * {@link servableSize} for a chunk of a batch, given `servable`: the digests of the batch the
 * store said servable (`OutboundShareRepository.servableChunks`, one query for the batch).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`.
 */
export async function batchChunkSize(ctx: NodeContext, peerOrg: string, shareId: string, digest: string, servable: ReadonlySet<string>): Promise<number> {
  if (!DIGEST.test(digest) || !servable.has(digest)) throw notFound()
  return storedSize(ctx, peerOrg, shareId, digest)
}

/** The size of a chunk found servable; `CW_ERR_NOT_FOUND` (and an error logged) when its blob is missing. */
async function storedSize(ctx: NodeContext, peerOrg: string, shareId: string, digest: string): Promise<number> {
  const size = await ctx.blobs.size(digest)
  if (size === undefined) {
    ctx.log.error({ peerOrg, shareId, digest }, 'servable chunk missing from the blob store')
    throw notFound()
  }
  return size
}

/**
 * Counts chunk `digest` as fetched by the share's partner for its current revision (the
 * share's progress, CW-LOC-031). Called once the chunk's last byte was handed to the
 * connection: a download resumed with `Range` counts when it reaches the end. A failure to
 * count is logged; it never affects the transfer itself.
 */
export async function countChunkServed(ctx: NodeContext, shareId: string, digest: string): Promise<void> {
  try {
    await ctx.store.outboundShares.recordChunkServed(shareId, digest)
  } catch (err) {
    ctx.log.warn({ err, shareId, digest }, 'counting a served chunk failed')
  }
}

/**
 * The byte range a `Range` value selects in a chunk of `size` bytes (CW-FED-006): `null` for
 * no range (or a range unit other than bytes, which RFC 9110 §14.2 says to ignore);
 * `bytes=first-`, `bytes=first-last` (a last beyond the end is cut to the end) and the suffix
 * form `bytes=-length`. Several ranges, a malformed one, or one that selects no byte throw
 * {@link RangeNotSatisfiable}.
 */
export function selectRange(range: string | undefined, size: number): ByteRange | null {
  if (range === undefined) return null
  const value = range.trim()
  const unit = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)=/.exec(value)?.[1]
  if (unit !== undefined && unit.toLowerCase() !== 'bytes') return null
  const match = SINGLE_RANGE.exec(value.replace(/^bytes=/i, 'bytes='))
  if (match === null) throw new RangeNotSatisfiable(size, 'only a single byte range is supported')
  const [, first, last] = match as unknown as [string, string, string]
  if (first === '' && last === '') throw new RangeNotSatisfiable(size, 'range names no byte')
  if (first === '') {
    // Suffix range: the last `length` bytes.
    const length = Number(last)
    if (!Number.isSafeInteger(length) || length === 0 || size === 0) throw new RangeNotSatisfiable(size, 'suffix range selects no byte')
    return { start: Math.max(0, size - length), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Number(last)
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) throw new RangeNotSatisfiable(size, 'range is inverted or too large')
  if (start >= size) throw new RangeNotSatisfiable(size, 'range starts past the end of the chunk')
  return { start, end: Math.min(end, size - 1) }
}
