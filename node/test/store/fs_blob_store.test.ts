import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
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
    { largeBytes: 3 * 1024 * 1024 },
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

t.test('memory stays flat while storing and reading 256 MiB', async (t) => {
  const blobs = await openFsBlobStore(t.testdir())
  const block = randomBytes(1024 * 1024)
  const blocks = 256
  const hash = createHash('sha256')
  for (let i = 0; i < blocks; i++) hash.update(block)
  const digest = 'sha256:' + hash.digest('hex')
  // Warm up (thread pool, lazily loaded code) so that fixed costs are not counted.
  const warm = randomBytes(4 * 1024 * 1024)
  await blobs.put(digestOf(warm), chunked(warm, 65_536))
  await buffer(await blobs.get(digestOf(warm)))

  // Every 16 MiB, collect garbage and sample rss: what the store retains, not what V8 has yet to free.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  const before = process.memoryUsage.rss()
  let peak = before
  const sample = () => {
    gc()
    peak = Math.max(peak, process.memoryUsage.rss())
  }
  async function* source() {
    for (let i = 0; i < blocks; i++) {
      if (i % 16 === 15) sample()
      // Fresh copies, as a network stream delivers them; the store must not keep them.
      yield Buffer.from(block)
    }
  }
  await blobs.put(digest, source())
  sample()
  const read = createHash('sha256')
  let bytes = 0
  for await (const chunk of await blobs.get(digest)) {
    read.update(chunk as Buffer)
    bytes += (chunk as Buffer).byteLength
    if (bytes % (16 * 1024 * 1024) === 0) sample()
  }
  sample()
  t.equal('sha256:' + read.digest('hex'), digest, 'read back intact')
  t.equal(bytes, blocks * block.byteLength)
  const growth = peak - before
  t.comment(`rss growth for a 256 MiB put + get: ${(growth / 1024 / 1024).toFixed(1)} MiB`)
  t.ok(growth < 48 * 1024 * 1024, `rss grew ${(growth / 1024 / 1024).toFixed(1)} MiB`)
})
