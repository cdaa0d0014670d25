/**
 * Proof of possession (SPEC.md §16 "Proof of possession", CW-POS-001..003): a receiver asks a
 * partner for every chunk that partner has not delivered itself, even when it holds the bytes,
 * and its offer answer is the same whether or not it holds them. The harness makes the target
 * hold chunks from a local upload (control endpoint EP-6: the target stores random evidence and
 * shares it with the harness), learns their digests and bytes from that share, then offers a
 * share of its own carrying the same item: a receiver that fills external cases from its
 * node-wide store leaves those chunks out of `needed` — and would hand evidence of one case to
 * anyone who knows its digests.
 *
 * Group `receiver` (the target receives); both tests need the control endpoints.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { digestBytes, type EvidenceItem } from '#protocol'
import { check, expectStatus } from '../check.ts'
import { chunksOf, expectAllPulledBefore, expectOfferAnswer, expectReceipt, offerAccepted } from '../receiving.ts'
import { pullWhole, shareFromTarget } from '../sender_shares.ts'
import type { HarnessShare } from '../shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

/** Two full chunks and a short one at the smallest chunk size. */
const LOCAL_ITEM_SIZE = 2 * 65_536 + 700

/**
 * An item the target holds from a local upload, with its bytes (pulled from the share EP-6
 * made). Skips when the policy the target assigned to the harness shares no document.
 */
async function locallyHeldItem(ctx: TestContext): Promise<{ item: EvidenceItem; bytes: Buffer }> {
  const received = await shareFromTarget(
    ctx,
    { fields: { title: 'Possession' }, items: [{ size: LOCAL_ITEM_SIZE, category: 'document' }] },
    'control: the target stores a document of its own (a local upload) and shares it with the harness',
  )
  const item = received.manifest.evidence[0]
  if (item === undefined) ctx.skip("the target's policy for the harness shares no document: assign a policy that allows them (conformance/README.md)")
  const parts: Buffer[] = []
  for (const digest of item.chunks) parts.push(Buffer.from((await pullWhole(ctx, received.share, digest)).body))
  return { item, bytes: Buffer.concat(parts) }
}

/** A new harness share whose only item has the content (and so the digests) of `held`. */
function shareCarrying(ctx: TestContext, held: { item: EvidenceItem; bytes: Buffer }): HarnessShare {
  const share = ctx.newShare({ items: [{ size: held.item.size }] })
  const own = share.items[0]!.item
  share.items[0] = {
    item: { ...own, size: held.item.size, digest: held.item.digest, chunkSize: held.item.chunkSize, chunks: [...held.item.chunks] },
    bytes: held.bytes,
  }
  ctx.listener.serve({ id: share.id, chunks: share.chunks() })
  return share
}

/** An item of `item`'s size and chunk size with fresh random bytes. */
function randomLike(item: EvidenceItem): { item: EvidenceItem; bytes: Buffer } {
  const bytes = randomBytes(item.size)
  const chunks: string[] = []
  for (let offset = 0; offset < bytes.length; offset += item.chunkSize) chunks.push(digestBytes(bytes.subarray(offset, offset + item.chunkSize)))
  return { item: { ...item, digest: digestBytes(bytes), chunks }, bytes }
}

export const POSSESSION_TESTS: ConformanceTest[] = [
  {
    id: 'receiver.possession-held-chunks-needed',
    title: 'Chunks the target holds from a local upload are still needed from the partner, pulled from it, and only then delivered',
    group: 'receiver',
    spec: ['CW-POS-001', 'CW-POS-003', 'CW-FED-003'],
    requires: ['control'],
    async run(ctx) {
      const held = await locallyHeldItem(ctx)
      const share = shareCarrying(ctx, held)
      const offered = await offerAccepted(ctx, share, undefined, { note: 'a share whose item is the content of the target’s own upload' })
      const missing = held.item.chunks.filter((digest) => !offered.answer.needed.includes(digest))
      check(
        missing.length === 0,
        `"needed" lists all ${held.item.chunks.length} chunks the target holds from its own upload: the harness never delivered them (CW-POS-001)`,
        `${missing.length} left out: ${JSON.stringify(offered.answer)}`,
        offered.exchange.request,
      )
      const { event } = await expectReceipt(ctx, offered, 'delivered')
      // CW-POS-003: the target built the external case from chunks the harness delivered.
      expectAllPulledBefore(ctx, share, offered.manifest, event.at)
    },
  },
  {
    id: 'receiver.possession-answer-independent-of-holdings',
    title: 'The offer answer is the same whether or not the target holds the chunks (no deduplication oracle)',
    group: 'receiver',
    spec: ['CW-POS-002', 'CW-POS-001'],
    requires: ['control'],
    async run(ctx) {
      const held = await locallyHeldItem(ctx)
      const heldShare = shareCarrying(ctx, held)
      // The same shape (size, chunk size) with random bytes no one but the harness has.
      const fresh = shareCarrying(ctx, randomLike(held.item))

      const answers = []
      for (const [share, what] of [
        [heldShare, 'chunks the target holds'],
        [fresh, 'chunks the target cannot hold'],
      ] as const) {
        const manifest = await share.manifest()
        const exchange = expectStatus(await ctx.offer(await share.sign(manifest), `a share of ${what}`), [202], '(offer accepted, CW-FED-003)')
        const answer = expectOfferAnswer(exchange, manifest)
        share.offered(manifest)
        const chunks = chunksOf(manifest)
        answers.push({ status: exchange.status, state: answer.status, needed: answer.needed.map((digest) => chunks.indexOf(digest)), text: exchange.text })
      }
      const [a, b] = answers as [(typeof answers)[0], (typeof answers)[0]]
      check(
        a.status === b.status && a.state === b.state && JSON.stringify(a.needed) === JSON.stringify(b.needed),
        'the same answer for both offers: status, "status" and the positions "needed" lists (CW-POS-002)',
        `held: ${a.text}; not held: ${b.text}`,
      )
    },
  },
]
