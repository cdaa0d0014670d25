/**
 * Revocation, receiver side (SPEC.md §13, EP-5): the target accepts a verified revocation of a
 * share the harness sent it (`200 {"share", "status": "revoked"}`), answers the same and
 * changes nothing when it comes again, refuses later revisions of the revoked share, refuses
 * revocations that do not verify or do not come from the sharer (a revocation before its offer:
 * `versions.ts`, CW-FED-018), and revokes the onward shares it derived from a
 * revoked share (CW-REV-003, CW-REV-006; needs the control endpoints).
 *
 * A refused revocation must change nothing: the share still takes its next revision, and the
 * valid revocation with the refused one's `(iss, jti)` is accepted afterwards.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { assertControlShareAnswer, FEDERATION_PATHS, signRevocation, type ProblemCode, type Revocation } from '#protocol'
import { check, expectProblem, expectShape, expectStatus, fail, jsonOf } from '../check.ts'
import {
  chunksOf,
  deliver,
  quietMs,
  expectRevoked,
  offerAccepted,
  postRevocation,
  revocationPayload,
  revokeAccepted,
  type OfferedRevision,
} from '../receiving.ts'
import { unverifiedPayload } from '../raw_jws.ts'
import { openPolicy, signRaw, TEST_CHUNK_SIZE, type HarnessShare } from '../shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'
import { wrongSigners } from '../wrong_signers.ts'

/** Pulls that were on their way when the revocation was answered may still arrive this late. */
const IN_FLIGHT_MS = 500

/** A share delivered to the target (revision 1). */
async function deliveredShare(ctx: TestContext): Promise<{ share: HarnessShare; r1: OfferedRevision }> {
  const share = ctx.newShare({ items: [{ size: 2000 }] })
  return { share, r1: await deliver(ctx, share) }
}

/** The share was not revoked: its next revision is still accepted (`202`). */
async function expectStillLive(ctx: TestContext, share: HarnessShare, r1: OfferedRevision, why: string): Promise<void> {
  share.addItems([{ size: 1000 }])
  ctx.listener.serve({ id: share.id, chunks: share.chunks() })
  await offerAccepted(ctx, share, undefined, { held: new Set(chunksOf(r1.manifest)), note: `revision 2 after ${why} (the share must not be revoked)` })
}

/**
 * A revocation of a delivered share that is wrong in one way: refused with `code`; the share
 * still takes its next revision; then the valid revocation with the same jti is accepted.
 */
async function refusedRevocation(
  ctx: TestContext,
  code: ProblemCode,
  wrong: (valid: Revocation, ctx: TestContext) => Promise<{ jws: string; contentType?: string; note: string }>,
): Promise<void> {
  const { share, r1 } = await deliveredShare(ctx)
  const valid = revocationPayload(ctx, share.id)
  const { jws, contentType, note } = await wrong(valid, ctx)
  const answer =
    contentType === undefined
      ? await postRevocation(ctx, jws, note)
      : await ctx.client.send(FEDERATION_PATHS.revocations, { method: 'POST', body: jws, contentType, note })
  const problem = expectProblem(answer, code)
  ctx.note(`refused: ${problem.detail}`)
  await expectStillLive(ctx, share, r1, 'the refused revocation')
  await revokeAccepted(ctx, valid, 'the valid revocation with the same jti after the refusal (nothing remembered)')
}

/** The share id a manifest names (read unverified, to match offers the harness refused too). */
function offeredShareId(jws: string): unknown {
  const share = unverifiedPayload(jws)?.share
  return typeof share === 'object' && share !== null ? (share as { id?: unknown }).id : undefined
}

/** Flips one character in the middle of the signature segment. */
function breakSignature(jws: string): string {
  const cut = jws.lastIndexOf('.') + 20
  const replacement = jws[cut] === 'A' ? 'B' : 'A'
  return jws.slice(0, cut) + replacement + jws.slice(cut + 1)
}

