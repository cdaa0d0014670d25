/**
 * Helpers of the receiver-role tests (groups receiver, revisions, chains, revocation): offer a
 * share and check the answer (CW-FED-003), wait for the target's receipt and check it
 * (CW-REC-001, CW-REC-002), watch which chunks it pulled, and the "leaves no trace" check of
 * refused offers (CW-FED-001, CW-FED-004).
 *
 * @module
 */
import {
  assertOfferAnswer,
  assertRevocationAnswer,
  digestJson,
  FEDERATION_PATHS,
  PROTOCOL_VERSION,
  signRevocation,
  type CaseManifest,
  type DeliveryReceipt,
  type OfferAnswer,
  type ProblemCode,
  type ProblemDocument,
  type Revocation,
  type RevocationAnswer,
  type Signer,
} from '#protocol'
import { check, expectProblem, expectShape, expectStatus, fail, jsonOf } from './check.ts'
import { describeExchange, type Exchange } from './exchange.ts'
import type { EventOf } from './listener.ts'
import { unverifiedPayload } from './raw_jws.ts'
import type { HarnessShare } from './shares.ts'
import type { TestContext } from './suite.ts'

/** How long the harness watches for something the target must NOT do (a pull, a receipt). */
export function quietMs(ctx: TestContext): number {
  return Math.min(3_000, ctx.settings.waitMs)
}

/** Every distinct chunk digest of a manifest, in manifest order. */
export function chunksOf(manifest: CaseManifest): string[] {
  return [...new Set(manifest.evidence.flatMap((item) => item.chunks))]
}

/** The answer must be `status` with an offer answer (CW-FED-003) for this share and revision. */
export function expectOfferAnswer(answer: Exchange, manifest: CaseManifest): OfferAnswer {
  const body = expectShape(jsonOf(answer), assertOfferAnswer, 'an offer answer (offer-answer schema, CW-FED-003)', answer.request)
  check(body.share === manifest.share.id, `share "${manifest.share.id}" in the answer`, describeExchange(answer), answer.request)
  check(body.revision === manifest.share.revision, `revision ${manifest.share.revision} in the answer`, describeExchange(answer), answer.request)
  check(new Set(body.needed).size === body.needed.length, '"needed" without duplicates (CW-FED-003)', describeExchange(answer), answer.request)
  return body
}

export interface OfferedRevision {
  manifest: CaseManifest
  digest: string
  jws: string
  exchange: Exchange
  answer: OfferAnswer
}

/**
 * Chunks shorter than this may already be in a long-lived content-addressed store although
 * this run made them: there are only 256 one-byte chunks. Every other chunk the harness offers
 * is random bytes made for this run, so no target can hold it unless this run delivered it.
 */
export const GUESSABLE_CHUNK_BYTES = 16

/**
 * The chunk digests of `manifest` a target may leave out of `needed` (CW-FED-003): those of
 * `held` (delivered earlier in this run) and the guessable short ones, which a long-lived
 * store may hold from an earlier run (by SPEC v0.1, from anyone; after the possession rule of
 * issue 11, from this partner — the harness is the same partner in every run).
 */
export function mayBeHeld(share: HarnessShare, held: ReadonlySet<string>): (digest: string) => boolean {
  const served = share.chunks()
  return (digest) => held.has(digest) || (served.get(digest)?.length ?? Infinity) < GUESSABLE_CHUNK_BYTES
}

/**
 * `needed` must list every chunk of the revision the target cannot hold, and nothing that is
 * not a chunk of the revision; a chunk it may hold ({@link mayBeHeld}) may be listed or not.
 */
export function expectNeededWithin(answer: Exchange, body: OfferAnswer, manifest: CaseManifest, optional: (digest: string) => boolean, what: string): void {
  const all = chunksOf(manifest)
  const listed = new Set(all)
  const required = all.filter((digest) => !optional(digest))
  const missing = required.filter((digest) => !body.needed.includes(digest))
  const extra = body.needed.filter((digest) => !listed.has(digest))
  check(
    missing.length === 0 && extra.length === 0,
    `"needed" = ${what} (${required.length} digests, and any of the ${all.length - required.length} it may hold, CW-FED-003)`,
    `${missing.length} missing, ${extra.length} not chunks of the revision: ${describeExchange(answer)}`,
    answer.request,
  )
}

/**
 * Signs and offers `manifest` (default: the share's next revision), expects `202` with an offer
 * answer whose `needed` is every chunk of the revision not in `held` (guessable short chunks
 * may be left out: a long-lived store may hold them), and records the revision as offered.
 */
