/**
 * Protocol versions and the v0.2 wire rules (SPEC.md §15, CW-MAN-005, CW-FED-017..019): the
 * target lists its versions on every answer, takes 0.2 manifests that name who shared and
 * refuses that member in a 0.1 manifest, signs for the harness the highest version the
 * harness's latest answer listed (no sender identity to a v0.1 partner), waits out a
 * `Retry-After`, takes a revocation that overtakes its offer and then refuses the offer, and
 * keeps sending a revocation a v0.2 partner answered `404`.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { FEDERATION_PATHS, parseVersionsHeader, SUPPORTED_VERSIONS, signRevocation, VERSIONS_HEADER, type CaseManifest } from '#protocol'
import { check, expectProblem, expectStatus, fail } from '../check.ts'
import { requestShare, revokeShare } from '../control.ts'
import { describeExchange, type Exchange } from '../exchange.ts'
import { problemAnswer } from '../listener.ts'
import { unverifiedPayload } from '../raw_jws.ts'
import { deliver, expectRevoked, postRevocation, revocationPayload } from '../receiving.ts'
import { shareFromTarget, DEFAULT_REQUEST, type ReceivedShare } from '../sender_shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

/** Retry-After the harness answers with (seconds): long enough to tell from a node's own back-off. */
const RETRY_AFTER_SECONDS = 2

/** The versions an answer lists (CW-VER-003); fails when it lists none. */
function listedVersions(answer: Exchange): string[] {
  const versions = parseVersionsHeader(answer.headers[VERSIONS_HEADER])
  check(
    versions !== undefined && versions.includes('0.1'),
    'a Caseway-Versions header listing at least 0.1 (CW-VER-003)',
    `Caseway-Versions: ${answer.headers[VERSIONS_HEADER] ?? '(absent)'} on ${describeExchange(answer)}`,
    answer.request,
  )
  return versions
}

/** The versions the target lists on its EP-4 answer. */
async function targetVersions(ctx: TestContext): Promise<string[]> {
  return listedVersions(expectStatus(await ctx.client.send(FEDERATION_PATHS.healthz, { note: 'EP-4, for the versions the target lists' }), [200]))
}

/** Skips unless the target lists 0.2. */
async function requireVersion02(ctx: TestContext): Promise<void> {
  const versions = await targetVersions(ctx)
  if (!versions.includes('0.2')) ctx.skip(`the target lists ${versions.join(', ')}: a v0.1 node (the 0.2 rules do not apply)`)
}

/** A 0.2 manifest of the next revision naming who shared. */
async function manifest02(share: ReturnType<TestContext['newShare']>): Promise<CaseManifest> {
  const manifest = await share.manifest()
  manifest.cwv = '0.2'
  manifest.share.sharedBy = { id: `u.${randomUUID()}`, name: 'Det. Conformance' }
  return manifest
}

/** Shares made by EP-6 while the harness lists `versions`; returns the last one. */
async function shareWhileListing(ctx: TestContext, versions: readonly string[], what: string): Promise<ReceivedShare> {
  ctx.listener.versions = versions
  // The first offer is answered with the header; the target signs the next by it (CW-VER-004).
  await shareFromTarget(ctx, DEFAULT_REQUEST, `control: a share answered with Caseway-Versions: ${versions.join(', ')}`)
  return shareFromTarget(ctx, DEFAULT_REQUEST, `control: ${what}`)
}