export const REVOCATION_TESTS: ConformanceTest[] = [
  {
    id: 'revocation.accepted-and-idempotent',
    title: 'A revocation of a delivered share is answered 200 revoked; the same revocation again, and another one, get the same answer',
    group: 'revocation',
    spec: ['CW-REV-004', 'CW-REV-001'],
    async run(ctx) {
      const { share } = await deliveredShare(ctx)
      const first = revocationPayload(ctx, share.id)
      const jws = await signRevocation(first, ctx.harness.main.signer)
      expectRevoked(await postRevocation(ctx, jws, 'revocation of a delivered share'), share.id)
      expectRevoked(await postRevocation(ctx, jws, 'the same revocation again'), share.id)
      await revokeAccepted(ctx, revocationPayload(ctx, share.id, { reason: 'Revoked again.' }), 'another revocation (new jti) for the revoked share')
    },
  },
  {
    id: 'revocation.revoked-share-refuses-revisions',
    title: 'A new revision of a revoked share is refused with CW_ERR_SHARE_REVOKED',
    group: 'revocation',
    spec: ['CW-FED-004', 'CW-REV-003'],
    async run(ctx) {
      const { share } = await deliveredShare(ctx)
      await revokeAccepted(ctx, revocationPayload(ctx, share.id), 'revocation of a delivered share')
      share.addItems([{ size: 1000 }])
      ctx.listener.serve({ id: share.id, chunks: share.chunks() })
      const r2 = await share.manifest()
      expectProblem(await ctx.offer(await share.sign(r2), 'revision 2 of the revoked share'), 'CW_ERR_SHARE_REVOKED')
    },
  },
  {
    id: 'revocation.issuer-not-peer',
    title: 'A revocation signed by another trusted organization (iss ≠ the connected peer) is refused with CW_ERR_PEER_MISMATCH',
    group: 'revocation',
    spec: ['CW-REV-004', 'CW-REV-001'],
    async run(ctx) {
      const aux = ctx.harness.aux[0]
      if (aux === undefined) ctx.skip('needs an auxiliary org')
      await refusedRevocation(ctx, 'CW_ERR_PEER_MISMATCH', async (valid) => ({
        jws: await signRevocation({ ...valid, iss: aux.org }, aux.signer),
        note: `revocation signed by ${aux.org} (pinned trust-only), sent by the harness`,
      }))
    },
  },
  {
    id: 'revocation.wrong-audience',
    title: 'A revocation addressed to another organization is refused with CW_ERR_AUDIENCE_MISMATCH',
    group: 'revocation',
    spec: ['CW-REV-004', 'CW-SIG-010'],
    async run(ctx) {
      await refusedRevocation(ctx, 'CW_ERR_AUDIENCE_MISMATCH', async (valid, ctx) => {
        const other = ctx.harness.aux[0]?.org ?? ctx.harness.main.org
        return { jws: await signRevocation({ ...valid, aud: other }, ctx.harness.main.signer), note: `revocation with aud ${other}` }
      })
    },
  },
  {
    id: 'revocation.bad-signature',
    title: 'A revocation whose signature does not verify is refused with CW_ERR_SIGNATURE_INVALID',
    group: 'revocation',
    spec: ['CW-REV-004', 'CW-SIG-008'],
    async run(ctx) {
      await refusedRevocation(ctx, 'CW_ERR_SIGNATURE_INVALID', async (valid, ctx) => ({
        jws: breakSignature(await signRevocation(valid, ctx.harness.main.signer)),
        note: 'revocation with one signature character changed',
      }))
    },
  },
  {
    id: 'revocation.typ-manifest',
    title: 'A revocation signed as typ caseway-manifest+jws is refused on EP-5 with CW_ERR_TYP_INVALID',
    group: 'revocation',
    spec: ['CW-REV-004', 'CW-SIG-005'],
    async run(ctx) {
      await refusedRevocation(ctx, 'CW_ERR_TYP_INVALID', async (valid, ctx) => ({
        jws: await signRaw('manifest', valid, ctx.harness.main.signer),
        note: 'revocation payload signed with typ caseway-manifest+jws',
      }))
    },
  },
  {
    id: 'revocation.media-type',
    title: 'A revocation not sent as application/jose is refused with CW_ERR_UNSUPPORTED_MEDIA_TYPE',
    group: 'revocation',
    spec: ['CW-FED-002'],
    async run(ctx) {
      await refusedRevocation(ctx, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', async (valid, ctx) => ({
        jws: await signRevocation(valid, ctx.harness.main.signer),
        contentType: 'text/plain',
        note: 'valid revocation sent as text/plain',
      }))
    },
  },
  {
    id: 'revocation.replayed-jti',
    title: 'A different revocation reusing the (iss, jti) of an accepted one is refused with CW_ERR_REPLAY and revokes nothing',
    group: 'revocation',
    spec: ['CW-REV-004', 'CW-SIG-012'],
    async run(ctx) {
      const first = await deliveredShare(ctx)
      const accepted = revocationPayload(ctx, first.share.id)
      await revokeAccepted(ctx, accepted, 'revocation of a first delivered share')
      const second = await deliveredShare(ctx)
      const replay = revocationPayload(ctx, second.share.id, { jti: accepted.jti })
      const answer = await postRevocation(
        ctx,
        await signRevocation(replay, ctx.harness.main.signer),
        `revocation of a second share reusing the jti ${accepted.jti}`,
      )
      expectProblem(answer, 'CW_ERR_REPLAY')
      await expectStillLive(ctx, second.share, second.r1, 'the replayed revocation')
    },
  },
  {
    id: 'revocation.cascades-to-onward-share',
    title: 'Revoking a share the target shared onward makes the target revoke its onward share and refuse its chunks',
    group: 'revocation',
    spec: ['CW-REV-003', 'CW-REV-006', 'CW-REV-002', 'CW-FED-005'],
    requires: ['control'],
    async run(ctx) {
      // A share the harness's policy lets the target share onward (no partners list).
      const share = ctx.newShare({
        items: [{ size: 70_000 }, { size: 1200, category: 'photo' }],
        policy: openPolicy({ permissions: { shareOnward: { allowed: true, maxDepth: 2 } } }),
      })
      await deliver(ctx, share)

      // EP-9 (SPEC.md §21): the target shares the received share onward, back to the harness.
      // A target may still finish the share's state after its receipt: 409 (still receiving) is retried.
      const shareOnward = () =>
        ctx.client.send(FEDERATION_PATHS.controlShareOnward(share.id), {
          method: 'POST',
          body: '{}',
          contentType: 'application/json',
          note: 'control: share the received share onward to the harness (EP-9)',
        })
      let answer = await shareOnward()
      for (const until = Date.now() + ctx.settings.waitMs; 'status' in answer && answer.status === 409 && Date.now() < until; answer = await shareOnward())
        await sleep(500)
      const control = expectStatus(answer, [201], '(control endpoint EP-9)')
      const onwardId = expectShape(jsonOf(control), assertControlShareAnswer, 'an EP-9 answer (control-share-answer schema)', control.request).share

      const offer = await ctx.listener.waitFor(
        'offer',
        (event) => offeredShareId(event.jws) === onwardId,
        ctx.settings.waitMs,
        `the target's offer of onward share ${onwardId} on the harness's EP-1`,
      )
      const manifest = offer.manifest
      if (manifest === undefined) fail('an onward manifest that verifies (§8, §11)', `the harness refused it with ${offer.code}`)
      check(manifest.grants.length === 2, 'an onward manifest with 2 grants (harness → target → harness)', `${manifest.grants.length} grants`)
      const digest = manifest.evidence.find((item) => item.chunks.length > 0)?.chunks[0]
      if (digest === undefined) fail('an onward manifest with evidence', JSON.stringify(manifest.evidence))
      expectStatus(
        await ctx.client.send(FEDERATION_PATHS.chunk(onwardId, digest), { note: 'a chunk of the onward share before the revocation' }),
        [200],
        '(the onward share is live)',
      )

      await revokeAccepted(ctx, revocationPayload(ctx, share.id), 'revocation of the share the target shared onward')
      const revoked = await ctx.listener.waitFor(
        'revocation',
        (event) => (event.revocation ?? unverifiedPayload(event.jws))?.share === onwardId,
        ctx.settings.waitMs,
        `the target's revocation of onward share ${onwardId} on the harness's EP-5 (CW-REV-003, CW-REV-006)`,
      )
      if (revoked.revocation === undefined)
        fail('a revocation that verifies (§8 with type revocation, signed by the target)', `the harness refused it with ${revoked.code}`)
      check(
        revoked.revocation.iss === ctx.target.org && revoked.revocation.aud === ctx.harness.main.org,
        `a revocation from ${ctx.target.org} to ${ctx.harness.main.org}`,
        JSON.stringify(revoked.revocation),
      )

      expectProblem(
        await ctx.client.send(FEDERATION_PATHS.chunk(onwardId, digest), { note: 'a chunk of the onward share after the cascade' }),
        'CW_ERR_SHARE_REVOKED',
      )
    },
  },
  {
    id: 'revocation.eddsa-accepted',
    title: 'A revocation signed with EdDSA (Ed25519) is accepted like an ES256 one',
    group: 'revocation',
    spec: ['CW-SIG-002', 'CW-SIG-015', 'CW-REV-004'],
    async run(ctx) {
      const { eddsa } = await wrongSigners(ctx.harness)
      const { share } = await deliveredShare(ctx)
      await revokeAccepted(
        ctx,
        revocationPayload(ctx, share.id),
        'a valid revocation signed with EdDSA by an Ed25519 signing certificate of the harness',
        eddsa,
      )
      share.addItems([{ size: 1000 }])
      ctx.listener.serve({ id: share.id, chunks: share.chunks() })
      expectProblem(
        await ctx.offer(await share.sign(await share.manifest()), 'revision 2 of the share revoked by the EdDSA revocation'),
        'CW_ERR_SHARE_REVOKED',
      )
    },
  },
  {
    id: 'revocation.stops-pulls',
    title: 'Once a revocation is accepted the target pulls no more chunks of the share, even while a transfer was under way',
    group: 'revocation',
    spec: ['CW-REV-003', 'CW-REV-004'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 4 * TEST_CHUNK_SIZE + 100 }] })
      // Every pull answered 429 (Retry-After: 1): the target keeps trying while the revocation arrives.
      ctx.listener.serve({ id: share.id, chunks: share.chunks(), throttleAll: true })
      await offerAccepted(ctx, share, undefined, { note: 'a share whose chunks the harness keeps answering 429' })
      await ctx.listener.waitFor('pull', (event) => event.shareId === share.id, ctx.settings.waitMs, `a first pull of share ${share.id}`)
      await revokeAccepted(ctx, revocationPayload(ctx, share.id), 'revocation while the target is pulling the share')
      const revokedAt = Date.now()
      // Longer than Retry-After: a target that kept its transfer would pull again within it.
      await sleep(Math.max(quietMs(ctx), 2_500) + 1_000)
      const late = ctx.listener.seen('pull', (event) => event.shareId === share.id && event.at > revokedAt + IN_FLIGHT_MS)
      check(
        late.length === 0,
        `no pull of the revoked share later than ${IN_FLIGHT_MS} ms after the revocation was answered 200 (CW-REV-003: access removed at once)`,
        `${late.length} pulls, the first ${late[0] === undefined ? 0 : late[0].at - revokedAt} ms after it`,
      )
      const receipts = ctx.listener.seen('receipt', (event) => (event.receipt ?? unverifiedPayload(event.jws))?.share === share.id)
      check(receipts.length === 0, 'no receipt for the revoked share', `${receipts.length} receipts`)
      ctx.note(`${ctx.listener.seen('pull', (event) => event.shareId === share.id).length} pulls (all answered 429) before the revocation`)
    },
  },
]
