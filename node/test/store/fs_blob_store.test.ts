import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'

const digestOf = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return 'sha256:' + hash.digest('hex')
}

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

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size)
}

t.test('put then get, has, size; files are content-addressed and private', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const bytes = randomBytes(200_000)
  const digest = digestOf(bytes)
  t.equal(await blobs.has(digest), false)
  t.equal(await blobs.size(digest), undefined)

  await blobs.put(digest, chunked(bytes, 65_536))
  t.equal(await blobs.has(digest), true)
  t.equal(await blobs.size(digest), bytes.byteLength)
  t.same(await buffer(await blobs.get(digest)), bytes)
  t.same(await files(dir), [blobPath(dir, digest).slice(dir.length + 1)], 'one file at sha256/ab/cd/<hex>, no temp left')
  t.equal((await stat(blobPath(dir, digest))).mode & 0o777, 0o600)
  t.equal((await stat(join(dir, 'sha256'))).mode & 0o777, 0o700)
  t.equal((await stat(join(dir, 'tmp'))).mode & 0o777, 0o700)
})

t.test('accepts a Uint8Array, a Readable and the empty blob', async (t) => {
  const blobs = await openFsBlobStore(t.testdir())
  const a = randomBytes(1000)
  await blobs.put(digestOf(a), a)
  t.same(await buffer(await blobs.get(digestOf(a))), a)

  const b = randomBytes(300_000)
  await blobs.put(digestOf(b), Readable.from(chunked(b, 10_000)))
  t.same(await buffer(await blobs.get(digestOf(b))), b)

  const empty = new Uint8Array()
  await blobs.put(digestOf(empty), empty)
  t.equal(await blobs.size(digestOf(empty)), 0)
  t.same(await buffer(await blobs.get(digestOf(empty))), Buffer.alloc(0))
})