export async function offerAccepted(
  ctx: TestContext,
  share: HarnessShare,
  manifest?: CaseManifest,
  options: { held?: ReadonlySet<string>; note?: string } = {},
): Promise<OfferedRevision> {
  const payload = manifest ?? (await share.manifest())
  const jws = await share.sign(payload)
  const exchange = expectStatus(
    await ctx.offer(jws, options.note ?? `valid manifest, revision ${payload.share.revision}`),
    [202],
    '(offer accepted, CW-FED-003)',
  )
  const answer = expectOfferAnswer(exchange, payload)
  const held = options.held ?? new Set<string>()
  expectNeededWithin(
    exchange,
    answer,
    payload,
    mayBeHeld(share, held),
    held.size === 0 ? 'every chunk digest of the revision' : 'the chunk digests the target does not hold yet',
  )
  share.offered(payload)
  return { manifest: payload, digest: digestJson(payload), jws, exchange, answer }
}

/** The first receipt the target sent for `share` `revision` (verified or not). */
export function receiptFor(ctx: TestContext, shareId: string, revision: number, timeoutMs = ctx.settings.waitMs): Promise<EventOf<'receipt'>> {
  return ctx.listener.waitFor(
    'receipt',
    (event) => {
      const payload = event.receipt ?? unverifiedPayload(event.jws)
      return payload?.share === shareId && payload.revision === revision
    },
    timeoutMs,
    `a receipt for share ${shareId} revision ${revision} on the harness's EP-3`,
  )
}

/**
 * Waits for the receipt of `offered` and checks it (CW-REC-001): verified by the harness (§8
 * with type receipt), issued by the target to the harness, for this share, revision and
 * manifest digest, with `status` and `problem` present exactly when rejected.
 */
export async function expectReceipt(
  ctx: TestContext,
  offered: Pick<OfferedRevision, 'manifest' | 'digest'>,
  status: DeliveryReceipt['status'],
): Promise<{ event: EventOf<'receipt'>; receipt: DeliveryReceipt }> {
  const { manifest, digest } = offered
  const event = await receiptFor(ctx, manifest.share.id, manifest.share.revision)
  const receipt = event.receipt
  if (receipt === undefined) fail('a receipt that verifies (§8 with type receipt, CW-REC-001)', `the harness refused it with ${event.code}`)
  const show = JSON.stringify(receipt)
  check(receipt.iss === ctx.target.org, `receipt "iss" = ${ctx.target.org} (CW-REC-001)`, show)
  check(receipt.aud === ctx.harness.main.org, `receipt "aud" = ${ctx.harness.main.org} (CW-REC-001)`, show)
  check(receipt.manifest === digest, `receipt "manifest" = ${digest}, the digest of the manifest's canonical payload (CW-REC-001)`, show)
  check(receipt.status === status, `receipt status "${status}"`, show)
  // The share's expiry is its last grant's exp; the harness's manifests expire with it.
  check(receipt.exp <= manifest.exp, `receipt "exp" no later than the share's expiry ${manifest.exp} (CW-SIG-014)`, show)
  if (status === 'delivered') check(receipt.problem === undefined, 'no "problem" in a delivered receipt (CW-REC-001)', show)
  else
    check(
      typeof receipt.problem?.code === 'string' && /^CW_ERR_[A-Z0-9_]+$/.test(receipt.problem.code),
      'a "problem" naming a problem code in a rejected receipt (CW-REC-001, CW-FED-008)',
      show,
    )
  return { event, receipt }
}

/** Successful pulls of this share so far (200 or 206 with the right bytes). */
export function goodPulls(ctx: TestContext, shareId: string, before = Infinity): EventOf<'pull'>[] {
  return ctx.listener.seen(
    'pull',
    (event) => event.shareId === shareId && (event.status === 200 || event.status === 206) && !event.corrupted && event.at <= before,
  )
}

/**
 * CW-REC-002: every chunk of the revision was received whole (a full pull, or ranges that
 * together cover it) before the receipt arrived.
 */
export function expectAllPulledBefore(ctx: TestContext, share: HarnessShare, manifest: CaseManifest, receiptAt: number): void {
  const served = share.chunks()
  const pulls = goodPulls(ctx, share.id, receiptAt)
  const incomplete: string[] = []
  for (const digest of chunksOf(manifest)) {
    const length = served.get(digest)?.length ?? 0
    // A guessable chunk a long-lived store already holds is not pulled (CW-FED-003, CW-FED-007).
    if (length < GUESSABLE_CHUNK_BYTES && !pulls.some((pull) => pull.digest === digest)) continue
    const covered: Array<[number, number]> = []
    for (const pull of pulls.filter((one) => one.digest === digest)) {
      if (pull.status === 200) covered.push([0, length])
      else {
        const match = /^bytes=(\d+)-(\d*)$/.exec(pull.range ?? '')
        if (match !== null) covered.push([Number(match[1]), match[2] === '' ? length : Math.min(Number(match[2]) + 1, length)])
      }
    }
    covered.sort((a, b) => a[0] - b[0])
    let end = 0
    for (const [first, last] of covered) if (first <= end) end = Math.max(end, last)
    if (end < length) incomplete.push(digest)
  }
  check(
    incomplete.length === 0,
    'every chunk of the revision pulled from the harness before the delivered receipt (CW-REC-002, CW-FED-008)',
    `${incomplete.length} of ${chunksOf(manifest).length} chunks not (completely) pulled before the receipt: ${incomplete.slice(0, 3).join(', ')}`,
  )
}

