/**
 * The receiver's pulls (`peer/chunk_pull.ts`, SPEC.md CW-BAT-004..006, CW-FED-007,
 * CW-POS-005): a batch answer is cut by the manifest's lengths and each chunk is stored only if
 * it hashes to its digest, then recorded as delivered; a wrong byte, a short or long answer fails
 * the pull without storing or recording the chunk it spoiled; a `404` to a batch falls back to
 * EP-2, chunk by chunk. The peer is a stand-in here; over the wire: `integration/chunk_batches.test.ts` and the conformance harness.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { digestBytes, type CaseManifest } from '#protocol'
import type { NodeContext } from '../../src/context.ts'
import { planChunks, planUnits } from '../../src/peer/chunk_pool.ts'
import { PeerRefusal, PeerUnreachable } from '../../src/peer/errors.ts'
import type { PeerClient } from '../../src/peer/peer_client.ts'
import { forEachPull, PLAN_WINDOW_CHUNKS, pullUnit, type PullTarget } from '../../src/peer/chunk_pull.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import type { BlobStore } from '../../src/store/blob_store.ts'
import type { PartnerRecord } from '../../src/store/metadata_store.ts'

const CHUNK = 65_536
const partner = { org: 'alpha' } as PartnerRecord

/** Items of one chunk each (of 64 KiB, or 256 KiB for a larger item), with their bytes. */
function items(sizes: readonly number[]) {
  const bytes = sizes.map((size) => randomBytes(size))
  const manifest = {
    evidence: bytes.map((b, index) => ({
      id: `ev-${index}`,
      size: b.length,
      chunkSize: b.length > CHUNK ? 4 * CHUNK : CHUNK,
      chunks: [digestBytes(b)],
      digest: digestBytes(b),
    })),
  } as unknown as CaseManifest
  return { bytes, digests: bytes.map((b) => digestBytes(b)), manifest }
}

interface Calls {
  batches: string[][]
  singles: string[]
}

/** A peer that answers a batch with `batchBody(digests)` (or refuses it) and each EP-2 pull with the right bytes. */
function fakePeer(byDigest: Map<string, Buffer>, batchBody: (digests: readonly string[]) => Buffer | PeerRefusal, calls: Calls): PeerClient {
  return {
    async fetchChunk(_partner, _shareId, digest) {
      calls.singles.push(digest)
      return Readable.from([byDigest.get(digest)!])
    },
    async fetchChunkBatch(_partner, _shareId, digests) {
      calls.batches.push([...digests])
      const body = batchBody(digests)
      if (body instanceof PeerRefusal) throw body
      // In uneven pieces, as a network delivers them.
      const pieces: Buffer[] = []
      for (let at = 0; at < body.length; at += 1000) pieces.push(body.subarray(at, at + 1000))
      return Readable.from(pieces)
    },
    async chunkBatchesServed() {
      return true
    },
    offer: () => Promise.reject(new Error('unused')),
    sendReceipt: () => Promise.reject(new Error('unused')),
    sendRevocation: () => Promise.reject(new Error('unused')),
    close: async () => undefined,
  }
}

async function setUp(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'caseway-pull-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const blobs: BlobStore = await openFsBlobStore(dir)
  const delivered: string[] = []
  const ctx = {
    blobs,
    clock: { now: () => new Date() },
    store: {
      chunks: {
        recordDelivered: async (org: string, digest: string) => {
          // CW-POS-005: recorded only once the bytes are stored.
          if (!(await blobs.has(digest))) throw new Error(`recorded before stored: ${digest}`)
          delivered.push(`${org} ${digest}`)
        },
        recordDeliveredAll: async (org: string, digests: readonly string[]) => {
          // CW-POS-005: recorded only once the bytes are stored, the group at once.
          for (const digest of digests) if (!(await blobs.has(digest))) throw new Error(`recorded before stored: ${digest}`)
          for (const digest of digests) delivered.push(`${org} ${digest}`)
        },
      },
    },
  } as unknown as NodeContext
  return { ctx, blobs, delivered }
}

function targetOf(ctx: NodeContext, peer: PeerClient, manifest: CaseManifest, stored: string[]): PullTarget {
  return {
    ctx,
    peer,
    partner,
    shareId: 'share-1',
    plan: planChunks(manifest),
    signal: new AbortController().signal,
    storedPoint: 'fetch.chunk-stored',
    stored: (digest) => void stored.push(digest),
  }
}

