import t from 'tap'
import { randomBytes } from 'node:crypto'
import { truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'
import { buffer } from 'node:stream/consumers'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import { POOLED_BUFFER_BYTES, PooledBuffers, pooledBuffersFree } from '../../src/store/pooled_buffers.ts'
import { digestOf } from './blob_store_contract.ts'

const blobPath = (dir: string, digest: string) => {
  const hex = digest.slice('sha256:'.length)
  return join(dir, 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex)
}

t.test('views of one holder lie side by side; the pool gets them back once it has ended and its readers have closed', async (t) => {
  const buffers = new PooledBuffers()
  const first = buffers.take(100)
  const second = buffers.take(200)
  t.equal(second.buffer, first.buffer, 'small reads share one pooled buffer')
  t.equal(second.byteOffset, first.byteOffset + 100, 'one after the other, never overlapping')
  const third = buffers.take(POOLED_BUFFER_BYTES)
  t.not(third.buffer, first.buffer, 'a read that does not fit takes the next pooled buffer')

  const free = pooledBuffersFree()
  const reader = buffers.opened()
  buffers.ended()
  t.equal(pooledBuffersFree(), free, 'nothing goes back while a reader is still open')
  reader.closed()
  t.equal(pooledBuffersFree(), free + 2, 'both buffers go back once the last reader has closed')
  reader.closed()
  t.equal(pooledBuffersFree(), free + 2, 'a reader closing twice gives nothing back twice')

  const late = buffers.take(10)
  t.not(late.buffer, first.buffer, 'after the end, a late read gets memory of its own')
  t.not(late.buffer, third.buffer)
})

t.test('the next holder reads into the memory the last one gave back', async (t) => {
  const one = new PooledBuffers()
  const view = one.take(1000)
  one.ended()
  const two = new PooledBuffers()
  t.equal(two.take(1000).buffer, view.buffer)
  two.ended()
})

t.test('a view holds 1 byte to one pooled buffer', async (t) => {
  const buffers = new PooledBuffers()
  t.throws(() => buffers.take(0), TypeError)
  t.throws(() => buffers.take(POOLED_BUFFER_BYTES + 1), TypeError)
  t.throws(() => buffers.take(1.5), TypeError)
  buffers.ended()
})

t.test('the file store reads blobs and ranges into pooled buffers, byte for byte', async (t) => {
  const blobs = await openFsBlobStore(t.testdir())
  const big = randomBytes(3 * POOLED_BUFFER_BYTES + 5)
  const small = Array.from({ length: 40 }, () => randomBytes(16 * 1024))
  const empty = Buffer.alloc(0)
  for (const bytes of [big, empty, ...small]) await blobs.put(digestOf(bytes), bytes)

  const buffers = new PooledBuffers()
  t.ok((await buffer(await blobs.get(digestOf(big), undefined, { buffers }))).equals(big), 'a blob of several reads')
  t.ok(
    (await buffer(await blobs.get(digestOf(big), { start: POOLED_BUFFER_BYTES - 3, end: 2 * POOLED_BUFFER_BYTES + 6 }, { buffers }))).equals(
      big.subarray(POOLED_BUFFER_BYTES - 3, 2 * POOLED_BUFFER_BYTES + 7),
    ),
    'a range across reads',
  )
  t.same(await buffer(await blobs.get(digestOf(empty), undefined, { buffers })), empty, 'an empty blob')
  const pieces: Buffer[] = []
  for (const bytes of small) pieces.push(await buffer(await blobs.get(digestOf(bytes), undefined, { buffers })))
  // Read side by side into the same pooled buffers, each piece still holds its own blob's bytes.
  for (const [index, bytes] of small.entries()) t.ok(pieces[index]!.equals(bytes), `small blob ${index}`)
  buffers.ended()
})

t.test('answers read at the same time, ending in any order, never see one another’s bytes', async (t) => {
  const blobs = await openFsBlobStore(t.testdir())
  const contents = Array.from({ length: 12 }, (_, index) => randomBytes(POOLED_BUFFER_BYTES / 2 + index * 100_003))
  for (const bytes of contents) await blobs.put(digestOf(bytes), bytes)
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      contents.map(async (bytes, index) => {
        const buffers = new PooledBuffers()
        const pieces: Buffer[] = []
        for await (const piece of await blobs.get(digestOf(bytes), undefined, { buffers })) {
          pieces.push(piece as Buffer)
          await new Promise((resolve) => setTimeout(resolve, (index * 7 + round) % 5))
        }
        // Compared before the answer ends: after it, the memory is another answer's.
        t.ok(Buffer.concat(pieces).equals(bytes), `round ${round}, blob ${index}`)
        buffers.ended()
      }),
    )
  }
})

t.test('a reader destroyed during a read gives its buffers back only after it has closed its file', async (t) => {
  const blobs = await openFsBlobStore(t.testdir())
  const big = randomBytes(4 * POOLED_BUFFER_BYTES)
  await blobs.put(digestOf(big), big)
  const buffers = new PooledBuffers()
  const stream = await blobs.get(digestOf(big), undefined, { buffers })
  await once(stream, 'readable')
  stream.read()
  const free = pooledBuffersFree()
  stream.destroy()
  buffers.ended()
  t.equal(pooledBuffersFree(), free, 'not back while the reader may still be reading into them')
  await once(stream, 'close')
  t.ok(pooledBuffersFree() > free, 'back once it has closed')
})

t.test('a blob cut short while it is read fails the stream, never ends it early', async (t) => {
  const dir = t.testdir()
  const blobs = await openFsBlobStore(dir)
  const big = randomBytes(3 * POOLED_BUFFER_BYTES)
  await blobs.put(digestOf(big), big)
  const buffers = new PooledBuffers()
  const stream = await blobs.get(digestOf(big), undefined, { buffers })
  await truncate(blobPath(dir, digestOf(big)), POOLED_BUFFER_BYTES)
  await t.rejects(buffer(stream), /ended .* bytes early/)
  buffers.ended()
})
