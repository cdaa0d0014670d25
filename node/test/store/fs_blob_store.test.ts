import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import { blobStoreContract, chunked, digestOf } from './blob_store_contract.ts'

const blobPath = (dir: string, digest: string) => {
  const hex = digest.slice('sha256:'.length)
  return join(dir, 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex)
}

/** Every file below `dir`, relative paths. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort()
}

t.test('the BlobStore contract', async (t) => {
  blobStoreContract(
    t,
    async (t) => {
      const dir = t.testdir()
      return { store: await openFsBlobStore(dir), stored: () => files(dir), nameOf: (digest) => blobPath(dir, digest).slice(dir.length + 1) }
    },
    { largeBytes: 3 * 1024 * 1024, flatMemoryMiB: 256 },
  )
})

t.test('files are content-addressed and private', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const bytes = randomBytes(200_000)
  const digest = digestOf(bytes)
  await blobs.put(digest, chunked(bytes, 65_536))
  t.same(await files(dir), [blobPath(dir, digest).slice(dir.length + 1)], 'one file at sha256/ab/cd/<hex>, no temp left')
  t.equal((await stat(blobPath(dir, digest))).mode & 0o777, 0o600)
  t.equal((await stat(join(dir, 'sha256'))).mode & 0o777, 0o700)
  t.equal((await stat(join(dir, 'tmp'))).mode & 0o777, 0o700)
})

t.test('a small blob or range is read with buffers of its own size, not 1 MiB each', async (t) => {
  // Each read allocates a buffer of the stream's high-water mark before it knows how much it
  // gets: 1 MiB per small blob was most of the garbage collection when serving or verifying
  // ten thousand small items.
  const blobs = await openFsBlobStore(t.testdir())
  const small = randomBytes(200)
  await blobs.put(digestOf(small), small)
  const big = randomBytes(3 * 1024 * 1024 + 5)
  await blobs.put(digestOf(big), big)
  const whole = await blobs.get(digestOf(small))
  t.ok(whole.readableHighWaterMark <= 200, `a 200-byte blob is read ${whole.readableHighWaterMark} bytes at a time`)
  t.same(await buffer(whole), small)
  const part = await blobs.get(digestOf(big), { start: 10, end: 109 })
  t.ok(part.readableHighWaterMark <= 100, `a 100-byte range is read ${part.readableHighWaterMark} bytes at a time`)
  t.same(await buffer(part), big.subarray(10, 110))
  const all = await blobs.get(digestOf(big))
  t.equal(all.readableHighWaterMark, 1024 * 1024, 'a large blob is read 1 MiB at a time')
  t.ok((await buffer(all)).equals(big))
})

t.test('a digest never reaches outside the directory', async (t) => {
  const dir = t.testdir({ secret: 'do not read' })
  const blobs = await openFsBlobStore(join(dir, 'blobs'))
  await t.rejects(blobs.get('sha256:../../../secret'), TypeError)
  await t.rejects(blobs.put('../secret', Buffer.from('do not read')), TypeError)
  t.same(await files(join(dir, 'blobs')), [])
  await t.rejects(openFsBlobStore(''), TypeError)
})

t.test('stale temp files from a crash are removed at open', async (t) => {
  const dir = t.testdir({ tmp: { a1b2c3: 'half a chunk', 'probe-1': 'x' } })
  const bytes = Buffer.from('kept')
  const first = await openFsBlobStore(dir)
  t.same(await readdir(join(dir, 'tmp')), [], 'leftovers removed')
  await first.put(digestOf(bytes), bytes)
  await writeFile(join(dir, 'tmp', 'd4e5f6'), 'another crash')
  const second = await openFsBlobStore(dir)
  t.same(await readdir(join(dir, 'tmp')), [])
  t.same(await buffer(await second.get(digestOf(bytes))), bytes, 'stored blobs are kept')
})
