/**
 * The contract every BlobStore keeps (`node/src/store/blob_store.ts`), run against each
 * implementation by its own test file: the filesystem (`fs_blob_store.test.ts`) and S3 on a real
 * S3 protocol server (`s3_blob_store.test.ts`). What is only true of one implementation (file
 * modes, key layout, cleanup of temporaries) stays in that file.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Test } from 'tap'
import type { BlobStore, StoredBlob } from '../../src/store/blob_store.ts'

export interface BlobStoreHarness {
  readonly store: BlobStore
  /** Everything the store holds, blobs and temporaries alike (files or object keys), sorted. */
  stored(): Promise<string[]>
  /** How a blob appears in `stored`. */
  nameOf(digest: string): string
  /** Sets the blob's modification time `ms` in the past, behind the store's back (as time passing would). */
  backdate(digest: string, ms: number): Promise<void>
}

export interface ContractOptions {
  /**
   * A size that the store writes in more than one step (S3: several multipart parts), so that
   * the failure paths are run on both of its ways of writing.
   */
  readonly largeBytes: number
  /**
   * MiB put and read back while memory is sampled: several times what the store may hold at once
   * (one part, read buffers), so that holding the whole blob shows.
   */
  readonly flatMemoryMiB: number
}

export const digestOf = (...parts: Uint8Array[]): string => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return 'sha256:' + hash.digest('hex')
}

export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size)
}

async function listed(store: BlobStore): Promise<StoredBlob[]> {
  const blobs: StoredBlob[] = []
  for await (const blob of store.list()) blobs.push(blob)
  return blobs.sort((a, b) => a.digest.localeCompare(b.digest))
}

