/**
 * The blob collector (`operations/blob_collector.ts`) on real stores — SQLite with the
 * filesystem store, and with the S3 store on a real S3 protocol server: what no record names
 * and is older than the grace period goes; what a record names, or what is younger (an upload
 * in progress), stays; a share's chunks stay while the share is in force, even once its
 * evidence is gone. Time is the node's clock, moved by the test past the grace period. That a
 * chunk stored again is young again, and that the delete spares it, is the blob store contract's.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { mock } from 'node:test'
import { Readable } from 'node:stream'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { collectBlobs, startBlobCollection } from '../../src/operations/blob_collector.ts'
import { createMetrics } from '../../src/operations/metrics.ts'
import type { BlobStore } from '../../src/store/blob_store.ts'
import { openS3BlobStore } from '../../src/store/s3_blob_store.ts'
import { manualClock } from '../../../testkit/clock.ts'
import { outboundShareRecord, partnerRecord, policyRecord } from '../support/records.ts'
import { startS3Server } from '../support/s3_server.ts'
import { createTestContext } from '../support/context.ts'
import { digestOf } from '../store/blob_store_contract.ts'

const HOUR = 60 * 60 * 1000

async function setup(t: Test, blobs: BlobStore | undefined) {
  const clock = manualClock()
  const test = await createTestContext({ clock, blobs })
  t.teardown(() => test.close())
  const { ctx } = test
  const kase = await createCase(ctx, { fields: { title: 'Collector' } })
  const upload = (bytes: Buffer, name: string) => uploadEvidence(ctx, kase.id, { name, category: 'photo', mediaType: 'image/jpeg' }, Readable.from([bytes]))
  return { ...test, clock, caseId: kase.id, upload }
}

async function stored(blobs: BlobStore): Promise<string[]> {
  const digests: string[] = []
  for await (const blob of blobs.list()) digests.push(blob.digest)
  return digests.sort()
}

function collectorTests(t: Test, openBlobs: (t: Test) => Promise<BlobStore | undefined>): void {
  // spec: CW-LOC-043
  t.test('unreferenced and old: deleted; referenced, or young: kept', async (t) => {
    const { ctx, clock, upload, events } = await setup(t, await openBlobs(t))
    const evidence = await upload(randomBytes(150_000), 'kept.jpg')
    const orphan = randomBytes(70_000)
    await ctx.blobs.put(digestOf(orphan), orphan)
    await ctx.store.chunks.recordDelivered('river-pd', digestOf(orphan), clock.seconds())

    // The orphan was just stored, as by an upload whose record is not written yet.
    t.match(await collectBlobs(ctx), { dryRun: false, examined: evidence.chunks.length + 1, referenced: evidence.chunks.length, young: 1, freed: 0 })
    t.equal(await ctx.blobs.has(digestOf(orphan)), true, 'young: kept')

    clock.advance(2 * HOUR)
    t.match(await collectBlobs(ctx, { dryRun: true }), { dryRun: true, young: 0, freed: 1, bytesFreed: orphan.byteLength })
    t.equal(await ctx.blobs.has(digestOf(orphan)), true, 'a dry run deletes nothing')
    t.notOk(
      events.some((event) => event.type === 'blobs.collected'),
      'nor records anything',
    )

    t.match(await collectBlobs(ctx), { referenced: evidence.chunks.length, young: 0, freed: 1, bytesFreed: orphan.byteLength })
    t.same(await stored(ctx.blobs), [...new Set(evidence.chunks)].sort(), "only the evidence's chunks are left")
    t.same(await ctx.store.chunks.delivered('river-pd', [digestOf(orphan)]), new Set(), 'no partner counts as having delivered it any more')
    t.match(await collectBlobs(ctx), { freed: 0 }, 'nothing left to free')

    // Audited node-wide, and counted by the metrics.
    const collected = events.filter((event) => event.type === 'blobs.collected')
    t.match(collected, [{ type: 'blobs.collected', actor: { kind: 'system' }, freed: 1, bytes: orphan.byteLength }])
    t.match(await ctx.store.audit.list('_federation'), [{ type: 'blobs.collected', data: { freed: 1, bytes: orphan.byteLength } }])
    const metrics = createMetrics(ctx)
    for (const event of collected) await metrics.observe(event)
    const text = await metrics.expose()
    t.match(text, /^caseway_blobs_freed_total 1$/m)
    t.match(text, new RegExp(`^caseway_blob_bytes_freed_total ${orphan.byteLength}$`, 'm'))
  })

  // spec: CW-LOC-043
  t.test("a share's chunks are kept while the share is in force, even without its evidence", async (t) => {
    const { ctx, clock, caseId, upload } = await setup(t, await openBlobs(t))
    const evidence = await upload(randomBytes(100_000), 'shared.jpg')
    await ctx.store.policies.insert(policyRecord())
    await ctx.store.partners.upsert(partnerRecord())
    const now = clock.seconds()
    await ctx.store.outboundShares.insert(outboundShareRecord({ caseId, createdAt: now, updatedAt: now, expiresAt: now + 86_400 }))
    await ctx.store.outboundShares.insertRevision(
      { shareId: 'share-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: digestOf(Buffer.from('m')), createdAt: now, receiptJws: null },
      evidence.chunks,
    )
    await ctx.store.cases.deleteEvidence(evidence.id)
    clock.advance(2 * HOUR)
    t.match(await collectBlobs(ctx), { referenced: evidence.chunks.length, freed: 0 })
    t.same(await stored(ctx.blobs), [...new Set(evidence.chunks)].sort())

    await ctx.store.outboundShares.updateStatus('share-1', 'revoked', null, null, clock.seconds())
    t.match(await collectBlobs(ctx), { referenced: 0, freed: evidence.chunks.length })
    t.same(await stored(ctx.blobs), [])
  })
}

t.test('on the filesystem store', async (t) => collectorTests(t, async () => undefined))

t.test('on the S3 store', async (t) =>
  collectorTests(t, async (t) => {
    const s3 = await startS3Server(t)
    return openS3BlobStore(s3.storeOptions)
  }),
)

// spec: CW-LOC-043
t.test('the node collects every storage.blobCollection.intervalMs until it stops', async (t) => {
  const { ctx, clock, events } = await setup(t, undefined)
  const orphan = randomBytes(1000)
  await ctx.blobs.put(digestOf(orphan), orphan)
  clock.advance(2 * HOUR)
  let marks = 0
  const bound = (target: object, key: string | symbol): unknown => {
    const value = Reflect.get(target, key) as unknown
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
  }
  const chunks = new Proxy(ctx.store.chunks, {
    get: (target, key) => (key === 'referenced' ? (now: number) => (marks++, target.referenced(now)) : bound(target, key)),
  })
  const store = new Proxy(ctx.store, { get: (target, key) => (key === 'chunks' ? chunks : bound(target, key)) })
  const counted = { ...ctx, store }
  const interval = ctx.config.storage.blobCollection.intervalMs
  // The timer alone is mocked, and only while the collector schedules and fires: the stores keep real time.
  mock.timers.enable({ apis: ['setTimeout'] })
  let collection: ReturnType<typeof startBlobCollection>
  try {
    collection = startBlobCollection(counted)
    mock.timers.tick(interval - 1)
    t.equal(marks, 0, 'nothing before the interval')
    mock.timers.tick(1)
    t.equal(marks, 1, 'a collection at the interval')
  } finally {
    mock.timers.reset()
  }
  await collection.stop()
  t.equal(await ctx.blobs.has(digestOf(orphan)), false, 'it ran to its end before stop resolved')
  t.match(events.at(-1), { type: 'blobs.collected', freed: 1 })
  t.equal(marks, 1, 'and no other once stopped')
})
