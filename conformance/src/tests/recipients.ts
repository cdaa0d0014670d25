/**
 * The receiver-side recipients permission on the wire (SPEC.md CW-POL-008, CW-POL-009): a
 * policy may carry the optional `permissions.addRecipients`; a target accepts it in a grant
 * (direct, or kept along an onward chain) and refuses a hop that widens it with
 * `CW_ERR_POLICY_WIDENED` at `/permissions/addRecipients`, leaving no trace.
 *
 * And a coalesced revision (CW-REVN-011): a revision that adds many items and changes a field at
 * once, as a sender coalescing a bulk upload offers it, is accepted and delivered like any other.
 *
 * What the target's users may then do with the external case (CW-LOC-025, CW-LOC-026) is local
 * and tested on the node itself.
 *
 * @module
 */
import { digestJson, type Grant } from '#protocol'
import { check } from '../check.ts'
import { chunksOf, deliver, expectOnlyListedPulls, expectRefusedWithoutTrace } from '../receiving.ts'
import { openPolicy } from '../shares.ts'
import type { ConformanceTest } from '../suite.ts'

/** Recomputes every `parent` after grants were changed, so that only the intended fault remains. */
function relink(grants: Grant[]): Grant[] {
  for (let index = 1; index < grants.length; index++) grants[index]!.parent = digestJson(grants[index - 1]!)
  return grants
}

export const RECIPIENT_TESTS: ConformanceTest[] = [
  {
    id: 'chains.add-recipients-accepted',
    title: 'A grant whose policy permits addRecipients is accepted and delivered, directly and kept along an onward hop',
    group: 'chains',
    spec: ['CW-POL-001', 'CW-POL-008', 'CW-POL-009'],
    async run(ctx) {
      const policy = openPolicy({ permissions: { addRecipients: true } })
      const direct = ctx.newShare({ policy, items: [{ size: 2100 }] })
      const delivered = await deliver(ctx, direct)
      expectOnlyListedPulls(ctx, direct, [delivered.manifest])
      if (ctx.harness.aux.length < 1) {
        ctx.note('no auxiliary org: the onward hop was not tried')
        return
      }
      // aux[0] → harness → target, both grants permitting it (the child keeps what the parent has).
      const onward = ctx.newShare({ policy, hops: 1, items: [{ size: 1900, category: 'photo' }] })
      const kept = await deliver(ctx, onward)
      check(
        onward.grants.every((grant) => grant.policy.permissions.addRecipients === true),
        'harness: every grant permits addRecipients',
        '',
      )
      expectOnlyListedPulls(ctx, onward, [kept.manifest])
    },
  },
  {
    id: 'chains.add-recipients-widened',
    title: 'An onward hop that permits addRecipients when its parent does not (absent) is refused with CW_ERR_POLICY_WIDENED and leaves no trace',
    group: 'chains',
    spec: ['CW-POL-009', 'CW-POL-005', 'CW-FED-001'],
    async run(ctx) {
      if (ctx.harness.aux.length < 1) ctx.skip('needs an auxiliary org')
      const share = ctx.newShare({ hops: 1, items: [{ size: 2300 }] })
      const valid = await share.manifest()
      const grants = structuredClone(share.grants)
      check(grants[0]!.policy.permissions.addRecipients === undefined, 'harness: the parent grant leaves addRecipients out (false)', '')
      grants[1]!.policy.permissions.addRecipients = true
      const broken = structuredClone(valid)
      broken.grants = await share.signGrants(relink(grants))
      const jws = await share.sign(broken)
      const { problem } = await expectRefusedWithoutTrace(
        ctx,
        share,
        valid,
        { jws, note: 'grant 0 leaves addRecipients out; grant 1 (the harness to the target) permits it' },
        'CW_ERR_POLICY_WIDENED',
      )
      check(
        problem.at === undefined || problem.at.endsWith('/permissions/addRecipients'),
        'the problem names the widened rule (CW-POL-005 `at`)',
        String(problem.at),
      )
      ctx.note(`refused: ${problem.code} at ${problem.at ?? '(none)'}`)
    },
  },
  {
    id: 'revisions.coalesced-revision-delivered',
    title: 'A revision that adds many items and changes a field at once (a coalesced bulk upload) is accepted and delivered as the next revision',
    group: 'revisions',
    spec: ['CW-REVN-011', 'CW-REVN-002', 'CW-REVN-005'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 1500 }] })
      const r1 = await deliver(ctx, share)
      const added = share.addItems(Array.from({ length: 20 }, (_, index) => ({ size: 600 + index, category: index % 2 === 0 ? 'photo' : 'document' })))
      share.fields = { ...share.fields, summary: 'Twenty items uploaded in one burst.' }
      ctx.listener.serve({ id: share.id, chunks: share.chunks() })
      const r2 = await deliver(ctx, share, await share.manifest(), new Set(chunksOf(r1.manifest)))
      check(
        r2.manifest.share.revision === 2 && r2.manifest.evidence.length === 1 + added.length,
        'harness: revision 2 with 21 items',
        String(r2.manifest.evidence.length),
      )
      expectOnlyListedPulls(ctx, share, [r1.manifest, r2.manifest])
    },
  },
]
