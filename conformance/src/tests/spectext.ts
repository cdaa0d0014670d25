/**
 * Where SPEC.md v0.1 left an implementer to guess (issue 12), and what v0.2 decides: the EP-2
 * chunk path (CW-FED-014), revocation before the retry rule (CW-FED-015), the first revision of
 * a share the receiver never saw (CW-REVN-009), the expiry a revocation is bounded by
 * (CW-REV-007), unknown protected-header parameters (CW-SIG-016), the order of offer and receipt
 * checks (CW-FED-016, CW-FED-009, CW-POL-003), the `at` member (CW-ERR-003), and the readings the
 * vectors rely on (§8 steps 2 and 9).
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { assertControlShareAnswer, digestBytes, FEDERATION_PATHS, signReceipt, type CaseManifest, type DeliveryReceipt, type ProblemDocument } from '#protocol'
import { check, expectProblem, expectShape, expectStatus, fail, jsonOf } from '../check.ts'
import { revokeShare } from '../control.ts'
import { signPayloadBytes, unverifiedPayload } from '../raw_jws.ts'
import { deliver, expectReceipt, offerAccepted, revocationPayload, revokeAccepted } from '../receiving.ts'
import { baselineShare, requireEvidence, shareFromTarget, waitForRevision, type ReceivedShare } from '../sender_shares.ts'
import { DAY, openPolicy } from '../shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

const now = () => Math.floor(Date.now() / 1000)

/** The forms CW-ERR-003 allows for `at`. */
const AT_FORMS = /^(?:|\/.*|header(?:\.[A-Za-z0-9_#-]+(?:\[\d+\])?)?|payload|signature|trustAnchor)$/

/** CW-ERR-003: `at` absent, or one of its forms. */
function expectAtForm(problem: ProblemDocument, what: string): void {
  const { at } = problem as ProblemDocument & { at?: unknown }
  check(
    at === undefined || (typeof at === 'string' && AT_FORMS.test(at)),
    `${what}: "at" absent, a JSON pointer, header.<parameter>[<i>], header, payload, signature or trustAnchor (CW-ERR-003)`,
    JSON.stringify(at),
  )
}

/** A receipt from the harness answering revision 1 of `received` (valid unless changed). */
function harnessReceipt(ctx: TestContext, received: ReceivedShare, overrides: Partial<DeliveryReceipt> = {}): DeliveryReceipt {
  return {
    cwv: '0.1',
    iss: ctx.harness.main.org,
    aud: ctx.target.org,
    iat: now() - 5,
    exp: now() + 3600,
    jti: `receipt-${randomUUID()}`,
    share: received.share,
    revision: received.manifest.share.revision,
    manifest: received.digest,
    status: 'delivered',
    ...overrides,
  }
}

async function postReceipt(ctx: TestContext, receipt: DeliveryReceipt, note: string) {
  return ctx.client.postJose(FEDERATION_PATHS.receipts, await signReceipt(receipt, ctx.harness.main.signer), note)
}

/** The EP-2 path of a chunk, the digest segment written exactly as given. */
function chunkPath(shareId: string, digestSegment: string): string {
  return `/federation/v1/shares/${encodeURIComponent(shareId)}/chunks/${digestSegment}`
}

export const SPECTEXT_TESTS: ConformanceTest[] = [
  {
    id: 'sender.chunk-path-literal-and-percent-encoded',
    title: 'EP-2 serves a chunk named literally (sha256:<hex>) and percent-encoded (sha256%3A<hex>, sha256%3a<hex>) alike',
    group: 'sender',
    spec: ['CW-FED-014', 'CW-FED-006'],
    requires: ['control'],
    async run(ctx) {
      const received = await baselineShare(ctx)
      const [item] = requireEvidence(ctx, received)
      const digest = item!.chunks[0]!
      const hex = digest.slice('sha256:'.length)
      const forms = [`sha256:${hex}`, `sha256%3A${hex}`, `sha256%3a${hex}`]
      const bodies: Buffer[] = []
      for (const form of forms) {
        const answer = expectStatus(
          await ctx.client.send(chunkPath(received.share, form), { note: `chunk ${digest.slice(0, 16)}… as ${form.slice(0, 12)}…` }),
          [200],
          `with the chunk named ${form.slice(0, 12)}… (CW-FED-014)`,
        )
        bodies.push(answer.body)
      }
      const [first, ...others] = bodies
      check(
        others.every((body) => body.equals(first!)),
        'the same bytes whichever form names the chunk (CW-FED-014)',
        bodies.map((body) => `${body.length} bytes`).join(', '),
      )
    },
  },
  {
    id: 'receiver.chunk-path-literal',
    title: 'The target pulls chunks with the digest written literally in the EP-2 path (sha256:<hex>, not percent-encoded)',
    group: 'receiver',
    spec: ['CW-FED-014'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }] })
      const delivered = await deliver(ctx, share)
      const pulls = ctx.listener.seen('pull', (event) => event.shareId === share.id)
      check(pulls.length > 0, 'at least one pull of the share', 'none')
      const encoded = pulls.filter((event) => event.segment !== event.digest)
      check(
        encoded.length === 0,
        `every EP-2 path naming the digest literally, e.g. ${chunkPath(share.id, (delivered.manifest as CaseManifest).evidence[0]!.chunks[0]!)} (CW-FED-014)`,
        `digest segments ${encoded.map((event) => event.segment).join(', ')}`,
      )
    },
  },
  {
    id: 'revocation.revoked-share-offers-refused',
    title:
      'Once a share is revoked every offer of it is refused 410 CW_ERR_SHARE_REVOKED: the identical latest and superseded revisions, a next revision, a reused jti',
    group: 'revocation',
    spec: ['CW-FED-015', 'CW-FED-016', 'CW-FED-004'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }] })
      const r1 = await deliver(ctx, share)
      share.addItems([{ size: 2000 }])
      ctx.listener.serve({ id: share.id, chunks: share.chunks() })
      const r2 = await deliver(ctx, share, undefined, new Set(r1.manifest.evidence.flatMap((item) => item.chunks)))
      await revokeAccepted(ctx, revocationPayload(ctx, share.id), 'revoke the share (two revisions delivered)')
      expectProblem(await ctx.offer(r2.jws, 'revision 2 again, identical (the latest revision) after the revocation'), 'CW_ERR_SHARE_REVOKED')
      expectProblem(await ctx.offer(r1.jws, 'revision 1 again, identical (superseded) after the revocation'), 'CW_ERR_SHARE_REVOKED')
      const r3 = await share.manifest()
      expectProblem(await ctx.offer(await share.sign(r3), 'revision 3 after the revocation'), 'CW_ERR_SHARE_REVOKED')
      const reused = { ...structuredClone(r3), jti: r2.manifest.jti }
      expectProblem(await ctx.offer(await share.sign(reused), "revision 3 reusing revision 2's jti after the revocation"), 'CW_ERR_SHARE_REVOKED')
    },
  },
  {
    id: 'revisions.first-offer-at-later-revision',
    title: 'The first offer of a share may be any revision: revision 3 with an unknown previous is accepted and delivered, then 4 follows it and 1 is stale',
    group: 'revisions',
    spec: ['CW-REVN-009', 'CW-REVN-002'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }] })
      const r3 = await share.manifest(3)
      // The digest of a revision 2 the target never saw.
      r3.share.previous = digestBytes(randomBytes(32))
      const first = await offerAccepted(ctx, share, r3, { note: 'revision 3 of a share the target never saw, previous unknown' })
      await expectReceipt(ctx, first, 'delivered')
      share.addItems([{ size: 2000 }])
      ctx.listener.serve({ id: share.id, chunks: share.chunks() })
      await deliver(ctx, share, await share.manifest(4), new Set(r3.evidence.flatMap((item) => item.chunks)))
      const r1 = await share.manifest(1)
      expectProblem(await ctx.offer(await share.sign(r1), 'revision 1 after revisions 3 and 4'), 'CW_ERR_STALE_REVISION')
    },
  },
  {
    id: 'refusals.offer-check-order',
    title: 'EP-1 checks in the order of CW-FED-016: stale before policy, replay before stale; do-not-disclose before an excluded category (CW-POL-003)',
    group: 'refusals',
    spec: ['CW-FED-016', 'CW-POL-003'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }], policy: openPolicy({ evidenceCategories: ['document', 'photo'] }) })
      const r1 = await deliver(ctx, share)
      // Another revision 1 (stale) that also carries a do-not-disclose item: the revision rule comes first.
      share.addItems([{ size: 1000, doNotDisclose: true }])
      const staleAndBanned = await share.manifest(1)
      expectProblem(await ctx.offer(await share.sign(staleAndBanned), 'another revision 1 carrying a do-not-disclose item'), 'CW_ERR_STALE_REVISION')
      // A different manifest reusing revision 1's jti, as revision 1 (stale too): the replay rule comes first.
      const replayed = { ...structuredClone(staleAndBanned), jti: r1.manifest.jti }
      expectProblem(await ctx.offer(await share.sign(replayed), "another revision 1 reusing revision 1's jti"), 'CW_ERR_REPLAY')
      // A new share whose one item is both do-not-disclose and of a category the policy excludes.
      const both = ctx.newShare({ items: [{ size: 1000, category: 'video', doNotDisclose: true }], policy: openPolicy({ evidenceCategories: ['document'] }) })
      const problem = expectProblem(
        await ctx.offer(await both.sign(await both.manifest()), 'an item both do-not-disclose and of an excluded category'),
        'CW_ERR_DO_NOT_DISCLOSE',
      )
      ctx.note(`refused: ${problem.detail}`)
    },
  },
  {
    id: 'sender.receipt-check-order',
    title:
      'EP-3 checks in the order of CW-FED-009: a manifest digest or revision never sent is CW_ERR_STALE_REVISION; a reused jti is CW_ERR_REPLAY before CW_ERR_NOT_FOUND',
    group: 'sender',
    spec: ['CW-FED-009', 'CW-REC-003'],
    requires: ['control'],
    async run(ctx) {
      const received = await shareFromTarget(ctx, undefined, 'control: a share to answer with receipts')
      expectProblem(
        await postReceipt(ctx, harnessReceipt(ctx, received, { manifest: digestBytes(randomBytes(32)) }), 'receipt naming a manifest digest never sent'),
        'CW_ERR_STALE_REVISION',
      )
      expectProblem(await postReceipt(ctx, harnessReceipt(ctx, received, { revision: 7 }), 'receipt for revision 7, never offered'), 'CW_ERR_STALE_REVISION')
      const valid = harnessReceipt(ctx, received)
      expectStatus(await postReceipt(ctx, valid, 'the valid delivered receipt'), [200])
      expectProblem(
        await postReceipt(
          ctx,
          harnessReceipt(ctx, received, { jti: valid.jti, share: `share-${randomUUID()}` }),
          'receipt for an unknown share reusing an accepted jti',
        ),
        'CW_ERR_REPLAY',
      )
      expectProblem(
        await postReceipt(ctx, harnessReceipt(ctx, received, { share: `share-${randomUUID()}` }), 'receipt for a share the target never made'),
        'CW_ERR_NOT_FOUND',
      )
    },
  },
  {
    id: 'revocation.exp-beyond-share',
    title: "A revocation whose exp is later than the share's expiry (the last grant's exp) is still honoured: 200 revoked",
    group: 'revocation',
    spec: ['CW-REV-007', 'CW-REV-004'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }], lifetimeSeconds: 3_600 })
      await deliver(ctx, share)
      const expiry = share.grants.at(-1)!.exp
      await revokeAccepted(ctx, revocationPayload(ctx, share.id, { exp: expiry + 3_600 }), `a revocation expiring an hour after the share's expiry ${expiry}`)
      expectProblem(await ctx.offer(await share.sign(await share.manifest()), 'revision 2 after the revocation'), 'CW_ERR_SHARE_REVOKED')
    },
  },
  {
    id: 'sender.revocation-exp-last-grant',
    title: "The target's revocation expires after its iat and no later than the exp of the last grant of the latest revision",
    group: 'sender',
    spec: ['CW-REV-007', 'CW-SIG-014'],
    requires: ['control'],
    async run(ctx) {
      const category = (await baselineShare(ctx)).policy.content.evidenceCategories[0]
      if (category === undefined) ctx.skip("the target's policy for the harness allows no evidence category")
      const received = await shareFromTarget(
        ctx,
        { fields: {}, items: [{ size: 1024, category }], expiresInSeconds: 900 },
        'control: a share that expires in 15 minutes',
      )
      const latest = await waitForRevision(ctx, received.share, 1)
      const expiry = latest.chain.grants.at(-1)!.exp
      await revokeShare(ctx.client, received.share)
      const event = await ctx.listener.waitFor(
        'revocation',
        (one) => (one.revocation?.share ?? unverifiedPayload(one.jws)?.share) === received.share,
        ctx.settings.waitMs,
        `the target's revocation of share ${received.share}`,
      )
      if (event.revocation === undefined) fail('a revocation that verifies (§8, type revocation)', `refused with ${event.code}`)
      const { iat, exp } = event.revocation
      check(iat < exp && exp <= expiry, `iat < exp ≤ ${expiry}, the last grant's exp (CW-REV-007)`, `iat ${iat}, exp ${exp}`)
    },
  },
  {
    id: 'refusals.at-forms',
    title:
      'The "at" of refusals is a JSON pointer, header.<parameter>, or a segment name such as "payload" (CW_ERR_MALFORMED for a payload that is not an object)',
    group: 'refusals',
    spec: ['CW-ERR-003', 'CW-SIG-001'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }] })
      const { signer } = ctx.harness.main
      const notObject = signPayloadBytes('manifest', '["not","an","object"]', signer)
      expectAtForm(
        expectProblem(await ctx.offer(notObject, 'a correctly signed manifest whose payload is a JSON array'), 'CW_ERR_MALFORMED'),
        'payload not an object',
      )
      const wrongAudience = await share.manifest()
      wrongAudience.aud = ctx.harness.aux[0]!.org
      expectAtForm(
        expectProblem(await ctx.offer(await share.sign(wrongAudience), 'a manifest addressed to another org'), 'CW_ERR_AUDIENCE_MISMATCH'),
        'wrong aud',
      )
      const extra = { ...(await share.manifest()), extra: true }
      expectAtForm(
        expectProblem(await ctx.offer(await share.sign(extra as CaseManifest), 'a manifest with an extra property'), 'CW_ERR_SCHEMA_INVALID'),
        'extra property',
      )
    },
  },
  {
    id: 'receiver.receipt-lifetime',
    title: "The target's receipt expires after its iat, at most a day later, and no later than the share's expiry",
    group: 'receiver',
    spec: ['CW-REC-004', 'CW-SIG-014'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }], lifetimeSeconds: 3 * DAY })
      const { receipt } = await deliver(ctx, share)
      const expiry = share.grants.at(-1)!.exp
      check(
        receipt.iat < receipt.exp && receipt.exp <= Math.min(expiry, receipt.iat + DAY),
        `iat < exp ≤ min(share expiry ${expiry}, iat + 86400) (CW-REC-004)`,
        `iat ${receipt.iat}, exp ${receipt.exp}`,
      )
    },
  },
  {
    id: 'sender.onward-manifest-not-live',
    title: 'An onward manifest (EP-9) has live false and scope case or evidence',
    group: 'sender',
    spec: ['CW-MAN-004'],
    requires: ['control'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }] })
      await deliver(ctx, share)
      const since = Date.now()
      const ask = () =>
        ctx.client.send(FEDERATION_PATHS.controlShareOnward(share.id), {
          method: 'POST',
          body: '{}',
          contentType: 'application/json',
          note: 'control: share the received share onward to the harness (EP-9)',
        })
      let answer = await ask()
      for (const until = Date.now() + ctx.settings.waitMs; 'status' in answer && answer.status === 409 && Date.now() < until; answer = await ask()) {
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      const control = expectStatus(answer, [201], '(control endpoint EP-9)')
      const onwardId = expectShape(jsonOf(control), assertControlShareAnswer, 'an EP-9 answer', control.request).share
      const offer = await ctx.listener.waitFor(
        'offer',
        (event) => event.at >= since && (unverifiedPayload(event.jws)?.share as { id?: unknown } | undefined)?.id === onwardId,
        ctx.settings.waitMs,
        `the target's onward offer of share ${onwardId}`,
      )
      const manifest = (offer.manifest ?? unverifiedPayload(offer.jws)) as CaseManifest | undefined
      if (manifest === undefined) fail('an onward manifest', `unreadable (${offer.code})`)
      check(manifest.grants.length > 1, 'an onward manifest (more than one grant)', `${manifest.grants.length} grant(s)`)
      check(
        manifest.share.live === false && (manifest.share.scope === 'case' || manifest.share.scope === 'evidence'),
        'share.live false and scope case or evidence (CW-MAN-004)',
        JSON.stringify({ scope: manifest.share.scope, live: manifest.share.live }),
      )
    },
  },
]