t.test('get streams a byte range, inclusive', async (t) => {
  const blobs = await openFsBlobStore(t.testdir())
  const bytes = randomBytes(10_000)
  const digest = digestOf(bytes)
  await blobs.put(digest, bytes)
  t.same(await buffer(await blobs.get(digest, { start: 0, end: 0 })), bytes.subarray(0, 1))
  t.same(await buffer(await blobs.get(digest, { start: 100, end: 4_099 })), bytes.subarray(100, 4_100))
  t.same(await buffer(await blobs.get(digest, { start: 9_000, end: 9_999 })), bytes.subarray(9_000))
  await t.rejects(blobs.get(digest, { start: 9_000, end: 10_000 }), { code: 'CW_ERR_RANGE_INVALID' })
  await t.rejects(blobs.get(digest, { start: 10_000, end: 10_000 }), { code: 'CW_ERR_RANGE_INVALID' })
  await t.rejects(blobs.get(digest, { start: 5, end: 4 }), TypeError)
  await t.rejects(blobs.get(digest, { start: -1, end: 4 }), TypeError)
  await t.rejects(blobs.get(digest, { start: 0.5, end: 4 }), TypeError)
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

t.test('an unknown blob is not found', async (t) => {
  const blobs = await openFsBlobStore(t.testdir())
  await t.rejects(blobs.get(digestOf(Buffer.from('absent'))), { code: 'CW_ERR_NOT_FOUND' })
  await t.rejects(blobs.get(digestOf(Buffer.from('absent')), { start: 0, end: 1 }), { code: 'CW_ERR_NOT_FOUND' })
})

t.test('bytes that do not match the digest store nothing and leave no temp file', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const bytes = randomBytes(100_000)
  const claimed = digestOf(Buffer.from('something else'))
  await t.rejects(blobs.put(claimed, chunked(bytes, 8192)), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
  await t.rejects(blobs.put(claimed, bytes), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
  t.equal(await blobs.has(claimed), false)
  t.equal(await blobs.has(digestOf(bytes)), false)
  t.same(await files(dir), [])
})

t.test('maxBytes: more bytes are refused as soon as they arrive', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const bytes = randomBytes(100_000)
  const digest = digestOf(bytes)
  let pulled = 0
  let finished = false
  async function* source() {
    try {
      for await (const chunk of chunked(bytes, 10_000)) {
        pulled += 1
        yield chunk
      }
    } finally {
      finished = true
    }
  }
  await t.rejects(blobs.put(digest, source(), { maxBytes: 25_000 }), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
  t.equal(pulled, 3, 'stopped reading at the chunk that crossed the limit')
  t.ok(finished, 'the source was closed')
  t.same(await files(dir), [])
  await t.rejects(blobs.put(digest, bytes, { maxBytes: 99_999 }), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
  await blobs.put(digest, bytes, { maxBytes: 100_000 })
  t.equal(await blobs.size(digest), 100_000, 'exactly maxBytes is fine')
  await t.rejects(blobs.put(digest, bytes, { maxBytes: -1 }), TypeError)
})

t.test('putting a stored blob again still checks the bytes', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const bytes = randomBytes(50_000)
  const digest = digestOf(bytes)
  await blobs.put(digest, bytes)
  let consumed = 0
  async function* again() {
    for await (const chunk of chunked(bytes, 5_000)) {
      consumed += chunk.byteLength
      yield chunk
    }
  }
  await blobs.put(digest, again())
  t.equal(consumed, bytes.byteLength, 'the source is consumed')
  const wrong = Buffer.from(bytes)
  wrong[0] = wrong[0]! ^ 1
  await t.rejects(blobs.put(digest, wrong), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
  t.same(await buffer(await blobs.get(digest)), bytes, 'the stored blob is intact')
  t.equal((await files(dir)).length, 1)
})

t.test('concurrent puts of the same digest', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const bytes = randomBytes(500_000)
  const digest = digestOf(bytes)
  const wrong = randomBytes(500_000)
  const results = await Promise.allSettled([
    ...Array.from({ length: 6 }, () => blobs.put(digest, chunked(bytes, 16_384))),
    blobs.put(digest, chunked(wrong, 16_384)),
  ])
  t.same(
    results.slice(0, 6).map((r) => r.status),
    Array(6).fill('fulfilled'),
  )
  t.match(results[6], { status: 'rejected', reason: { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' } })
  t.same(await buffer(await blobs.get(digest)), bytes)
  t.same(await files(dir), [blobPath(dir, digest).slice(dir.length + 1)])
})

t.test('digests are validated strictly: no path traversal', async (t) => {
  const dir = t.testdir({ secret: 'do not read' })
  const blobs = await openFsBlobStore(join(dir, 'blobs'))
  const hex = 'a'.repeat(64)
  const bad = [
    '../secret',
    'sha256:../../../secret',
    `sha256:${hex.slice(0, 60)}/../`,
    `sha256:${hex.toUpperCase()}`,
    `sha256:${hex}\n`,
    `sha256:${hex}/`,
    `sha256:${hex}0`,
    `sha512:${hex}`,
    hex,
    '',
    42 as unknown as string,
  ]
  for (const digest of bad) {
    await t.rejects(blobs.has(digest), TypeError, JSON.stringify(digest))
    await t.rejects(blobs.size(digest), TypeError)
    await t.rejects(blobs.get(digest), TypeError)
    await t.rejects(blobs.put(digest, Buffer.from('do not read')), TypeError)
  }
  t.same(await files(join(dir, 'blobs')), [])
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

t.test('a source that fails halfway leaves nothing visible', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const bytes = randomBytes(200_000)
  const digest = digestOf(bytes)
  async function* crashing() {
    let sent = 0
    for await (const chunk of chunked(bytes, 20_000)) {
      if (sent >= 100_000) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' })
      sent += chunk.byteLength
      yield chunk
    }
  }
  await t.rejects(blobs.put(digest, crashing()), { code: 'ECONNRESET' })
  t.equal(await blobs.has(digest), false)
  await t.rejects(blobs.get(digest), { code: 'CW_ERR_NOT_FOUND' })
  t.same(await files(dir), [], 'no blob, no temp file')

  let pushed = 0
  const stream = new Readable({
    read() {
      if (pushed < 3) this.push(bytes.subarray(pushed++ * 20_000, pushed * 20_000))
      else this.destroy(new Error('peer went away'))
    },
  })
  await t.rejects(blobs.put(digest, stream), { message: 'peer went away' })
  t.same(await files(dir), [])
})

t.test('non-byte sources are TypeErrors and store nothing', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const digest = digestOf(Buffer.from('abc'))
  await t.rejects(blobs.put(digest, 'abc' as unknown as Uint8Array), TypeError)
  async function* strings() {
    yield 'abc'
  }
  await t.rejects(blobs.put(digest, strings() as unknown as AsyncIterable<Uint8Array>), TypeError)
  t.same(await files(dir), [])
  await t.rejects(openFsBlobStore(''), TypeError)
})

t.test('check writes, reads and removes a probe', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  await blobs.check()
  t.same(await files(dir), [])
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