// spec: CW-BAT-005, CW-FED-007, CW-POS-005
t.test('a batch answer is cut by the lengths, each chunk verified, stored, then recorded', async (t) => {
  const { ctx, blobs, delivered } = await setUp(t)
  const { bytes, digests, manifest } = items([100, 5000, CHUNK, 1])
  const calls: Calls = { batches: [], singles: [] }
  const peer = fakePeer(new Map(digests.map((d, i) => [d, bytes[i]!])), (asked) => Buffer.concat(asked.map((d) => bytes[digests.indexOf(d)]!)), calls)
  const [unit] = planUnits(digests, planChunks(manifest), true)
  t.same(unit, { digests, batch: true, weight: (100 + 5000 + CHUNK + 1) / CHUNK }, 'one batch')
  const stored: string[] = []
  const tally = { stored: 0 }
  await pullUnit(targetOf(ctx, peer, manifest, stored), unit!, tally)
  t.same(calls, { batches: [digests], singles: [] }, 'one request')
  t.same(stored.sort(), [...digests].sort())
  t.equal(tally.stored, 4)
  t.same(delivered.sort(), digests.map((d) => `alpha ${d}`).sort())
  for (const digest of digests) t.ok(await blobs.has(digest))
})

// spec: CW-BAT-005, CW-FED-007
t.test('a wrong byte: that chunk is neither stored nor recorded, the others are kept, the pull fails', async (t) => {
  const { ctx, blobs, delivered } = await setUp(t)
  const { bytes, digests, manifest } = items([3000, 3000, 3000])
  const calls: Calls = { batches: [], singles: [] }
  const peer = fakePeer(
    new Map(digests.map((d, i) => [d, bytes[i]!])),
    (asked) => {
      const body = Buffer.concat(asked.map((d) => bytes[digests.indexOf(d)]!))
      body[3000 + 17] = body[3000 + 17]! ^ 0x01
      return body
    },
    calls,
  )
  const [unit] = planUnits(digests, planChunks(manifest), true)
  const tally = { stored: 0 }
  await t.rejects(pullUnit(targetOf(ctx, peer, manifest, []), unit!, tally), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
  t.equal(tally.stored, 2)
  t.notOk(await blobs.has(digests[1]!), 'the spoiled chunk is not stored')
  t.same(delivered.sort(), [`alpha ${digests[0]}`, `alpha ${digests[2]}`].sort(), 'nor recorded as delivered')
})

// spec: CW-BAT-005
t.test('an answer shorter or longer than the chunks fails the pull; the whole chunks before the fault are kept', async (t) => {
  for (const [what, change] of [
    ['short', (body: Buffer) => body.subarray(0, body.length - 10)],
    ['long', (body: Buffer) => Buffer.concat([body, Buffer.from('x')])],
  ] as const) {
    const { ctx, blobs } = await setUp(t)
    const { bytes, digests, manifest } = items([2000, 2000])
    const peer = fakePeer(new Map(), (asked) => change(Buffer.concat(asked.map((d) => bytes[digests.indexOf(d)]!))), { batches: [], singles: [] })
    const [unit] = planUnits(digests, planChunks(manifest), true)
    await t.rejects(pullUnit(targetOf(ctx, peer, manifest, []), unit!), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' }, what)
    t.ok(await blobs.has(digests[0]!), `${what}: the first chunk, whole, is kept`)
    t.equal(await blobs.has(digests[1]!), what === 'long', `${what}: the second only when its bytes were all there`)
  }
})

// spec: CW-BAT-004
t.test('a 404 to a batch falls back to EP-2 for each of its chunks', async (t) => {
  const { ctx, blobs } = await setUp(t)
  const { bytes, digests, manifest } = items([10, 20, 30])
  const calls: Calls = { batches: [], singles: [] }
  const peer = fakePeer(new Map(digests.map((d, i) => [d, bytes[i]!])), () => new PeerRefusal('alpha', 404, 'CW_ERR_NOT_FOUND', 'no such endpoint'), calls)
  const [unit] = planUnits(digests, planChunks(manifest), true)
  await pullUnit(targetOf(ctx, peer, manifest, []), unit!)
  t.same(calls, { batches: [digests], singles: digests })
  for (const digest of digests) t.ok(await blobs.has(digest))
})

// spec: CW-BAT-004
t.test('planUnits: batches only when the partner serves them, only small chunks of known length, within the bounds', async (t) => {
  const { digests, manifest } = items([...Array.from({ length: 70 }, () => 100), CHUNK + 1])
  const plan = planChunks(manifest)
  t.ok(
    planUnits(digests, plan, false).every((unit) => !unit.batch && unit.digests.length === 1),
    'no batch for a partner without the feature',
  )
  const units = planUnits(digests, plan, true)
  t.same(
    units.map((unit) => [unit.batch, unit.digests.length]),
    [
      [true, 64],
      [false, 1],
      [true, 6],
    ],
    'at most 64 chunks a batch; a chunk over 64 KiB alone, when it comes (the open batch goes on filling)',
  )
  t.same(units.flatMap((unit) => unit.digests).sort(), [...digests].sort(), 'every chunk once')
})

// spec: CW-BAT-004
t.test('after a 404 to a batch, an unreachable partner ends the fallback at once', async (t) => {
  const { ctx } = await setUp(t)
  const { bytes, digests, manifest } = items([10, 20, 30])
  const calls: Calls = { batches: [], singles: [] }
  const peer = fakePeer(new Map(digests.map((d, i) => [d, bytes[i]!])), () => new PeerRefusal('alpha', 404, 'CW_ERR_NOT_FOUND', 'no such endpoint'), calls)
  peer.fetchChunk = async (_partner, _shareId, digest) => {
    calls.singles.push(digest)
    throw new PeerUnreachable('alpha', 'connection refused', { code: 'ECONNREFUSED' })
  }
  const [unit] = planUnits(digests, planChunks(manifest), true)
  await t.rejects(pullUnit(targetOf(ctx, peer, manifest, []), unit!), { code: 'ECONNREFUSED' })
  t.same(calls.singles, [digests[0]], 'one EP-2 try, not one per chunk')
})

// spec: CW-BAT-004
t.test('a batch planned before the partner stopped listing chunk-batch is pulled on EP-2', async (t) => {
  const { ctx, blobs } = await setUp(t)
  const { bytes, digests, manifest } = items([10, 20])
  const calls: Calls = { batches: [], singles: [] }
  const peer = fakePeer(new Map(digests.map((d, i) => [d, bytes[i]!])), () => Buffer.alloc(0), calls)
  const [unit] = planUnits(digests, planChunks(manifest), true)
  peer.chunkBatchesServed = async () => false
  await pullUnit(targetOf(ctx, peer, manifest, []), unit!)
  t.same(calls, { batches: [], singles: digests })
  for (const digest of digests) t.ok(await blobs.has(digest))
})

// spec: CW-BAT-004
t.test('a partner that did not say it serves batches when a long pull began is asked for them again at the next window', async (t) => {
  const { ctx, blobs } = await setUp(t)
  const { bytes, digests, manifest } = items(Array.from({ length: PLAN_WINDOW_CHUNKS + 10 }, () => 8))
  const calls: Calls = { batches: [], singles: [] }
  const peer = fakePeer(new Map(digests.map((d, i) => [d, bytes[i]!])), (asked) => Buffer.concat(asked.map((d) => bytes[digests.indexOf(d)]!)), calls)
  // Busy at first (its probe unanswered), then its answers list chunk-batch.
  let asked = 0
  peer.chunkBatchesServed = async () => asked++ > 0
  const target = targetOf(ctx, peer, manifest, [])
  await forEachPull(
    target,
    digests,
    4,
    () => false,
    (unit) => pullUnit(target, unit),
  )
  t.equal(calls.singles.length, PLAN_WINDOW_CHUNKS, 'the first window alone on EP-2')
  t.same(calls.batches, [digests.slice(PLAN_WINDOW_CHUNKS)], 'the rest in a batch')
  for (const digest of digests.slice(-3)) t.ok(await blobs.has(digest))
})

t.test('a pull that is told to stop starts no further window', async (t) => {
  const { ctx } = await setUp(t)
  const { bytes, digests, manifest } = items(Array.from({ length: PLAN_WINDOW_CHUNKS + 1 }, () => 8))
  const calls: Calls = { batches: [], singles: [] }
  const peer = fakePeer(new Map(digests.map((d, i) => [d, bytes[i]!])), () => Buffer.alloc(0), calls)
  let probes = 0
  peer.chunkBatchesServed = async () => {
    probes++
    return false
  }
  const target = targetOf(ctx, peer, manifest, [])
  await forEachPull(
    target,
    digests,
    4,
    () => calls.singles.length > 0,
    (unit) => pullUnit(target, unit),
  )
  t.equal(probes, 1, 'the partner is not probed for a window that does not start')
  t.equal(calls.singles.length, PLAN_WINDOW_CHUNKS, 'the window under way finishes')
})
