/**
 * The receiver's whole-file check done while chunks arrive (`receiving/verification/streamed_item_check.ts`,
 * CW-FED-008, CW-REC-002): chunks stored in any order make up the item's digest without the item
 * being read back, a chunk that arrived before its turn is held within a bound or read back, and
 * anything short of every chunk stored in this round leaves the item to the read-back check.
 */
import t, { type Test } from 'tap'
import type { CaseManifest, EvidenceItem } from '#protocol'
import { evidence, type Evidence } from '../../../testkit/fixtures/manifests.ts'
import { checkItems } from '../../src/receiving/receipts.ts'
import { StreamedItemCheck, type ChunkTap } from '../../src/receiving/verification/streamed_item_check.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import { readCounting } from '../support/read_counting_blobs.ts'

const manifestOf = (...items: EvidenceItem[]) => ({ evidence: items }) as unknown as CaseManifest

async function setUp(t: Test) {
  const inner = await openFsBlobStore(t.testdir())
  const reads: string[] = []
  const blobs = readCounting(inner, reads)
  /** One chunk's pull as `chunk_pull.ts` makes it: its pieces shown to the tap while the blob store stores them, then `stored`. */
  const arrive = (tap: ChunkTap | undefined, bytes: Buffer, from = 0, to = bytes.length) => {
    for (let at = from; at < to; at += 10_000) tap?.piece(bytes.subarray(at, Math.min(at + 10_000, to)))
  }
  const store = async (tap: ChunkTap | undefined, digest: string, bytes: Buffer) => {
    await inner.put(digest, bytes)
    tap?.stored()
  }
  /** Three pulls at once, the first chunk stored last: the other two arrive before their turn. */
  const firstChunkLast = async (check: StreamedItemCheck, chunks: [string, Buffer][]) => {
    const [[d0, b0], [d1, b1], [d2, b2]] = chunks as [[string, Buffer], [string, Buffer], [string, Buffer]]
    const [tap0, tap1, tap2] = [check.tap(d0), check.tap(d1), check.tap(d2)]
    arrive(tap1, b1)
    await store(tap1, d1, b1)
    arrive(tap2, b2)
    await store(tap2, d2, b2)
    arrive(tap0, b0)
    await store(tap0, d0, b0)
  }
  return { inner, blobs, reads, arrive, store, firstChunkLast }
}

/** A three-chunk item (64 KiB chunks, the last one short) and its chunks in order. */
async function threeChunks(id: string): Promise<{ item: EvidenceItem; chunks: [string, Buffer][] }> {
  const made: Evidence = await evidence(id, 65_536 * 2 + 4_000)
  return { item: made.item, chunks: [...made.chunks] }
}

// spec: CW-FED-008, CW-REC-002
t.test('chunks stored in order or out of it make up the item, and nothing is read back', async (t) => {
  const { blobs, reads, arrive, store } = await setUp(t)
  const inOrder = await threeChunks('in-order')
  const shuffled = await threeChunks('shuffled')
  const all = [...inOrder.chunks, ...shuffled.chunks].map(([digest]) => digest)
  const check = new StreamedItemCheck(blobs, manifestOf(inOrder.item, shuffled.item), all)

  for (const [digest, bytes] of inOrder.chunks) {
    const tap = check.tap(digest)
    t.ok(tap, 'every chunk of a followed item has a tap')
    arrive(tap, bytes)
    await store(tap, digest, bytes)
  }

  // Three pulls at once: the last chunk is stored first, the second is half-way when the first is stored.
  const [[d0, b0], [d1, b1], [d2, b2]] = shuffled.chunks as [[string, Buffer], [string, Buffer], [string, Buffer]]
  const [tap0, tap1, tap2] = [check.tap(d0), check.tap(d1), check.tap(d2)]
  arrive(tap2, b2)
  await store(tap2, d2, b2)
  arrive(tap1, b1, 0, 30_000)
  arrive(tap0, b0)
  await store(tap0, d0, b0)
  arrive(tap1, b1, 30_000)
  await store(tap1, d1, b1)

  const verified = await check.verified()
  t.equal(verified.size, 2, 'both items verified as their chunks were stored')
  t.same(reads, [], 'no chunk read back')
  t.equal(await checkItems({ blobs }, manifestOf(inOrder.item, shuffled.item), new AbortController().signal, verified), undefined, 'the receipt check agrees')
  t.same(reads, [], 'and reads nothing either')
})

// spec: CW-FED-008
t.test('chunks early beyond the held bound are read back from the blob store when their turn comes', async (t) => {
  const { blobs, reads, firstChunkLast } = await setUp(t)
  const { item, chunks } = await threeChunks('bounded')
  const [d0, d1, d2] = chunks.map(([digest]) => digest) as [string, string, string]
  // Room for the second chunk only; the third arrives unheld.
  const check = new StreamedItemCheck(blobs, manifestOf(item), [d0, d1, d2], 65_536)
  await firstChunkLast(check, chunks)
  t.same([...(await check.verified())], [`${item.digest} ${item.size} ${item.chunks.join(' ')}`], 'verified')
  t.same(reads, [d2], 'only the chunk that was not held was read back')
})

