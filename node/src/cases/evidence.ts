/**
 * Evidence of the agency's own cases: uploaded as a stream, split into content-addressed
 * chunks while it flows (SPEC.md CW-FMT-003), and read back as a stream. Memory stays flat
 * whatever the file's size.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { chunkStream, isItemName, RequestError, VerificationError, type Chunk, type ContentSummary } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR, type Actor } from '../events.ts'
import type { ByteRange } from '../store/blob_store.ts'
import type { EvidenceRecord, Repositories } from '../store/metadata_store.ts'
import { requireCase } from './cases.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** Limits of the manifest schema's evidence item: what is stored can always be shared. */
export const EVIDENCE_LIMITS = {
  maxNameLength: 255,
  categoryPattern: /^[a-z0-9][a-z0-9-]{0,62}$/,
  mediaTypePattern: /^[a-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/,
  maxMediaTypeLength: 255,
  /** `maxItems` of an item's chunk list. */
  maxChunks: 1_048_576,
} as const

export interface EvidenceMetadata {
  name: string
  folderId?: string | null
  category: string
  mediaType: string
  doNotDisclose?: boolean
  attachmentOf?: string | null
}

/**
 * Stores `body` as new evidence of case `caseId` and records `evidence.uploaded` with it (the
 * live shares of the case follow from that event: CW-REVN-001, `sending/live_revisions.ts`).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (case), `CW_ERR_BAD_REQUEST` (metadata).
 * @throws {VerificationError} `CW_ERR_TOO_LARGE` beyond the manifest's chunk-count limit.
 */
export async function uploadEvidence(
  ctx: NodeContext,
  caseId: string,
  metadata: EvidenceMetadata,
  body: AsyncIterable<Uint8Array>,
  actor: Actor = SYSTEM_ACTOR,
): Promise<EvidenceRecord> {
  const record = await storeEvidenceContent(ctx, caseId, metadata, body)
  await addEvidence(ctx, [record], actor)
  return record
}

/** One item of a batch upload: its metadata, then its content, read to its end before the next item is asked for. */
export interface EvidenceUploadItem {
  metadata: EvidenceMetadata
  body: AsyncIterable<Uint8Array>
}

/**
 * spec: CW-LOC-056 — stores the items of `items` one after the other (each streamed like a
 * single upload), then adds them all in one transaction: all of them or, when one is refused or
 * the stream breaks off, none. One commit for the batch, and one revision of each live share.
 * An item refused is named by its position: its `at` is `/<index>` and the field's pointer.
 *
 * @throws {RequestError} as {@link storeEvidenceContent}, naming the item; `CW_ERR_BAD_REQUEST` for a batch without items.
 */
export async function uploadEvidenceBatch(
  ctx: NodeContext,
  caseId: string,
  items: AsyncIterable<EvidenceUploadItem>,
  actor: Actor = SYSTEM_ACTOR,
): Promise<EvidenceRecord[]> {
  const records: EvidenceRecord[] = []
  const chunks = new SmallChunkBatch(ctx)
  for await (const { metadata, body } of items) {
    try {
      records.push(await storeEvidenceContent(ctx, caseId, metadata, body, records, (digest, data) => chunks.put(digest, data)))
    } catch (error) {
      throw inItem(error, records.length)
    }
  }
  if (records.length === 0) throw new RequestError('CW_ERR_BAD_REQUEST', 'the batch has no items')
  await chunks.flush()
  await addEvidence(ctx, records, actor)
  return records
}

/**
 * The chunks of a batch upload: a small one is copied and stored with others in one
 * `putBatch` (their files written and synced side by side, each directory synced once), a
 * large one at once. Holds at most {@link SMALL_CHUNKS_BYTES} of copies.
 */
class SmallChunkBatch {
  readonly #ctx: NodeContext
  #pending: Array<{ digest: string; bytes: Uint8Array }> = []
  #pendingBytes = 0

  constructor(ctx: NodeContext) {
    this.#ctx = ctx
  }

  async put(digest: string, data: Uint8Array): Promise<void> {
    if (data.byteLength > SMALL_CHUNK_BYTES) return this.#ctx.blobs.put(digest, data)
    // A copy: the chunker reuses its buffer for the next chunk.
    this.#pending.push({ digest, bytes: data.slice() })
    this.#pendingBytes += data.byteLength
    if (this.#pendingBytes >= SMALL_CHUNKS_BYTES || this.#pending.length >= SMALL_CHUNKS_PER_PUT) await this.flush()
  }

  /** Stores every chunk held; resolves once all are durable, rejects with the first failure. */
  async flush(): Promise<void> {
    const blobs = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    if (blobs.length === 0) return
    for (const outcome of await this.#ctx.blobs.putBatch(blobs)) if (outcome.status === 'rejected') throw outcome.reason
  }
}

/** A chunk up to this size is stored with others (a photo, a document, the tail of a file). */
const SMALL_CHUNK_BYTES = 256 * 1024
/** Copies of small chunks held before they are stored. */
const SMALL_CHUNKS_BYTES = 8 * 1024 * 1024
/** Small chunks stored by one `putBatch` at most. */
const SMALL_CHUNKS_PER_PUT = 64

/** `error` as the refusal of item `index` of a batch (any other error unchanged). */
function inItem(error: unknown, index: number): unknown {
  const options = (refused: RequestError | VerificationError) => ({ at: `/${index}${refused.at ?? ''}`, cause: refused })
  if (error instanceof RequestError) return new RequestError(error.code, `item ${index}: ${error.message}`, options(error))
  if (error instanceof VerificationError) return new VerificationError(error.code, `item ${index}: ${error.message}`, options(error))
  return error
}

/**
 * The first half of an upload: checks the metadata before a byte is read, then writes each
 * chunk to the blob store before the next is cut (the chunker reuses its buffer). Returns the
 * record, not yet stored: a failed or aborted upload leaves no evidence (its stored chunks are
 * content-addressed and harmless). `batch`: records stored by this call's caller before, which
 * `metadata.attachmentOf` may name. Several items stored this way and added with one
 * {@link addEvidence} make one revision of each live share, not one per item. `putChunk`
 * stores a chunk (by default at once); it is done with `data` when it resolves, and the chunk
 * must be durable before the record is added.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (case), `CW_ERR_BAD_REQUEST` (metadata).
 * @throws {VerificationError} `CW_ERR_TOO_LARGE` beyond the manifest's chunk-count limit.
 */
export async function storeEvidenceContent(
  ctx: NodeContext,
  caseId: string,
  metadata: EvidenceMetadata,
  body: AsyncIterable<Uint8Array>,
  batch: readonly EvidenceRecord[] = [],
  putChunk: (digest: string, data: Uint8Array) => Promise<void> = (digest, data) => ctx.blobs.put(digest, data),
): Promise<EvidenceRecord> {
  const checked = await checkMetadata(ctx, caseId, metadata, batch)
  const chunkSize = ctx.config.transfers.chunkSize
  const chunks = chunkStream(body, chunkSize)
  let step: IteratorResult<Chunk, ContentSummary>
  try {
    step = await chunks.next()
    while (step.done !== true) {
      const chunk = step.value
      if (chunk.index >= EVIDENCE_LIMITS.maxChunks) {
        throw new VerificationError('CW_ERR_TOO_LARGE', `evidence larger than ${EVIDENCE_LIMITS.maxChunks} chunks of ${chunkSize} bytes`)
      }
      // chunk.data is the generator's buffer: it must be stored before the generator resumes.
      await putChunk(chunk.digest, chunk.data)
      step = await chunks.next()
    }
  } catch (error) {
    // Closes the chunker, which stops reading (and so releases) the body.
    await chunks.return(undefined as unknown as ContentSummary).catch(() => undefined)
    throw error
  }
  const summary = step.value
  crashPoint('evidence.chunks-stored')
  return {
    id: randomUUID(),
    caseId,
    folderId: checked.folderId,
    name: checked.name,
    category: checked.category,
    mediaType: checked.mediaType,
    size: summary.size,
    digest: summary.digest,
    chunkSize,
    chunks: summary.chunks,
    doNotDisclose: checked.doNotDisclose,
    attachmentOf: checked.attachmentOf,
    createdAt: Math.floor(ctx.clock.now().getTime() / 1000),
  }
}

/** The second half: inserts `records` (from {@link storeEvidenceContent}) and their `evidence.uploaded` events in one transaction. */
export async function addEvidence(ctx: NodeContext, records: readonly EvidenceRecord[], actor: Actor = SYSTEM_ACTOR): Promise<void> {
  await ctx.transaction(async (tx) => {
    for (const record of records) {
      await tx.store.cases.insertEvidence(record)
      tx.record({ type: 'evidence.uploaded', caseId: record.caseId, actor, evidenceId: record.id, digest: record.digest, size: record.size })
    }
  })
  // One line at info per upload, however many items it stored; the items at debug.
  const level = records.length === 1 ? 'info' : 'debug'
  for (const record of records) ctx.log[level]({ caseId: record.caseId, evidenceId: record.id, size: record.size, digest: record.digest }, 'evidence stored')
  if (records.length > 1) {
    const bytes = records.reduce((sum, record) => sum + record.size, 0)
    ctx.log.info({ caseId: records[0]!.caseId, items: records.length, bytes }, 'evidence batch stored')
  }
}

/**
 * spec: CW-LOC-040, CW-LOC-041 — deletes evidence `evidence` from its case and records
 * `evidence.deleted` in the same transaction. Its chunks are left to the blob collector, which
 * frees those nothing else names (another item, a share, an external case may hold the same
 * bytes). Refused while a share of its case in force names its chunks — the partner may still
 * fetch them and the signed manifest lists the item: revoke the share, or let it expire, first —
 * while a link share in force has it in its package, or is still building a package of its case,
 * and while another item is an attachment of it.
 *
 * @throws {RequestError} `CW_ERR_CONFLICT`.
 */
export async function deleteEvidence(ctx: NodeContext, evidence: EvidenceRecord, actor: Actor = SYSTEM_ACTOR): Promise<void> {
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  await ctx.transaction(async (tx) => {
    // Checked in the transaction that deletes: a share made meanwhile cannot slip between.
    const shares = await tx.store.chunks.sharesNaming(evidence.caseId, evidence.chunks, now)
    if (shares.length > 0) {
      throw new RequestError(
        'CW_ERR_CONFLICT',
        `evidence "${evidence.id}" is in share ${shares.join(', ')}, still in force: revoke the share (or let it expire) before deleting it`,
      )
    }
    const links = await linkSharesIncluding(tx.store, evidence, now)
    if (links.length > 0) {
      throw new RequestError(
        'CW_ERR_CONFLICT',
        `evidence "${evidence.id}" is in the package of link share ${links.join(', ')}, still in force: revoke it (or let it expire) before deleting the evidence`,
      )
    }
    const attachments = (await tx.store.cases.listEvidence(evidence.caseId)).filter((item) => item.attachmentOf === evidence.id)
    if (attachments.length > 0) {
      throw new RequestError('CW_ERR_CONFLICT', `evidence ${attachments.map((item) => `"${item.id}"`).join(', ')} is attached to it: delete that first`)
    }
    await tx.store.cases.deleteEvidence(evidence.id)
    tx.record({ type: 'evidence.deleted', caseId: evidence.caseId, actor, evidenceId: evidence.id, digest: evidence.digest, size: evidence.size })
  })
  ctx.log.info({ caseId: evidence.caseId, evidenceId: evidence.id }, 'evidence deleted')
}

/** @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function getEvidence(ctx: NodeContext, id: string): Promise<EvidenceRecord> {
  const record = await ctx.store.cases.getEvidence(id)
  if (record === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no evidence "${id}"`)
  return record
}

/** @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function listEvidence(ctx: NodeContext, caseId: string): Promise<EvidenceRecord[]> {
  await requireCase(ctx, caseId)
  return ctx.store.cases.listEvidence(caseId)
}

/** The evidence record and a stream of its bytes. @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function openEvidence(ctx: NodeContext, id: string): Promise<{ evidence: EvidenceRecord; stream: Readable }> {
  const evidence = await getEvidence(ctx, id)
  return { evidence, stream: openChunks(ctx, evidence.chunks) }
}

/**
 * The concatenation of the blobs `digests`, opened one at a time as the reader pulls: never
 * more than the streams' buffers in memory. Destroying the result closes the open blob.
 *
 * With `within`, only the bytes `range` (inclusive offsets in the item) of an item cut into
 * `chunkSize` chunks: chunk `i` starts at `i * chunkSize` (CW-FMT-002), so the chunks before
 * the range are never opened and the first and last are read only in part.
 */
export function openChunks(ctx: Pick<NodeContext, 'blobs'>, digests: readonly string[], within?: { range: ByteRange; chunkSize: number }): Readable {
  async function* concatenate(): AsyncGenerator<Uint8Array> {
    for (const [index, digest] of digests.entries()) {
      let part: ByteRange | undefined
      if (within !== undefined) {
        const { range, chunkSize } = within
        const chunkStart = index * chunkSize
        const chunkEnd = chunkStart + chunkSize - 1
        if (chunkEnd < range.start) continue
        if (chunkStart > range.end) break
        part = { start: Math.max(range.start - chunkStart, 0), end: Math.min(range.end, chunkEnd) - chunkStart }
      }
      const blob = await ctx.blobs.get(digest, part)
      for await (const piece of blob) yield piece as Uint8Array
    }
  }
  return Readable.from(concatenate(), { objectMode: false })
}

interface CheckedMetadata {
  name: string
  folderId: string | null
  category: string
  mediaType: string
  doNotDisclose: boolean
  attachmentOf: string | null
}

async function checkMetadata(ctx: NodeContext, caseId: string, metadata: EvidenceMetadata, batch: readonly EvidenceRecord[]): Promise<CheckedMetadata> {
  const { name, category, mediaType } = metadata ?? {}
  // spec: CW-FMT-007 — the rule a partner's names are held to, so whatever is shared is receivable.
  if (!isItemName(name)) {
    throw bad(
      `name must be one path component of 1 to ${EVIDENCE_LIMITS.maxNameLength} characters: no control or bidirectional characters, no / or \\, not . or ..`,
      '/name',
    )
  }
  if (typeof category !== 'string' || !EVIDENCE_LIMITS.categoryPattern.test(category)) {
    throw bad(`category must match ${EVIDENCE_LIMITS.categoryPattern.source}`, '/category')
  }
  if (typeof mediaType !== 'string' || mediaType.length > EVIDENCE_LIMITS.maxMediaTypeLength || !EVIDENCE_LIMITS.mediaTypePattern.test(mediaType)) {
    throw bad('mediaType must be a media type such as video/mp4, without parameters', '/mediaType')
  }
  const doNotDisclose = metadata.doNotDisclose ?? false
  if (typeof doNotDisclose !== 'boolean') throw bad('doNotDisclose must be a boolean', '/doNotDisclose')
  const folderId = metadata.folderId ?? null
  const attachmentOf = metadata.attachmentOf ?? null
  await requireCase(ctx, caseId)
  if (folderId !== null) {
    const folders = await ctx.store.cases.listFolders(caseId)
    if (typeof folderId !== 'string' || !folders.some((folder) => folder.id === folderId)) {
      throw bad(`"${String(folderId)}" is not a folder of case "${caseId}"`, '/folderId')
    }
  }
  if (attachmentOf !== null) {
    const target =
      typeof attachmentOf === 'string' ? (batch.find((record) => record.id === attachmentOf) ?? (await ctx.store.cases.getEvidence(attachmentOf))) : undefined
    if (target === undefined || target.caseId !== caseId) {
      throw bad(`"${String(attachmentOf)}" is not evidence of case "${caseId}"`, '/attachmentOf')
    }
  }
  return { name, folderId, category, mediaType, doNotDisclose, attachmentOf }
}

function bad(message: string, at: string): RequestError {
  return new RequestError('CW_ERR_BAD_REQUEST', message, { at })
}

/** The link shares in force whose package holds `evidence`, or may (still being built). */
async function linkSharesIncluding(store: Repositories, evidence: EvidenceRecord, now: number): Promise<string[]> {
  const found: string[] = []
  for (const link of await store.linkShares.list(evidence.caseId)) {
    if (link.expiresAt <= now || (link.state !== 'processing' && link.state !== 'ready')) continue
    const members = link.state === 'ready' ? await store.linkShares.listMembers(link.id) : undefined
    if (members === undefined || members.some((member) => member.source.kind === 'evidence' && member.source.id === evidence.id)) found.push(link.id)
  }
  return found
}
