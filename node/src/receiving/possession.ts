/**
 * Receiver: proof of possession (SPEC.md CW-POS-001..005). A partner gets evidence into an
 * external case only by delivering every chunk of it, unless it has itself delivered that chunk
 * to this node before. What the node holds from local uploads or from other partners never
 * shortens `needed` nor fills an external case: otherwise a partner who learned a digest could
 * read, through one local recipient, evidence of a case it was never shown (finding 1 of
 * issue 11), and the offer answer would tell any partner whether the node holds a file
 * (finding 2).
 *
 * @module
 */
import type { CaseManifest } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { MetadataStore } from '../store/metadata_store.ts'

/** The distinct chunk digests of a manifest, in manifest order. */
export function distinctChunks(manifest: CaseManifest): string[] {
  const digests = new Set<string>()
  for (const item of manifest.evidence) for (const chunk of item.chunks) digests.add(chunk)
  return [...digests]
}

/**
 * spec: CW-FED-003, CW-POS-001, CW-POS-002 — the `needed` of the offer answer: every distinct
 * chunk digest of `manifest` that `partnerOrg` has not itself delivered to this node before.
 * It reads the partner's possession record only, never the blob store, so the answer is the
 * same whether or not the node holds a chunk from anyone else.
 */
export async function neededChunks(store: MetadataStore, partnerOrg: string, manifest: CaseManifest): Promise<string[]> {
  const digests = distinctChunks(manifest)
  const delivered = await store.chunks.delivered(partnerOrg, digests)
  return digests.filter((digest) => !delivered.has(digest))
}

/**
 * spec: CW-POS-003 — the chunks the fetch job must pull from `partnerOrg`: those it is asked for
 * ({@link neededChunks}), and any it delivered before whose bytes are no longer stored.
 */
export async function chunksToPull(ctx: NodeContext, partnerOrg: string, manifest: CaseManifest): Promise<string[]> {
  const digests = distinctChunks(manifest)
  const delivered = await ctx.store.chunks.delivered(partnerOrg, digests)
  const pull: string[] = []
  for (const digest of digests) if (!delivered.has(digest) || !(await ctx.blobs.has(digest))) pull.push(digest)
  return pull
}

/**
 * spec: CW-POS-005 — records that `partnerOrg` delivered chunk `digest`. Call only after the
 * blob store accepted the bytes (digest matched, stored durably): a crash before this line
 * costs one more pull of the chunk, never a chunk counted as delivered that was not.
 */
export async function recordDelivered(ctx: NodeContext, partnerOrg: string, digest: string): Promise<void> {
  await ctx.store.chunks.recordDelivered(partnerOrg, digest, Math.floor(ctx.clock.now().getTime() / 1000))
}

/** {@link recordDelivered} for a group of chunks the blob store made durable together: one commit for all. */
export async function recordDeliveredGroup(ctx: NodeContext, partnerOrg: string, digests: readonly string[]): Promise<void> {
  await ctx.store.chunks.recordDeliveredAll(partnerOrg, digests, Math.floor(ctx.clock.now().getTime() / 1000))
}
