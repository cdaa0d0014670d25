/**
 * The blob collector: mark and sweep over the content-addressed blob store. Chunks are shared
 * by content (one chunk may belong to several items, cases and shares), so a chunk is deleted
 * only when no record names it any more, never when one item goes.
 *
 * - Mark: the metadata store answers every chunk digest a record still needs
 *   (`ChunkRepository.referenced`; the sources are listed once, in
 *   `store/sqlite/chunk_references.ts`): evidence, shares in force, external cases in force.
 * - Sweep: every stored blob not marked and older than `storage.blobCollection.graceMs` is
 *   deleted, then no partner counts as having delivered it (its next offer is asked for it
 *   again, CW-POS-005).
 *
 * Safe against uploads running meanwhile: an upload stores its chunks before the record that
 * names them, and a chunk stored during the grace period is young; storing a chunk that is
 * already there makes it young again (`BlobStore.put`), and the delete itself spares a blob
 * stored again since the cut-off (`unmodifiedSince`). Marking first and listing after means a
 * record made during the sweep names young blobs, blobs already marked, or chunks its partner
 * delivered before — and a fetch pulls such a chunk again when its blob is gone (CW-POS-003).
 *
 * Collections may overlap (the timer, the API, other replicas): a blob is counted freed only by
 * the delete that removed it. The cost is one pass over the store's references (a set of digests
 * in memory, about 150 bytes a chunk) and one listing of the blob store, streamed.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR, type Actor } from '../events.ts'

/** What one collection found and did. */
export interface BlobCollection {
  dryRun: boolean
  /** Blobs listed. */
  examined: number
  /** Blobs a record names: kept. */
  referenced: number
  /** Blobs no record names but younger than the grace period (an upload in progress): kept. */
  young: number
  /** Blobs deleted (a dry run: that would be deleted). */
  freed: number
  /** Their bytes. */
  bytesFreed: number
}

type CollectorContext = Pick<NodeContext, 'store' | 'blobs' | 'clock' | 'config' | 'log' | 'record'>

/**
 * Runs one collection now. A dry run deletes nothing and reports what a collection would delete.
 * A collection that deleted blobs records `blobs.collected` (audit trail, metrics).
 */
export async function collectBlobs(ctx: CollectorContext, options: { dryRun?: boolean; actor?: Actor } = {}): Promise<BlobCollection> {
  const dryRun = options.dryRun ?? false
  const now = ctx.clock.now()
  const cutoff = new Date(now.getTime() - ctx.config.storage.blobCollection.graceMs)
  const marked = await ctx.store.chunks.referenced(Math.floor(now.getTime() / 1000))
  const result: BlobCollection = { dryRun, examined: 0, referenced: 0, young: 0, freed: 0, bytesFreed: 0 }
  for await (const blob of ctx.blobs.list()) {
    result.examined += 1
    if (marked.has(blob.digest)) {
      result.referenced += 1
    } else if (blob.modifiedAt > cutoff) {
      result.young += 1
    } else if (dryRun || (await ctx.blobs.delete(blob.digest, { unmodifiedSince: cutoff }))) {
      if (!dryRun) await ctx.store.chunks.forgetDelivered(blob.digest)
      result.freed += 1
      result.bytesFreed += blob.size
    }
  }
  if (!dryRun && result.freed > 0) {
    await ctx.record({ type: 'blobs.collected', actor: options.actor ?? SYSTEM_ACTOR, freed: result.freed, bytes: result.bytesFreed })
  }
  ctx.log.info({ ...result }, 'blob collection done')
  return result
}

/** Collects every `storage.blobCollection.intervalMs` until stopped (the first one an interval after start). */
export function startBlobCollection(ctx: CollectorContext): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve()
  let stopped = false
  const schedule = (): NodeJS.Timeout =>
    setTimeout(() => {
      running = collectBlobs(ctx)
        .catch((err: unknown) => ctx.log.error({ err }, 'blob collection failed; tried again at the next interval'))
        .finally(() => {
          if (!stopped) timer = schedule()
        })
    }, ctx.config.storage.blobCollection.intervalMs).unref()
  let timer = schedule()
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
