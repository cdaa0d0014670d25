import t from 'tap'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { parseConfig } from '../../src/config/load.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import { openConfiguredBlobStore } from '../../src/store/open_blob_store.ts'
import { blobStoreContract, chunked, digestOf } from './blob_store_contract.ts'

const blobPath = (dir: string, digest: string) => {
  const hex = digest.slice('sha256:'.length)
  return join(dir, 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex)
}

async function backdate(path: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms)
  await utimes(path, then, then)
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
      return {
        store: await openFsBlobStore(dir),
        stored: () => files(dir),
        nameOf: (digest) => blobPath(dir, digest).slice(dir.length + 1),
        backdate: (digest, ms) => backdate(blobPath(dir, digest), ms),
      }
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

// spec: CW-LOC-044
t.test('open: cleans its own replica stale temporaries and old ones, never another live replica', async (t) => {
  const hour = 60 * 60 * 1000
  const dir = t.testdir({
    tmp: {
      'replica-a~0011223344556677~abc': 'half a chunk of an earlier replica-a',
      'replica-a~0011223344556677~probe-1': 'x',
      'replica-b~8899aabbccddeeff~def': 'replica-b writing now',
      'replica-b~8899aabbccddeeff~old': 'replica-b crashed a day ago',
      a1b2c3: 'from before replicas, recent',
      d4e5f6: 'from before replicas, old',
    },
  })
  await backdate(join(dir, 'tmp', 'replica-b~8899aabbccddeeff~old'), 25 * hour)
  await backdate(join(dir, 'tmp', 'd4e5f6'), 25 * hour)
  const bytes = Buffer.from('kept')
  const first = await openFsBlobStore(dir, { replicaId: 'replica-a' })
  t.same(await readdir(join(dir, 'tmp')), ['a1b2c3', 'replica-b~8899aabbccddeeff~def'], "replica-a's earlier instance and the day-old ones cleaned")
  await first.put(digestOf(bytes), bytes)

  // Replica-b restarts: its own leftovers go, whatever their age; a staleAfterMs of 0 makes every other one old.
  const second = await openFsBlobStore(dir, { replicaId: 'replica-b', staleAfterMs: 0 })
  t.same(await readdir(join(dir, 'tmp')), [])
  t.same(await buffer(await second.get(digestOf(bytes))), bytes, 'stored blobs are kept')
})

// The batch path under SIGKILL (crash points, operations/crash_points.ts), in a process of its own.
t.test('putBatch killed midway: every visible blob is complete and matches, the next open removes the rest', async (t) => {
  const pieces = Array.from({ length: 6 }, (_, index) => randomBytes(10_000 + index))
  const wrong = Buffer.from(pieces[3]!)
  wrong[0] = wrong[0]! ^ 1
  const claimed = pieces.map((bytes) => digestOf(bytes))
  const sent = pieces.map((bytes, index) => (index === 3 ? wrong : bytes))
  const store = new URL('../../src/store/fs_blob_store.ts', import.meta.url).href
  const script = [
    `const { openFsBlobStore } = await import(${JSON.stringify(store)})`,
    `const input = JSON.parse(process.argv[1])`,
    `const blobs = await openFsBlobStore(input.dir, { replicaId: 'crashing' })`,
    `await blobs.putBatch(input.pieces.map(({ digest, hex }) => ({ digest, bytes: Buffer.from(hex, 'hex') })))`,
  ].join('\n')
  for (const point of ['blob.written:1', 'blob.renamed:1', 'blob.renamed:3']) {
    const dir = join(t.testdir(), point.replace(':', '-'))
    const input = JSON.stringify({ dir, pieces: sent.map((bytes, index) => ({ digest: claimed[index], hex: bytes.toString('hex') })) })
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, input], { env: { ...process.env, CASEWAY_CRASH_POINT: point } })
    t.equal(child.signal, 'SIGKILL', `${point}: killed (${child.stderr.toString().trim().split('\n').at(-1)})`)
    const reopened = await openFsBlobStore(dir, { replicaId: 'crashing' })
    const visible: string[] = []
    for await (const { digest } of reopened.list()) {
      visible.push(digest)
      t.equal(digestOf(await buffer(await reopened.get(digest))), digest, `${point}: a visible blob is its digest's bytes`)
    }
    t.notOk(visible.includes(claimed[3]!), `${point}: the bytes that did not match never became visible`)
    t.same(await readdir(join(dir, 'tmp')), [], `${point}: no temporary after the next open`)
  }
})

t.test("a store's temporaries carry its replica id", async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir, { replicaId: 'node 1/a' })
  const bytes = randomBytes(100_000)
  let seen: string[] = []
  async function* watching() {
    yield bytes.subarray(0, 50_000)
    seen = await readdir(join(dir, 'tmp'))
    yield bytes.subarray(50_000)
  }
  await blobs.put(digestOf(bytes), watching())
  t.match(seen, [/^node_1_a~[0-9a-f]{16}~[0-9]+$/], 'written under tmp/<replica>~<instance>~<n>, the id made safe')
  t.same(await readdir(join(dir, 'tmp')), [])
})

// spec: CW-LOC-044
t.test("the configured store cleans the temporaries of its own replica (replica.id), never another's", async (t) => {
  const dir = t.testdir({
    blobs: { tmp: { 'replica-a~0011223344556677~abc': 'replica-a writing now', 'replica-b~8899aabbccddeeff~def': 'replica-b crashed' } },
  })
  const config = parseConfig(
    {
      org: 'metro-pd',
      name: 'Metro PD',
      federation: { port: 0, publicUrl: 'https://metro-pd.test:8443' },
      local: { port: 0 },
      replica: { id: 'replica-b' },
      storage: { blobs: 'blobs' },
    },
    dir,
  )
  await openConfiguredBlobStore(config)
  t.same(await readdir(join(dir, 'blobs', 'tmp')), ['replica-a~0011223344556677~abc'])
})