export function blobStoreContract(t: Test, open: (t: Test) => Promise<BlobStoreHarness>, options: ContractOptions): void {
  const sizes = [
    ['small', 100_000],
    ['large', options.largeBytes],
  ] as const

  t.test('list reports every blob with its size and modification time, never a temporary', async (t) => {
    const { store } = await open(t)
    t.same(await listed(store), [], 'empty store')
    const blobs = sizes.map(([, size]) => randomBytes(size))
    // The store's clock may keep whole seconds (S3 Last-Modified).
    const before = Math.floor(Date.now() / 1000) * 1000
    for (const bytes of blobs) await store.put(digestOf(bytes), chunked(bytes, 65_536))
    await store.check()
    const list = await listed(store)
    t.same(
      list.map(({ digest, size }) => ({ digest, size })),
      blobs.map((bytes) => ({ digest: digestOf(bytes), size: bytes.byteLength })).sort((a, b) => a.digest.localeCompare(b.digest)),
    )
    for (const { modifiedAt } of list) t.ok(modifiedAt instanceof Date && modifiedAt.getTime() >= before, `modified at ${modifiedAt.toISOString()}`)
  })

  t.test('delete removes a blob; an absent one is false', async (t) => {
    const { store, stored } = await open(t)
    const bytes = randomBytes(10_000)
    const digest = digestOf(bytes)
    await store.put(digest, bytes)
    t.equal(await store.delete(digest), true)
    t.equal(await store.has(digest), false)
    await t.rejects(store.get(digest), { code: 'CW_ERR_NOT_FOUND' })
    t.equal(await store.delete(digest), false, 'already gone')
    t.same(await stored(), [])
    await t.rejects(store.delete('sha256:../../secret'), TypeError)
    await store.put(digest, bytes)
    t.same(await buffer(await store.get(digest)), bytes, 'stored again after its deletion')
  })

  for (const [label, size] of sizes) {
    t.test(`${label}: storing a blob again refreshes it, and delete spares a blob refreshed since`, async (t) => {
      const { store, backdate } = await open(t)
      const bytes = randomBytes(size)
      const digest = digestOf(bytes)
      const hour = 60 * 60 * 1000
      await store.put(digest, chunked(bytes, 65_536))
      await backdate(digest, 2 * hour)
      const cutoff = new Date(Date.now() - hour)
      t.ok((await listed(store))[0]!.modifiedAt < cutoff, 'old before it is stored again')
      // A concurrent upload of the same digest, as a sweep decided to delete it.
      await store.put(digest, chunked(bytes, 65_536))
      t.ok((await listed(store))[0]!.modifiedAt > cutoff, 'young again')
      t.equal(await store.delete(digest, { unmodifiedSince: cutoff }), false, 'spared')
      t.ok((await buffer(await store.get(digest))).equals(bytes))
      await backdate(digest, 2 * hour)
      t.equal(await store.delete(digest, { unmodifiedSince: cutoff }), true, 'old again: deleted')
      t.equal(await store.has(digest), false)
    })
  }

  t.test('put then get, has, size; only the blob is left', async (t) => {
    const { store, stored, nameOf } = await open(t)
    for (const [, size] of sizes) {
      const bytes = randomBytes(size)
      const digest = digestOf(bytes)
      t.equal(await store.has(digest), false)
      t.equal(await store.size(digest), undefined)
      await store.put(digest, chunked(bytes, 65_536))
      t.equal(await store.has(digest), true)
      t.equal(await store.size(digest), bytes.byteLength)
      t.ok((await buffer(await store.get(digest))).equals(bytes), `${size} bytes read back`)
      t.ok((await stored()).includes(nameOf(digest)))
    }
    t.equal((await stored()).length, 2, 'one entry per blob, no temporary left')
  })

  t.test('accepts a Uint8Array, a Readable and the empty blob', async (t) => {
    const { store } = await open(t)
    const a = randomBytes(1000)
    await store.put(digestOf(a), a)
    t.same(await buffer(await store.get(digestOf(a))), a)

    const b = randomBytes(300_000)
    await store.put(digestOf(b), Readable.from(chunked(b, 10_000)))
    t.same(await buffer(await store.get(digestOf(b))), b)

    const empty = new Uint8Array()
    await store.put(digestOf(empty), empty)
    t.equal(await store.size(digestOf(empty)), 0)
    t.same(await buffer(await store.get(digestOf(empty))), Buffer.alloc(0))
  })

  t.test('a source that reuses one buffer for every piece is stored as it was read, not as its last piece', async (t) => {
    const { store } = await open(t)
    // Pieces of every size around a write's buffer: smaller, straddling, larger than 1 MiB.
    for (const pieceBytes of [4096, 700_001, 3 * 1024 * 1024]) {
      const bytes = randomBytes(options.largeBytes + 12_345)
      const shared = Buffer.alloc(pieceBytes)
      async function* reused(): AsyncGenerator<Uint8Array> {
        for (let offset = 0; offset < bytes.byteLength; offset += pieceBytes) {
          const piece = shared.subarray(0, Math.min(pieceBytes, bytes.byteLength - offset))
          bytes.copy(piece, 0, offset)
          yield piece
          shared.fill(0xee) // the next piece overwrites this one, as a chunker's buffer does
        }
      }
      await store.put(digestOf(bytes), reused())
      t.ok((await buffer(await store.get(digestOf(bytes)))).equals(bytes), `pieces of ${pieceBytes} bytes`)
    }
  })

  t.test('get streams a byte range, inclusive and exact', async (t) => {
    const { store } = await open(t)
    const bytes = randomBytes(10_000)
    const digest = digestOf(bytes)
    await store.put(digest, bytes)
    t.same(await buffer(await store.get(digest, { start: 0, end: 0 })), bytes.subarray(0, 1))
    t.same(await buffer(await store.get(digest, { start: 100, end: 4_099 })), bytes.subarray(100, 4_100))
    t.same(await buffer(await store.get(digest, { start: 9_000, end: 9_999 })), bytes.subarray(9_000))
    t.same(await buffer(await store.get(digest, { start: 9_999, end: 9_999 })), bytes.subarray(9_999))
    await t.rejects(store.get(digest, { start: 9_000, end: 10_000 }), { code: 'CW_ERR_RANGE_INVALID' })
    await t.rejects(store.get(digest, { start: 10_000, end: 10_000 }), { code: 'CW_ERR_RANGE_INVALID' })
    await t.rejects(store.get(digest, { start: 5, end: 4 }), TypeError)
    await t.rejects(store.get(digest, { start: -1, end: 4 }), TypeError)
    await t.rejects(store.get(digest, { start: 0.5, end: 4 }), TypeError)
  })

  t.test('an absent blob is not found', async (t) => {
    const { store } = await open(t)
    const absent = digestOf(Buffer.from('absent'))
    await t.rejects(store.get(absent), { code: 'CW_ERR_NOT_FOUND' })
    await t.rejects(store.get(absent, { start: 0, end: 1 }), { code: 'CW_ERR_NOT_FOUND' })
    t.equal(await store.has(absent), false)
    t.equal(await store.size(absent), undefined)
  })

  for (const [label, size] of sizes) {
    t.test(`${label}: bytes that do not match the digest store nothing`, async (t) => {
      const { store, stored } = await open(t)
      const bytes = randomBytes(size)
      const claimed = digestOf(Buffer.from('something else'))
      await t.rejects(store.put(claimed, chunked(bytes, 65_536)), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
      await t.rejects(store.put(claimed, bytes), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
      // The last byte wrong: everything but the end matched.
      const almost = Buffer.from(bytes)
      almost[almost.byteLength - 1] = almost[almost.byteLength - 1]! ^ 1
      await t.rejects(store.put(digestOf(bytes), chunked(almost, 65_536)), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
      t.equal(await store.has(claimed), false)
      t.equal(await store.has(digestOf(bytes)), false)
      t.same(await stored(), [], 'no blob, no temporary')
    })

    t.test(`${label}: maxBytes refuses more bytes as soon as they arrive`, async (t) => {
      const { store, stored } = await open(t)
      const bytes = randomBytes(size)
      const digest = digestOf(bytes)
      const step = Math.ceil(size / 10)
      let pulled = 0
      let finished = false
      async function* source() {
        try {
          for await (const chunk of chunked(bytes, step)) {
            pulled += 1
            yield chunk
          }
        } finally {
          finished = true
        }
      }
      await t.rejects(store.put(digest, source(), { maxBytes: Math.floor(step * 2.5) }), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
      t.equal(pulled, 3, 'stopped reading at the chunk that crossed the limit')
      t.ok(finished, 'the source was closed')
      await t.rejects(store.put(digest, bytes, { maxBytes: size - 1 }), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
      t.same(await stored(), [], 'nothing stored')
      await store.put(digest, chunked(bytes, 65_536), { maxBytes: size })
      t.equal(await store.size(digest), size, 'exactly maxBytes is fine')
      await t.rejects(store.put(digest, bytes, { maxBytes: -1 }), TypeError)
    })

    t.test(`${label}: a source that fails halfway leaves nothing`, async (t) => {
      const { store, stored } = await open(t)
      const bytes = randomBytes(size)
      const digest = digestOf(bytes)
      async function* crashing() {
        let sent = 0
        for await (const chunk of chunked(bytes, 65_536)) {
          if (sent >= size / 2) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' })
          sent += chunk.byteLength
          yield chunk
        }
      }
      await t.rejects(store.put(digest, crashing()), { code: 'ECONNRESET' })
      t.equal(await store.has(digest), false)
      await t.rejects(store.get(digest), { code: 'CW_ERR_NOT_FOUND' })
      t.same(await stored(), [], 'no blob, no temporary')
    })

    t.test(`${label}: concurrent puts of one digest store it once, intact`, async (t) => {
      const { store, stored, nameOf } = await open(t)
      const bytes = randomBytes(size)
      const digest = digestOf(bytes)
      const wrong = randomBytes(size)
      const results = await Promise.allSettled([
        ...Array.from({ length: 4 }, () => store.put(digest, chunked(bytes, 65_536))),
        store.put(digest, chunked(wrong, 65_536)),
      ])
      t.same(
        results.slice(0, 4).map((r) => r.status),
        Array(4).fill('fulfilled'),
      )
      t.match(results[4], { status: 'rejected', reason: { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' } })
      t.equal(digestOf(await buffer(await store.get(digest))), digest)
      t.same(await stored(), [nameOf(digest)])
    })
  }

  t.test('putting a stored blob again still checks the bytes', async (t) => {
    const { store, stored } = await open(t)
    const bytes = randomBytes(50_000)
    const digest = digestOf(bytes)
    await store.put(digest, bytes)
    let consumed = 0
    async function* again() {
      for await (const chunk of chunked(bytes, 5_000)) {
        consumed += chunk.byteLength
        yield chunk
      }
    }
    await store.put(digest, again())
    t.equal(consumed, bytes.byteLength, 'the source is consumed')
    const wrong = Buffer.from(bytes)
    wrong[0] = wrong[0]! ^ 1
    await t.rejects(store.put(digest, wrong), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
    t.same(await buffer(await store.get(digest)), bytes, 'the stored blob is intact')
    t.equal((await stored()).length, 1)
  })

  // spec: CW-FED-007, CW-BAT-005
  t.test('putBatch: a wrong digest in the middle of a group never becomes visible, the others do', async (t) => {
    const { store, stored, nameOf } = await open(t)
    const [first, second, third, fourth] = [randomBytes(16_384), randomBytes(100), randomBytes(16_384), randomBytes(70_000)]
    const held = randomBytes(5_000)
    await store.put(digestOf(held), held)
    const wrong = Buffer.from(second)
    wrong[50] = wrong[50]! ^ 1
    const outcomes = await store.putBatch([
      { digest: digestOf(first), bytes: first },
      { digest: digestOf(second), bytes: wrong },
      { digest: digestOf(third), bytes: third, maxBytes: 16_384 },
      { digest: digestOf(fourth), bytes: fourth, maxBytes: 65_536 },
      { digest: digestOf(held), bytes: held },
      { digest: 'sha256:../../secret', bytes: first },
      { digest: digestOf(Buffer.alloc(0)), bytes: Buffer.alloc(0) },
    ])
    t.same(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
      'one outcome per blob, in order',
    )
    t.match(outcomes[1], { reason: { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' } }, 'the bytes that do not match')
    t.match(outcomes[3], { reason: { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' } }, 'more bytes than allowed')
    t.match(outcomes[5], { reason: TypeError }, 'a digest that is not one')
    t.same(await Promise.all([first, second, third, fourth, held].map((bytes) => store.has(digestOf(bytes)))), [true, false, true, false, true])
    for (const bytes of [first, third, held]) t.ok((await buffer(await store.get(digestOf(bytes)))).equals(bytes), `${bytes.byteLength} bytes read back`)
    t.same(
      await stored(),
      [first, third, held, Buffer.alloc(0)].map((bytes) => nameOf(digestOf(bytes))).sort(),
      'the blobs that matched, no temporary, nothing of the others',
    )
    t.same(await store.putBatch([]), [], 'an empty group')
    await t.rejects(store.putBatch('nope' as unknown as []), TypeError)
  })

  t.test('putBatch: a stored blob is refreshed and its bytes still checked', async (t) => {
    const { store, backdate } = await open(t)
    const bytes = randomBytes(2_000)
    const digest = digestOf(bytes)
    await store.put(digest, bytes)
    await backdate(digest, 60 * 60 * 1000)
    const before = new Date(Date.now() - 30 * 60 * 1000)
    const wrong = Buffer.from(bytes)
    wrong[0] = wrong[0]! ^ 1
    const [mismatch] = await store.putBatch([{ digest, bytes: wrong }])
    t.match(mismatch, { status: 'rejected', reason: { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' } })
    t.equal(await store.delete(digest, { unmodifiedSince: before }), true, 'bytes that do not match refresh nothing: the collector may take it')
    await store.put(digest, bytes)
    await backdate(digest, 60 * 60 * 1000)
    t.same(await store.putBatch([{ digest, bytes }]), [{ status: 'fulfilled', value: undefined }])
    t.equal(await store.delete(digest, { unmodifiedSince: before }), false, 'stored again: young, spared')
    t.same(await buffer(await store.get(digest)), bytes)
  })

  t.test('digests are validated strictly', async (t) => {
    const { store, stored } = await open(t)
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
      await t.rejects(store.has(digest), TypeError, JSON.stringify(digest))
      await t.rejects(store.size(digest), TypeError)
      await t.rejects(store.get(digest), TypeError)
      await t.rejects(store.put(digest, Buffer.from('do not read')), TypeError)
    }
    t.same(await stored(), [])
  })

  t.test('non-byte sources are TypeErrors and store nothing', async (t) => {
    const { store, stored } = await open(t)
    const digest = digestOf(Buffer.from('abc'))
    await t.rejects(store.put(digest, 'abc' as unknown as Uint8Array), TypeError)
    async function* strings() {
      yield 'abc'
    }
    await t.rejects(store.put(digest, strings() as unknown as AsyncIterable<Uint8Array>), TypeError)
    t.same(await stored(), [])
  })

  t.test('check writes, reads and removes a probe', async (t) => {
    const { store, stored } = await open(t)
    await store.check()
    t.same(await stored(), [])
  })

  t.test(`memory stays flat while storing and reading ${options.flatMemoryMiB} MiB`, async (t) => {
    const { store } = await open(t)
    const block = randomBytes(1024 * 1024)
    const blocks = options.flatMemoryMiB
    const hash = createHash('sha256')
    for (let i = 0; i < blocks; i++) hash.update(block)
    const digest = 'sha256:' + hash.digest('hex')
    // Warm up (thread pool, sockets, lazily loaded code) so that fixed costs are not counted.
    const warm = randomBytes(options.largeBytes)
    await store.put(digestOf(warm), chunked(warm, 65_536))
    await buffer(await store.get(digestOf(warm)))

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
    await store.put(digest, source())
    sample()
    const read = createHash('sha256')
    let bytes = 0
    const every = 16 * 1024 * 1024
    for await (const chunk of await store.get(digest)) {
      read.update(chunk as Buffer)
      const next = bytes + (chunk as Buffer).byteLength
      if (Math.floor(next / every) !== Math.floor(bytes / every)) sample()
      bytes = next
    }
    sample()
    t.equal('sha256:' + read.digest('hex'), digest, 'read back intact')
    t.equal(bytes, blocks * block.byteLength)
    const growth = peak - before
    t.comment(`rss growth for a ${blocks} MiB put + get: ${(growth / 1024 / 1024).toFixed(1)} MiB`)
    // An S3 server under test runs in this process, and its buffers count here too.
    t.ok(growth < 48 * 1024 * 1024, `rss grew ${(growth / 1024 / 1024).toFixed(1)} MiB`)
  })
}
