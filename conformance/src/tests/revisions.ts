/**
 * Revisions (SPEC.md §10 "Revisions", CW-REVN-002, CW-REVN-005, CW-FED-004, CW-MAN-001): the
 * target accepts only the next revision after the latest it holds, pulls only the chunks it
 * does not hold, answers each revision with its own receipt, treats an identical re-offer as a
 * retry, and refuses stale, conflicting and skipping revisions without keeping anything of
 * them (the valid next revision, with the same `jti`, is accepted afterwards).
 *
 * @module
 */
import { assertOfferAnswer, type CaseManifest } from '#protocol'
import { check, expectShape, expectStatus, jsonOf } from '../check.ts'
import { chunksOf, deliver, expectOfferAnswer, expectOnlyListedPulls, expectRefusedWithoutTrace, expectReceipt, type OfferedRevision } from '../receiving.ts'
import type { HarnessShare } from '../shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

/** A share delivered as revision 1, and one more item for the next revision. */
async function deliveredShare(ctx: TestContext): Promise<{ share: HarnessShare; r1: OfferedRevision; held: Set<string> }> {
  const share = ctx.newShare({ items: [{ size: 3000 }, { size: 2000, category: 'photo' }] })
  const r1 = await deliver(ctx, share)
  return { share, r1, held: new Set(chunksOf(r1.manifest)) }
}

/** Adds an item (registered with the listener) and returns the next revision's payload. */
async function nextRevision(ctx: TestContext, share: HarnessShare): Promise<CaseManifest> {
  share.addItems([{ size: 2500 }])
  ctx.listener.serve({ id: share.id, chunks: share.chunks() })
  return share.manifest()
}

/** A stale variant of `valid` (same share id and jti): refused, then `valid` is accepted. */
async function staleThenValid(
  ctx: TestContext,
  share: HarnessShare,
  valid: CaseManifest,
  held: Set<string>,
  change: (manifest: CaseManifest) => void,
  note: string,
): Promise<void> {
  const broken = structuredClone(valid)
  change(broken)
  const { problem } = await expectRefusedWithoutTrace(ctx, share, valid, { jws: await share.sign(broken), note }, 'CW_ERR_STALE_REVISION', held)
  ctx.note(`refused: ${problem.detail}`)
}

export const REVISION_TESTS: ConformanceTest[] = [
  {
    id: 'revisions.next-revision-delivered',
    title: 'Revision 2 with previous = digest of revision 1 is accepted with only its new chunks needed and gets its own delivered receipt',
    group: 'revisions',
    spec: ['CW-REVN-002', 'CW-REVN-005', 'CW-MAN-001', 'CW-FED-003', 'CW-REC-001'],
    async run(ctx) {
      const { share, r1, held } = await deliveredShare(ctx)
      const r2 = await deliver(ctx, share, await nextRevision(ctx, share), held)
      check(r2.manifest.share.previous === r1.digest, 'harness: previous = digest of revision 1', String(r2.manifest.share.previous))
      expectOnlyListedPulls(ctx, share, [r1.manifest, r2.manifest])
    },
  },
  {
    id: 'revisions.identical-revision-again',
    title: 'Offering again the identical revision 2, or revision 1 after it, is a retry answered 200',
    group: 'revisions',
    spec: ['CW-FED-004', 'CW-REVN-002'],
    async run(ctx) {
      const { share, r1, held } = await deliveredShare(ctx)
      const r2 = await deliver(ctx, share, await nextRevision(ctx, share), held)
      const again = expectStatus(await ctx.offer(r2.jws, 'revision 2 again, identical'), [200], '(identical re-offer, CW-FED-004)')
      const answer = expectOfferAnswer(again, r2.manifest)
      check(answer.status === 'complete' && answer.needed.length === 0, '"status": "complete", nothing needed', again.text, again.request)
      const first = expectStatus(
        await ctx.offer(r1.jws, 'revision 1 again, identical, after revision 2'),
        [200],
        '(identical re-offer of a held revision, CW-REVN-002)',
      )
      const body = expectShape(jsonOf(first), assertOfferAnswer, 'an offer answer (offer-answer schema)', first.request)
      check(body.share === share.id, `share "${share.id}" in the answer`, first.text, first.request)
    },
  },
  {
    id: 'revisions.other-manifest-same-revision',
    title: 'Another manifest for the revision the target holds is refused with CW_ERR_STALE_REVISION and leaves no trace',
    group: 'revisions',
    spec: ['CW-FED-004', 'CW-REVN-002', 'CW-FED-001'],
    async run(ctx) {
      const { share, r1, held } = await deliveredShare(ctx)
      const valid = await nextRevision(ctx, share)
      await staleThenValid(
        ctx,
        share,
        valid,
        held,
        (manifest) => {
          manifest.share.revision = 1
          delete manifest.share.previous
          manifest.share.message = 'A different revision 1.'
        },
        `another manifest for revision 1 (held: ${r1.digest})`,
      )
    },
  },
  {
    id: 'revisions.wrong-previous',
    title: 'Revision 2 whose previous is not the digest of revision 1 is refused with CW_ERR_STALE_REVISION and leaves no trace',
    group: 'revisions',
    spec: ['CW-FED-004', 'CW-REVN-002', 'CW-MAN-001', 'CW-FED-001'],
    async run(ctx) {
      const { share, r1, held } = await deliveredShare(ctx)
      const valid = await nextRevision(ctx, share)
      await staleThenValid(
        ctx,
        share,
        valid,
        held,
        (manifest) => {
          // The digest of a revision 1 that was never offered.
          manifest.share.previous = `sha256:${'0'.repeat(63)}1`
        },
        `revision 2 with a wrong previous (revision 1 is ${r1.digest})`,
      )
    },
  },
  {
    id: 'revisions.skipped-revision',
    title: 'Revision 4 when revision 2 is the latest (skipping 3) is refused with CW_ERR_STALE_REVISION; revision 3 is accepted afterwards',
    group: 'revisions',
    spec: ['CW-REVN-002', 'CW-FED-001'],
    async run(ctx) {
      const { share, held } = await deliveredShare(ctx)
      const r2 = await deliver(ctx, share, await nextRevision(ctx, share), held)
      for (const digest of chunksOf(r2.manifest)) held.add(digest)
      const valid = await nextRevision(ctx, share)
      await staleThenValid(
        ctx,
        share,
        valid,
        held,
        (manifest) => {
          manifest.share.revision = 4
        },
        'revision 4 (previous = digest of revision 2) when revision 2 is the latest',
      )
    },
  },
  {
    id: 'revisions.lower-revision',
    title: 'A new manifest for revision 1 after revision 2 was accepted is refused with CW_ERR_STALE_REVISION; revision 3 is accepted afterwards',
    group: 'revisions',
    spec: ['CW-FED-004', 'CW-REVN-002', 'CW-FED-001'],
    async run(ctx) {
      const { share, held } = await deliveredShare(ctx)
      const r2 = await deliver(ctx, share, await nextRevision(ctx, share), held)
      for (const digest of chunksOf(r2.manifest)) held.add(digest)
      const valid = await nextRevision(ctx, share)
      await staleThenValid(
        ctx,
        share,
        valid,
        held,
        (manifest) => {
          manifest.share.revision = 1
          delete manifest.share.previous
        },
        'a revision 1 after revision 2 was accepted',
      )
      // The valid revision 3 is delivered as well (the refusal changed nothing).
      await expectReceipt(ctx, share.revisions.get(3)!, 'delivered')
    },
  },
]
