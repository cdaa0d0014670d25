/**
 * Batched chunk pulls (SPEC.md §16 "Batched chunk pulls", CW-VER-007, CW-BAT-001..006).
 *
 * As sender: the target lists its optional features in `Caseway-Features` on every answer and,
 * when it lists `chunk-batch`, serves EP-20 — the chunks asked for, whole, in request order,
 * each authorized as EP-2 authorizes one; an unauthorized digest or an over-limit request is
 * refused with a problem document before any byte. As receiver: the target uses EP-20 only
 * with a partner that lists the feature, and a batch with a wrong byte stores nothing wrong: the
 * chunk is fetched again before the receipt.
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { CHUNK_BATCH_FEATURE, CHUNK_BATCH_LIMITS, digestBytes, FEATURES_HEADER, FEDERATION_PATHS, JOSE_MEDIA_TYPE, parseFeaturesHeader } from '#protocol'
import { check, expectProblem, expectStatus, fail } from '../check.ts'
import { revokeShare } from '../control.ts'
import { describeExchange, type Exchange, type TransportFailure } from '../exchange.ts'
import { deliver, expectAllPulledBefore } from '../receiving.ts'
import { TEST_CHUNK_SIZE } from '../shares.ts'
import { baselineShare, chunkLength, requireEvidence, shareFromTarget } from '../sender_shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

/** EP-20 as the harness: `body` as given (a JSON text unless `contentType` says otherwise). */
function batch(ctx: TestContext, shareId: string, body: string, note: string, contentType = 'application/json'): Promise<Exchange | TransportFailure> {
  return ctx.client.send(FEDERATION_PATHS.chunkBatches(shareId), { method: 'POST', body, contentType, note })
}

const digestsBody = (digests: readonly string[]) => JSON.stringify({ digests })

/** Skips unless the target lists `chunk-batch` on its EP-4 answer (the feature is optional). */
async function requireBatches(ctx: TestContext): Promise<void> {
  const health = expectStatus(await ctx.client.send(FEDERATION_PATHS.healthz, { note: 'EP-4, for the features the target lists' }), [200])
  if (!parseFeaturesHeader(health.headers[FEATURES_HEADER]).includes(CHUNK_BATCH_FEATURE)) {
    ctx.skip(`the target lists no chunk-batch feature (Caseway-Features: ${health.headers[FEATURES_HEADER] ?? '(absent)'}): EP-20 is optional`)
  }
}

/** Delivers a share of `count` items of `size` bytes while the harness lists `features`; returns it and its delivery. */
async function deliverSmallItems(ctx: TestContext, count: number, size: number, corrupt?: number) {
  const share = ctx.newShare({ items: Array.from({ length: count }, () => ({ size })) })
  const corruptOnce = corrupt === undefined ? undefined : new Set([share.items[corrupt]!.item.chunks[0]!])
  ctx.listener.serve({ id: share.id, chunks: share.chunks(), ...(corruptOnce === undefined ? {} : { corruptOnce }) })
  const delivered = await deliver(ctx, share)
  return { share, delivered, corrupted: corruptOnce === undefined ? undefined : [...corruptOnce][0]! }
}

/** Runs `body` while the harness lists `features`, after one delivery that lets the target learn them (CW-VER-007: the latest answer counts). */
async function withHarnessFeatures<T>(ctx: TestContext, features: readonly string[], body: () => Promise<T>): Promise<T> {
  const before = ctx.listener.features
  ctx.listener.features = features
  try {
    await deliverSmallItems(ctx, 1, 1000)
    return await body()
  } finally {
    ctx.listener.features = before
  }
}

