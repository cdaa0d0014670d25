/**
 * What the receiver answers a revision with (SPEC.md §16 "Receipts"): every item checked
 * against its whole-file digest, then a signed receipt — for the applied revision of an
 * inbound share (`fetch_job.ts`) and for a revision held pending (`revision_fetch.ts`) alike.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto'
import { DIGEST_PREFIX, PROTOCOL_VERSION, signReceipt, type CaseManifest, type DeliveryReceipt, type EvidenceItem } from '#protocol'
import type { NodeContext } from '../context.ts'
import { openChunks } from '../cases/evidence.ts'

/** Longest a receipt is valid; it is re-signed if it expires before the sender takes it. */
export const RECEIPT_LIFETIME_SECONDS = 86_400

export type ReceiptProblem = NonNullable<DeliveryReceipt['problem']>

/** The revision a receipt answers. */
export interface ReceiptSubject {
  senderOrg: string
  shareId: string
  revision: number
  /** The digest of that revision's manifest (CW-REC-001). */
  manifestDigest: string
  /** The receipt never outlives the share (Unix seconds). */
  expiresAt: number
}

/** spec: CW-REC-001, CW-SIG-014 — signed by us to the sender, naming the manifest digest; exp ≤ a day and ≤ the share's expiry. */
export async function issueReceipt(
  ctx: Pick<NodeContext, 'identity'>,
  subject: ReceiptSubject,
  problem: ReceiptProblem | undefined,
  now: number,
): Promise<string> {
  const receipt: DeliveryReceipt = {
    cwv: PROTOCOL_VERSION,
    iss: ctx.identity.org,
    aud: subject.senderOrg,
    iat: now,
    exp: Math.max(now + 1, Math.min(now + RECEIPT_LIFETIME_SECONDS, subject.expiresAt)),
    jti: randomUUID(),
    share: subject.shareId,
    revision: subject.revision,
    manifest: subject.manifestDigest,
    status: problem === undefined ? 'delivered' : 'rejected',
  }
  if (problem !== undefined) receipt.problem = problem
  return signReceipt(receipt, ctx.identity.signer)
}

/** What makes an item's check the same as another's: its digest, size and exact chunk list. */
export function itemIdentity(item: Pick<EvidenceItem, 'digest' | 'size' | 'chunks'>): string {
  return `${item.digest} ${item.size} ${item.chunks.join(' ')}`
}

/**
 * spec: CW-FED-008, CW-REC-002 — the first item whose bytes do not hash to its digest, as a
 * receipt problem; undefined when all match. Items in `verifiedBefore` (by {@link itemIdentity})
 * were checked by this node in an earlier revision of the same share, from the same
 * content-addressed chunks (each verified against its digest when stored, and pulled again if
 * missing): they are not read again, so a revision costs its new items, not the whole share.
 */
export async function checkItems(
  ctx: Pick<NodeContext, 'blobs'>,
  manifest: CaseManifest,
  signal: AbortSignal,
  verifiedBefore: ReadonlySet<string> = new Set(),
): Promise<ReceiptProblem | undefined> {
  const checked = new Set<string>()
  const toCheck: EvidenceItem[] = []
  for (const item of manifest.evidence) {
    if (checked.has(item.digest) || verifiedBefore.has(itemIdentity(item))) continue
    checked.add(item.digest)
    toCheck.push(item)
  }
  // A few items at a time, in manifest order: ten thousand small items one after another were
  // ten thousand round trips to the blob store. The first that does not match is the problem.
  for (let start = 0; start < toCheck.length; start += ITEMS_CHECKED_AT_ONCE) {
    signal.throwIfAborted()
    const window = toCheck.slice(start, start + ITEMS_CHECKED_AT_ONCE)
    const matches = await Promise.all(window.map((item) => itemMatches(ctx, item)))
    const failed = window.find((_, index) => !matches[index])
    if (failed !== undefined) {
      return { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', detail: `evidence "${failed.id}": its chunks do not make up its size and digest` }
    }
  }
  return undefined
}

/** Items checked side by side: each reads at most one 1 MiB buffer at a time, so this bounds the memory too. */
const ITEMS_CHECKED_AT_ONCE = 16

/**
 * Streams the item's chunks in order through SHA-256 — except for an item that is one chunk
 * whose digest is the item's digest (every item up to its chunk size): both are SHA-256 of the
 * same bytes (CW-FMT-003), and the blob store holds a blob only under the digest its bytes
 * hashed to (CW-FED-007), so the stored blob of that size is the item. Reading it again would
 * hash it a second time for nothing (ten thousand small items: seconds). Any other item,
 * including one chunk whose digest differs from the item's, is read and hashed whole.
 */
async function itemMatches(ctx: Pick<NodeContext, 'blobs'>, item: EvidenceItem): Promise<boolean> {
  if (item.chunks.length === 1 && item.chunks[0] === item.digest) return (await ctx.blobs.size(item.digest)) === item.size
  const hash = createHash('sha256')
  let size = 0
  for await (const piece of openChunks(ctx, item.chunks)) {
    hash.update(piece as Uint8Array)
    size += (piece as Uint8Array).byteLength
  }
  return size === item.size && DIGEST_PREFIX + hash.digest('hex') === item.digest
}