// spec: CW-FED-008, CW-REC-002
t.test('an item whose chunks match but whose bytes are not its digest is left to the read-back check, which rejects it', async (t) => {
  const { blobs, reads, arrive, store } = await setUp(t)
  const { item, chunks } = await threeChunks('lying')
  const other = await threeChunks('other')
  const lying = { ...item, digest: other.item.digest }
  const check = new StreamedItemCheck(
    blobs,
    manifestOf(lying),
    chunks.map(([digest]) => digest),
  )
  for (const [digest, bytes] of chunks) {
    const tap = check.tap(digest)
    arrive(tap, bytes)
    await store(tap, digest, bytes)
  }
  const verified = await check.verified()
  t.equal(verified.size, 0, 'not verified')
  t.match(await checkItems({ blobs }, manifestOf(lying), new AbortController().signal, verified), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' }, 'rejected')
  t.same(
    reads,
    chunks.map(([digest]) => digest),
    'after the read-back check read it whole',
  )
})

// spec: CW-FED-007, CW-FED-008
t.test('a chunk not stored, or not of its length, leaves its item to the read-back check', async (t) => {
  const { blobs, arrive, store } = await setUp(t)
  const failed = await threeChunks('failed')
  const short = await threeChunks('short')
  const long = await threeChunks('long')
  const intact = await threeChunks('intact')
  const all = [failed, short, long, intact]
  const check = new StreamedItemCheck(
    blobs,
    manifestOf(...all.map(({ item }) => item)),
    all.flatMap(({ chunks }) => chunks.map(([digest]) => digest)),
  )
  const pullAll = async ({ chunks }: { chunks: [string, Buffer][] }, change: (index: number, tap: ChunkTap | undefined, bytes: Buffer) => boolean) => {
    for (const [index, [digest, bytes]] of chunks.entries()) {
      const tap = check.tap(digest)
      if (!change(index, tap, bytes)) arrive(tap, bytes)
      await store(tap, digest, bytes)
    }
  }
  await pullAll(failed, (index, tap, bytes) => {
    if (index !== 1) return false
    arrive(tap, bytes)
    tap?.failed()
    return true
  })
  await pullAll(short, (index, tap, bytes) => {
    if (index !== 1) return false
    arrive(tap, bytes, 0, bytes.length - 1)
    return true
  })
  await pullAll(long, (index, tap, bytes) => {
    if (index !== 2) return false
    arrive(tap, Buffer.concat([bytes, Buffer.from('x')]))
    return true
  })
  await pullAll(intact, () => false)
  t.same(
    [...(await check.verified())].map((identity) => identity.split(' ')[0]),
    [intact.item.digest],
    'only the intact item is verified',
  )
})

// spec: CW-POS-003, CW-FED-008
t.test('items not pulled whole in this round or sharing a chunk are not followed', async (t) => {
  const { blobs } = await setUp(t)
  const held = await threeChunks('held')
  const first = await threeChunks('first')
  const sharing = { ...first.item, id: 'sharing', digest: (await threeChunks('x')).item.digest, chunks: [first.item.chunks[0]!, first.item.chunks[0]!] }
  const single = await evidence('single', 1_000)
  const pulled = [held.chunks[0]![0], held.chunks[1]![0], ...first.chunks.map(([digest]) => digest), ...single.item.chunks]
  const check = new StreamedItemCheck(blobs, manifestOf(held.item, first.item, sharing, single.item), pulled)
  t.equal(check.tap(held.chunks[0]![0]), undefined, 'an item with a chunk held from before')
  t.equal(check.tap(first.chunks[0]![0]), undefined, 'a chunk listed by two items')
  t.equal(check.tap(first.chunks[1]![0]), undefined, '… leaves the rest of its item unfollowed too')
  t.equal((await check.verified()).size, 0, 'nothing verified')
})

// spec: CW-FMT-003, CW-FED-008
t.test('an item that is its one chunk is verified by that chunk stored with the item’s size, and never read', async (t) => {
  const { blobs, reads, arrive, store } = await setUp(t)
  const photo = await evidence('photo', 16_384)
  const resized = await evidence('resized', 1_000)
  const lost = await evidence('lost', 2_000)
  const claimsMore = { ...resized.item, size: resized.item.size + 1 }
  const check = new StreamedItemCheck(blobs, manifestOf(photo.item, claimsMore, lost.item), [photo.item.digest, resized.item.digest, lost.item.digest])
  for (const { item, chunks } of [photo, resized, lost]) {
    const [[digest, bytes]] = [...chunks] as [[string, Buffer]]
    const tap = check.tap(digest)
    t.ok(tap, `${item.id}: its chunk has a tap`)
    arrive(tap, bytes)
    if (item === lost.item) tap?.failed()
    else await store(tap, digest, bytes)
  }
  const verified = await check.verified()
  t.same(
    [...verified].map((identity) => identity.split(' ')[0]),
    [photo.item.digest],
    'only the photo: one size is wrong, one chunk was not stored',
  )
  t.match(
    await checkItems({ blobs }, manifestOf(photo.item, claimsMore), new AbortController().signal, verified),
    { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', detail: /"resized"/ },
    'the read-back check rejects the one whose size is wrong',
  )
  t.same(reads, [], 'no blob read')
})

// spec: CW-FED-008
t.test('buffers of early chunks are reused once hashed, and every item still verifies', async (t) => {
  const { blobs, reads, firstChunkLast } = await setUp(t)
  const items = [await threeChunks('first'), await threeChunks('second'), await threeChunks('third')]
  const check = new StreamedItemCheck(
    blobs,
    manifestOf(...items.map(({ item }) => item)),
    items.flatMap(({ chunks }) => chunks.map(([digest]) => digest)),
  )
  for (const { chunks } of items) {
    // The held buffers are hashed and released for the next item.
    await firstChunkLast(check, chunks)
  }
  t.equal((await check.verified()).size, 3, 'all three verified')
  t.same(reads, [], 'none read back')
})