export const BATCH_TESTS: ConformanceTest[] = [
  {
    id: 'sender.features-listed',
    title: 'Caseway-Features is the same on every answer, refusals included, and lists chunk-batch only if EP-20 is served',
    group: 'sender',
    spec: ['CW-VER-007'],
    requires: ['control'],
    async run(ctx) {
      const health = expectStatus(await ctx.client.send(FEDERATION_PATHS.healthz, { note: 'EP-4' }), [200])
      const refused = await ctx.client.send(FEDERATION_PATHS.chunk(`share-${randomUUID()}`, digestBytes(randomBytes(8))), { note: 'EP-2 of an unknown share' })
      if (!('status' in refused)) fail('an answer to EP-2', `${refused.code} ${refused.message}`, refused.request)
      const listed = parseFeaturesHeader(health.headers[FEATURES_HEADER])
      const again = parseFeaturesHeader(refused.headers[FEATURES_HEADER])
      check(
        listed.join(',') === again.join(','),
        `the same Caseway-Features on a 200 and on a ${refused.status} (CW-VER-007: every answer)`,
        `"${health.headers[FEATURES_HEADER] ?? ''}" and "${refused.headers[FEATURES_HEADER] ?? ''}"`,
        refused.request,
      )
      ctx.note(`Caseway-Features: ${listed.join(', ') || '(none)'}`)
      const received = await baselineShare(ctx)
      const [item] = requireEvidence(ctx, received)
      const answer = await batch(ctx, received.share, digestsBody([item!.chunks[0]!]), 'EP-20 with one listed chunk')
      if (!('status' in answer)) fail('an answer to EP-20', `${answer.code} ${answer.message}`, answer.request)
      if (listed.includes(CHUNK_BATCH_FEATURE)) {
        check(answer.status === 200, 'EP-20 served (200) by a target that lists chunk-batch', describeExchange(answer), answer.request)
      } else {
        check(answer.status !== 200, 'EP-20 not answered 200 by a target that does not list chunk-batch (CW-VER-007)', describeExchange(answer), answer.request)
      }
    },
  },
  {
    id: 'sender.chunk-batch-served',
    title: 'EP-20 answers the chunks asked for, whole, in request order, as application/octet-stream with their total length',
    group: 'sender',
    spec: ['CW-BAT-001', 'CW-BAT-003', 'CW-BAT-002'],
    requires: ['control'],
    async run(ctx) {
      await requireBatches(ctx)
      const received = await baselineShare(ctx)
      const chunks = requireEvidence(ctx, received).flatMap((item) => item.chunks.map((digest, index) => ({ digest, length: chunkLength(item, index) })))
      const unique = [...new Map(chunks.map((chunk) => [chunk.digest, chunk])).values()]
      // Reversed: the order is the request's, not the manifest's.
      const asked = unique.reverse()
      const answer = expectStatus(
        await batch(ctx, received.share, digestsBody(asked.map((chunk) => chunk.digest)), `EP-20 with ${asked.length} chunks, last first`),
        [200],
      )
      const total = asked.reduce((sum, chunk) => sum + chunk.length, 0)
      check(
        (answer.headers['content-type'] ?? '').startsWith('application/octet-stream'),
        'Content-Type: application/octet-stream',
        answer.headers['content-type'] ?? '(none)',
        answer.request,
      )
      check(
        answer.headers['content-length'] === String(total),
        `Content-Length: ${total} (the sum of the chunks)`,
        answer.headers['content-length'] ?? '(none)',
        answer.request,
      )
      check(answer.body.length === total, `${total} bytes`, `${answer.body.length}`, answer.request)
      let offset = 0
      for (const [index, { digest, length }] of asked.entries()) {
        const got = digestBytes(answer.body.subarray(offset, offset + length))
        check(got === digest, `chunk ${index + 1} of the answer (bytes ${offset}..${offset + length - 1}) hashing to ${digest}`, got, answer.request)
        offset += length
      }
      ctx.note(`${asked.length} chunks, ${total} bytes in one answer`)
    },
  },
  {
    id: 'sender.chunk-batch-unauthorized',
    title: "A batch naming one digest EP-2 would refuse (not listed, another share's, a revoked share) is refused whole, before any byte",
    group: 'sender',
    spec: ['CW-BAT-002', 'CW-FED-005'],
    requires: ['control'],
    async run(ctx) {
      await requireBatches(ctx)
      const received = await baselineShare(ctx)
      const [item] = requireEvidence(ctx, received)
      const listed = item!.chunks[0]!
      expectProblem(
        await batch(ctx, received.share, digestsBody([listed, digestBytes(randomBytes(32))]), 'EP-20: a listed digest and one no share lists'),
        'CW_ERR_NOT_FOUND',
      )
      expectProblem(await batch(ctx, `share-${randomUUID()}`, digestsBody([listed]), 'EP-20 under a share id the target never made'), 'CW_ERR_NOT_FOUND')
      const category = received.policy.content.evidenceCategories[0]!
      const other = await shareFromTarget(ctx, { fields: {}, items: [{ size: 1200, category }] }, 'control: a second share with one small item')
      const [otherItem] = requireEvidence(ctx, other)
      expectProblem(
        await batch(
          ctx,
          received.share,
          digestsBody([listed, otherItem!.chunks[0]!]),
          `EP-20: a digest of share ${other.share} through share ${received.share}`,
        ),
        'CW_ERR_NOT_FOUND',
      )
      await revokeShare(ctx.client, other.share)
      expectProblem(await batch(ctx, other.share, digestsBody([otherItem!.chunks[0]!]), 'EP-20 of a revoked share'), 'CW_ERR_SHARE_REVOKED')
    },
  },
  {
    id: 'sender.chunk-batch-limits',
    title: 'An EP-20 body that is not the schema (too many, none or repeated digests), not JSON, another media type or over 128 KiB is refused',
    group: 'sender',
    spec: ['CW-BAT-001'],
    requires: ['control'],
    async run(ctx) {
      await requireBatches(ctx)
      const received = await baselineShare(ctx)
      const [item] = requireEvidence(ctx, received)
      const listed = item!.chunks[0]!
      const many = Array.from({ length: CHUNK_BATCH_LIMITS.maxChunks + 1 }, (_, index) => (index === 0 ? listed : digestBytes(randomBytes(16))))
      expectProblem(await batch(ctx, received.share, digestsBody(many), `EP-20 with ${many.length} digests`), 'CW_ERR_BAD_REQUEST')
      expectProblem(await batch(ctx, received.share, digestsBody([]), 'EP-20 with no digest'), 'CW_ERR_BAD_REQUEST')
      expectProblem(await batch(ctx, received.share, digestsBody([listed, listed]), 'EP-20 with a digest twice'), 'CW_ERR_BAD_REQUEST')
      expectProblem(
        await batch(ctx, received.share, JSON.stringify({ digests: [listed], range: 'bytes=0-1' }), 'EP-20 with an unknown member'),
        'CW_ERR_BAD_REQUEST',
      )
      expectProblem(await batch(ctx, received.share, '{"digests": [', 'EP-20 with a body that is not JSON'), 'CW_ERR_BAD_REQUEST')
      expectProblem(await batch(ctx, received.share, digestsBody([listed]), 'EP-20 as application/jose', JOSE_MEDIA_TYPE), 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
      const padded = JSON.stringify({ digests: [listed] }).replace('{', `{${' '.repeat(CHUNK_BATCH_LIMITS.bodyBytes)}`)
      expectProblem(await batch(ctx, received.share, padded, `EP-20 with a ${padded.length}-byte body`), 'CW_ERR_TOO_LARGE')
    },
  },
  {
    id: 'receiver.no-chunk-batch-without-feature',
    title: 'A receiver pulls on EP-2 only from a partner whose latest answer listed no chunk-batch feature',
    group: 'receiver',
    spec: ['CW-BAT-004'],
    async run(ctx) {
      await withHarnessFeatures(ctx, [], async () => {
        const since = Date.now()
        const { share, delivered } = await deliverSmallItems(ctx, 6, 3000)
        const batches = ctx.listener.seen('request', (event) => event.at >= since && event.method === 'POST' && event.path.endsWith('/chunk-batches'))
        check(batches.length === 0, 'no EP-20 request to a partner that lists no chunk-batch (CW-BAT-004)', `${batches.length} EP-20 requests`)
        expectAllPulledBefore(ctx, share, delivered.manifest, delivered.receiptAt)
      })
    },
  },
  {
    id: 'receiver.chunk-batch-corrupt-refetched',
    title: 'A chunk with a wrong byte in a batch is fetched again before the receipt; every chunk is pulled',
    group: 'receiver',
    spec: ['CW-BAT-005', 'CW-BAT-006', 'CW-FED-007'],
    async run(ctx) {
      await withHarnessFeatures(ctx, [CHUNK_BATCH_FEATURE], async () => {
        const { share, delivered, corrupted } = await deliverSmallItems(ctx, 8, Math.floor(TEST_CHUNK_SIZE / 16), 3)
        const pulls = ctx.listener.seen('pull', (event) => event.shareId === share.id && event.digest === corrupted)
        const bad = pulls.find((event) => event.corrupted)
        if (bad === undefined) fail('the corrupted chunk pulled once with a wrong byte', `${pulls.length} pulls of it, none corrupted`)
        check(
          pulls.some((event) => !event.corrupted && event.status === 200 && event.at >= bad.at && event.at <= delivered.receiptAt),
          'the chunk fetched again after the wrong bytes, before the receipt (CW-BAT-005)',
          `pulls: ${JSON.stringify(pulls.map(({ status, corrupted: wrong, batch: size }) => ({ status, corrupted: wrong, batch: size })))}`,
        )
        expectAllPulledBefore(ctx, share, delivered.manifest, delivered.receiptAt)
        const batched = ctx.listener.seen('pull', (event) => event.shareId === share.id && (event.batch ?? 0) > 1).length
        ctx.note(batched > 0 ? `${batched} chunk pulls came in EP-20 batches` : 'the target pulled on EP-2 only (EP-20 is optional for a receiver)')
      })
    },
  },
]