export const VERSION_TESTS: ConformanceTest[] = [
  {
    id: 'receiver.versions-header',
    title: 'Every answer of the target, success or refusal, lists its versions in Caseway-Versions',
    group: 'receiver',
    spec: ['CW-VER-003'],
    async run(ctx) {
      const versions = await targetVersions(ctx)
      ctx.note(`the target lists ${versions.join(', ')}`)
      const refused = await ctx.client.send(FEDERATION_PATHS.offers, {
        method: 'POST',
        body: '{}',
        contentType: 'application/json',
        note: 'an offer as JSON (refused 415)',
      })
      expectProblem(refused, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
      listedVersions(refused as Exchange)
    },
  },
  {
    id: 'receiver.versions-accepts-0.2-manifest',
    title: 'A v0.2 target takes a 0.2 manifest naming who shared (with 0.1 grants) and delivers it',
    group: 'receiver',
    spec: ['CW-VER-005', 'CW-MAN-005'],
    async run(ctx) {
      await requireVersion02(ctx)
      const share = ctx.newShare({ items: [{ size: 2500 }] })
      const delivered = await deliver(ctx, share, await manifest02(share))
      ctx.note(`receipt of version ${delivered.receipt.cwv}`)
    },
  },
  {
    id: 'receiver.versions-shared-by-needs-0.2',
    title: 'A 0.1 manifest naming who shared is refused CW_ERR_SCHEMA_INVALID',
    group: 'receiver',
    spec: ['CW-MAN-005'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 1200 }] })
      const manifest = await manifest02(share)
      manifest.cwv = '0.1'
      expectProblem(await ctx.offer(await share.sign(manifest), '0.1 manifest with share.sharedBy'), 'CW_ERR_SCHEMA_INVALID')
    },
  },
  {
    id: 'sender.versions-negotiated',
    title: "The target signs the highest version the harness's latest answer listed; a v0.1 partner gets no sender identity",
    group: 'sender',
    spec: ['CW-VER-004', 'CW-MAN-006'],
    requires: ['control'],
    async run(ctx) {
      const own = await targetVersions(ctx)
      try {
        const toV01 = await shareWhileListing(ctx, ['0.1'], 'a share after an answer listing only 0.1')
        check(toV01.manifest.cwv === '0.1', 'a 0.1 manifest for a partner listing only 0.1', `cwv ${toV01.manifest.cwv}`)
        check(toV01.manifest.share.sharedBy === undefined, 'no share.sharedBy for a v0.1 partner (CW-MAN-006)', JSON.stringify(toV01.manifest.share.sharedBy))
        const toV02 = await shareWhileListing(ctx, SUPPORTED_VERSIONS, 'a share after an answer listing 0.1 and 0.2')
        const expected = own.includes('0.2') ? '0.2' : '0.1'
        check(toV02.manifest.cwv === expected, `a ${expected} manifest (the highest version both list)`, `cwv ${toV02.manifest.cwv}`)
        ctx.note(`sender identity on the 0.2 manifest: ${toV02.manifest.share.sharedBy === undefined ? 'none (optional)' : 'present'}`)
      } finally {
        ctx.listener.versions = SUPPORTED_VERSIONS
      }
    },
  },
  {
    id: 'sender.retry-after-honoured',
    title: 'An offer answered 503 with Retry-After is not sent again before that time',
    group: 'sender',
    spec: ['CW-FED-017'],
    requires: ['control'],
    async run(ctx) {
      const answeredAt = new Map<string, number>()
      ctx.listener.answerOffer = (event) => {
        const share = (unverifiedPayload(event.jws)?.share as { id?: unknown } | undefined)?.id
        if (typeof share !== 'string' || answeredAt.has(share)) return undefined
        answeredAt.set(share, Date.now())
        return problemAnswer('CW_ERR_UNAVAILABLE', 'conformance test: maintenance', { 'retry-after': String(RETRY_AFTER_SECONDS) })
      }
      try {
        const { share } = await requestShare(
          ctx.client,
          DEFAULT_REQUEST,
          `control: a share whose first offer is answered 503, Retry-After: ${RETRY_AFTER_SECONDS}`,
        )
        const again = await ctx.listener.waitFor(
          'offer',
          (event) => (unverifiedPayload(event.jws)?.share as { id?: unknown } | undefined)?.id === share && event.status === 202,
          ctx.settings.waitMs + RETRY_AFTER_SECONDS * 1000,
          'the offer again after the 503',
        )
        const first = answeredAt.get(share)
        if (first === undefined) fail('a first offer answered 503', 'the harness answered none')
        const waited = again.at - first
        check(
          waited >= RETRY_AFTER_SECONDS * 1000,
          `the offer again no sooner than ${RETRY_AFTER_SECONDS} s after the 503 (CW-FED-017)`,
          `again after ${waited} ms`,
        )
        ctx.note(`offered again after ${waited} ms`)
      } finally {
        ctx.listener.answerOffer = undefined
      }
    },
  },
  {
    id: 'revocation.before-offer',
    title: 'A revocation of a share never offered is taken (200); the late offer of that share is refused 410 CW_ERR_SHARE_REVOKED',
    group: 'revocation',
    spec: ['CW-FED-018', 'CW-REV-004'],
    async run(ctx) {
      await requireVersion02(ctx)
      const share = ctx.newShare({ items: [{ size: 1500 }] })
      const jws = await signRevocation(revocationPayload(ctx, share.id), ctx.harness.main.signer)
      expectRevoked(await postRevocation(ctx, jws, 'revocation of a share not offered yet'), share.id)
      expectProblem(await ctx.offer(await share.sign(await share.manifest()), 'the offer after its revocation'), 'CW_ERR_SHARE_REVOKED')
      expectRevoked(await postRevocation(ctx, jws, 'the same revocation again'), share.id)
    },
  },
  {
    id: 'sender.revocation-after-404',
    title: 'A revocation a v0.2 partner answered 404 is sent again',
    group: 'sender',
    spec: ['CW-FED-019'],
    requires: ['control'],
    async run(ctx) {
      const received = await shareFromTarget(ctx, DEFAULT_REQUEST, 'control: a share to revoke')
      let refused = 0
      ctx.listener.answerRevocation = (event) => {
        if ((event.revocation?.share ?? unverifiedPayload(event.jws)?.share) !== received.share || refused > 0) return undefined
        refused += 1
        return problemAnswer('CW_ERR_NOT_FOUND', 'conformance test: not found (a v0.2 partner would never say so)')
      }
      try {
        await revokeShare(ctx.client, received.share)
        await ctx.listener.waitFor(
          'revocation',
          (event) => (event.revocation?.share ?? unverifiedPayload(event.jws)?.share) === received.share && event.status === 200,
          ctx.settings.waitMs,
          'the revocation again after the 404 from a partner listing 0.2',
        )
      } finally {
        ctx.listener.answerRevocation = undefined
      }
    },
  },
]
