/**
 * The receiver's whole-file check before a receipt (`receiving/receipts.ts`, CW-FED-008,
 * CW-REC-002): an item that is one chunk whose digest is the item's digest is verified by that
 * chunk's own check (CW-FMT-003: both are SHA-256 of the same bytes) and not read again; every
 * other item is read and hashed whole, so no manifest gets past with less checking.
 */
import t, { type Test } from 'tap'
import type { CaseManifest, EvidenceItem } from '#protocol'
import { evidence, fakeDigest } from '../../../testkit/fixtures/manifests.ts'
import { checkItems } from '../../src/receiving/receipts.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import { readCounting } from '../support/read_counting_blobs.ts'

async function setUp(t: Test) {
  const inner = await openFsBlobStore(t.testdir())
  const reads: string[] = []
  const blobs = readCounting(inner, reads)
  const store = async (items: Awaited<ReturnType<typeof evidence>>[]) => {
    for (const { chunks } of items) for (const [digest, bytes] of chunks) await inner.put(digest, bytes)
  }
  const check = (evidence: EvidenceItem[]) => checkItems({ blobs }, { evidence } as unknown as CaseManifest, new AbortController().signal)
  return { reads, store, check }
}

// spec: CW-FED-008, CW-REC-002, CW-FMT-003
t.test('a one-chunk item is verified by its chunk, every other item is read and hashed whole', async (t) => {
  const { reads, store, check } = await setUp(t)
  const small = await evidence('small', 16_384)
  const large = await evidence('large', 65_536 * 2 + 7)
  await store([small, large])
  t.equal(small.item.chunks[0], small.item.digest, "a one-chunk item's chunk digest is its digest")
  t.equal(await check([small.item, large.item]), undefined, 'both match')
  t.same(reads, large.item.chunks, 'only the chunks of the three-chunk item were read')
})

// spec: CW-FED-008
t.test('no shortcut for an item the shortcut does not prove', async (t) => {
  const { reads, store, check } = await setUp(t)
  const small = await evidence('small', 16_384)
  const other = await evidence('other', 1_000)
  await store([small, other])
  const problem = { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' }

  // One chunk listed, but the item's digest is another's: read and hashed, and it does not match.
  t.match(await check([{ ...small.item, digest: other.item.digest }]), problem, 'a chunk digest that is not the item digest')
  t.same(reads, small.item.chunks, 'that item was read')
  t.match(await check([{ ...small.item, size: small.item.size + 1 }]), problem, 'a size its bytes do not have')
  const missing = { ...small.item, id: 'missing', digest: fakeDigest('absent'), chunks: [fakeDigest('absent')] }
  t.match(await check([missing]), { ...problem, detail: /"missing"/ }, 'a chunk the store does not hold')
  const large = await evidence('large', 65_536 + 1)
  await store([large])
  t.match(await check([{ ...large.item, digest: small.item.digest }]), problem, 'several chunks: always hashed whole')
  t.match(
    await check([small.item, other.item, { ...other.item, id: 'bad', digest: fakeDigest('bad') }, { ...large.item, id: 'later', digest: fakeDigest('later') }]),
    { detail: /"bad"/ },
    'the first that does not match, in manifest order',
  )
})