/**
 * The target pulled only chunks `manifest`s of this share list, and only through this share's
 * URL (CW-FED-005 from the receiver's side: a receiver pulls what the manifest lists).
 */
export function expectOnlyListedPulls(ctx: TestContext, share: HarnessShare, manifests: readonly CaseManifest[]): void {
  const listed = new Set(manifests.flatMap(chunksOf))
  const foreign = ctx.listener.seen('pull', (event) => event.shareId === share.id && !listed.has(event.digest))
  check(foreign.length === 0, 'pulls of chunks the manifest lists only', `pulled ${foreign.map((event) => event.digest).join(', ')} under share ${share.id}`)
  const elsewhere = ctx.listener.seen('pull', (event) => event.shareId !== share.id && listed.has(event.digest))
  check(
    elsewhere.length === 0,
    `chunks of share ${share.id} pulled through that share's URL only`,
    `pulled through ${[...new Set(elsewhere.map((event) => event.shareId))].join(', ')}`,
  )
}

/** Offers `manifest` and waits for its delivered receipt; returns what was offered and the receipt. */
export async function deliver(
  ctx: TestContext,
  share: HarnessShare,
  manifest?: CaseManifest,
  held?: ReadonlySet<string>,
): Promise<OfferedRevision & { receipt: DeliveryReceipt; receiptAt: number }> {
  const offered = await offerAccepted(ctx, share, manifest, held === undefined ? {} : { held })
  const { event, receipt } = await expectReceipt(ctx, offered, 'delivered')
  return { ...offered, receipt, receiptAt: event.at }
}

/**
 * "Leaves no trace" (CW-FED-001, CW-FED-004): offers `broken` (a copy of `valid` with one
 * change, so share id and jti are the same), expects the refusal `code`, then offers `valid`
 * and expects a fresh acceptance (`202`, not `200` nor a replay or stale-revision refusal).
 */
export async function expectRefusedWithoutTrace(
  ctx: TestContext,
  share: HarnessShare,
  valid: CaseManifest,
  broken: { jws: string; note: string },
  code: ProblemCode | readonly ProblemCode[],
  held?: ReadonlySet<string>,
): Promise<{ problem: ProblemDocument; accepted: OfferedRevision }> {
  const problem = expectProblem(await ctx.offer(broken.jws, broken.note), code)
  const pulled = goodPulls(ctx, share.id).filter((event) => chunksOf(valid).includes(event.digest) && !(held?.has(event.digest) ?? false))
  check(pulled.length === 0, 'no chunk of a refused manifest pulled (nothing stored, CW-FED-001)', `${pulled.length} pulls of its chunks`)
  const accepted = await offerAccepted(ctx, share, valid, {
    ...(held === undefined ? {} : { held }),
    note: 'the valid manifest with the same share id and jti after the refusal (no trace, CW-FED-001, CW-FED-004)',
  })
  return { problem, accepted }
}

/** A revocation payload of `share` by the harness (valid unless changed). */
export function revocationPayload(ctx: TestContext, shareId: string, overrides: Partial<Revocation> = {}): Revocation {
  const now = Math.floor(Date.now() / 1000)
  return {
    cwv: PROTOCOL_VERSION,
    iss: ctx.harness.main.org,
    aud: ctx.target.org,
    iat: now - 5,
    exp: now + 3_600,
    jti: `revocation-${shareId}-${Math.random().toString(36).slice(2, 10)}`,
    share: shareId,
    revokedAt: now - 5,
    reason: 'Revoked by the Caseway conformance harness.',
    ...overrides,
  }
}

/** POSTs a signed revocation to EP-5. */
export function postRevocation(ctx: TestContext, jws: string, note: string): ReturnType<TestContext['offer']> {
  return ctx.client.postJose(FEDERATION_PATHS.revocations, jws, note)
}

/** Signs and sends `revocation` as the harness (or `signer`); expects `200 {share, status: revoked}` (CW-REV-004). */
export async function revokeAccepted(
  ctx: TestContext,
  revocation: Revocation,
  note: string,
  signer: Signer = ctx.harness.main.signer,
): Promise<RevocationAnswer> {
  const jws = await signRevocation(revocation, signer)
  return expectRevoked(await postRevocation(ctx, jws, note), revocation.share)
}

/** The answer must be `200 {"share": shareId, "status": "revoked"}` (CW-REV-004). */
export function expectRevoked(answer: Awaited<ReturnType<TestContext['offer']>>, shareId: string): RevocationAnswer {
  const exchange = expectStatus(answer, [200], '(revocation accepted, CW-REV-004)')
  const body = expectShape(jsonOf(exchange), assertRevocationAnswer, 'a revocation answer (revocation-answer schema)', exchange.request)
  check(body.share === shareId && body.status === 'revoked', `{"share": "${shareId}", "status": "revoked"}`, describeExchange(exchange), exchange.request)
  return body
}
