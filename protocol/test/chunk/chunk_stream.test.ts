import t from 'tap'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { chunkStream, DEFAULT_CHUNK_SIZE, type Chunk, type ContentSummary } from '../../src/chunk/chunk_stream.ts'

const KiB = 1024
const MiB = 1024 * KiB
const sha256 = (bytes: Uint8Array) => 'sha256:' + createHash('sha256').update(bytes).digest('hex')

async function* pieces(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part
}

/** Deterministic pseudo-random bytes (xorshift32). */
function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed | 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** Runs the generator to the end; copies each chunk (data is only valid until the next step). */
async function collect(source: AsyncIterable<Uint8Array>, chunkSize?: number): Promise<{ chunks: Chunk[]; summary: ContentSummary }> {
  const generator = chunkStream(source, chunkSize)
  const chunks: Chunk[] = []
  for (;;) {
    const step = await generator.next()
    if (step.done === true) return { chunks, summary: step.value }
    chunks.push({ ...step.value, data: step.value.data.slice() })
  }
}

// spec: CW-FMT-003
t.test('empty input: no chunks, digest of the empty string', async (t) => {
  const { chunks, summary } = await collect(pieces())
  t.equal(chunks.length, 0)
  t.same(summary, {
    size: 0,
    digest: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    chunkSize: DEFAULT_CHUNK_SIZE,
    chunks: [],
  })
  const withEmptyPieces = await collect(pieces(new Uint8Array(0), new Uint8Array(0)), 64 * KiB)
  t.equal(withEmptyPieces.summary.chunks.length, 0)
})

// spec: CW-FMT-003
t.test('exact multiple of the chunk size: every chunk full, count = size / chunkSize', async (t) => {
  const chunkSize = 64 * KiB
  const data = bytes(3 * chunkSize, 7)
  const { chunks, summary } = await collect(pieces(data), chunkSize)
  t.equal(chunks.length, 3)
  t.same(
    chunks.map((chunk) => chunk.data.byteLength),
    [chunkSize, chunkSize, chunkSize],
  )
  t.same(
    chunks.map((chunk) => chunk.offset),
    [0, chunkSize, 2 * chunkSize],
  )
  t.same(
    chunks.map((chunk) => chunk.index),
    [0, 1, 2],
  )
  t.same(
    summary.chunks,
    [0, 1, 2].map((i) => sha256(data.subarray(i * chunkSize, (i + 1) * chunkSize))),
  )
  t.equal(summary.digest, sha256(data))
  t.equal(summary.size, data.byteLength)
})

// spec: CW-FMT-003
// 256 KiB chunks exercise the buffer growing from 64 KiB while the first chunk fills.
t.test('odd sizes and random piece boundaries give the digests of the concatenation', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(64 * KiB, 256 * KiB),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 1 }),
      fc.integer(),
      fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      async (chunkSize, fullChunks, extra, seed, cutFractions) => {
        const size = fullChunks * chunkSize + (extra === 1 ? (seed >>> 0) % chunkSize : 0)
        const cuts = cutFractions.map((fraction) => Math.floor(fraction * size))
        const data = bytes(size, seed)
        const bounds = [...new Set(cuts.map((cut) => Math.min(cut, size)))].sort((a, b) => a - b)
        const parts: Uint8Array[] = []
        let start = 0
        for (const bound of [...bounds, size]) {
          parts.push(data.subarray(start, bound))
          start = bound
        }
        const { chunks, summary } = await collect(pieces(...parts), chunkSize)
        const count = Math.ceil(size / chunkSize)
        if (summary.size !== size || summary.digest !== sha256(data) || chunks.length !== count) return false
        for (let i = 0; i < count; i++) {
          const expected = data.subarray(i * chunkSize, Math.min(size, (i + 1) * chunkSize))
          const chunk = chunks[i]!
          if (chunk.digest !== sha256(expected) || summary.chunks[i] !== chunk.digest) return false
          if (chunk.offset !== i * chunkSize || !Buffer.from(chunk.data).equals(expected)) return false
        }
        return true
      },
    ),
    { numRuns: 60 },
  )
})

// spec: CW-FMT-003
t.test('last chunk may be shorter', async (t) => {
  const chunkSize = 128 * KiB
  const data = bytes(chunkSize + 5, 3)
  const { chunks, summary } = await collect(pieces(data.subarray(0, 1), data.subarray(1)), chunkSize)
  t.same(
    chunks.map((chunk) => chunk.data.byteLength),
    [chunkSize, 5],
  )
  t.equal(summary.chunks[1], sha256(data.subarray(chunkSize)))
})

t.test('chunk sizes other than powers of two from 64 KiB to 16 MiB are refused', async (t) => {
  for (const chunkSize of [0, -1, 32 * KiB, 64 * KiB + 1, 3 * MiB, 32 * MiB, 1.5, Number.NaN, '4194304']) {
    await t.rejects(collect(pieces(), chunkSize as number), TypeError, String(chunkSize))
  }
  for (const chunkSize of [64 * KiB, MiB, 16 * MiB]) {
    const { summary } = await collect(pieces(), chunkSize)
    t.equal(summary.chunkSize, chunkSize)
  }
})

t.test('pieces that are not bytes are refused', async (t) => {
  await t.rejects(collect(pieces('abc' as unknown as Uint8Array)), TypeError)
})

// spec: CW-FMT-003
t.test('memory stays flat: 256 MiB stream with RSS growth well below the stream size', async (t) => {
  const total = 256 * MiB
  const block = bytes(MiB + 17, 11)
  async function* generated(): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < total;) {
      const length = Math.min(block.byteLength, total - sent)
      yield block.subarray(0, length)
      sent += length
    }
  }
  const before = process.memoryUsage().rss
  let peak = before
  const generator = chunkStream(generated())
  let summary: ContentSummary | undefined
  while (summary === undefined) {
    const step = await generator.next()
    peak = Math.max(peak, process.memoryUsage().rss)
    if (step.done === true) summary = step.value
  }
  t.equal(summary.size, total)
  t.equal(summary.chunks.length, total / DEFAULT_CHUNK_SIZE)
  t.ok(peak - before < 48 * MiB, `RSS grew ${((peak - before) / MiB).toFixed(1)} MiB for a 256 MiB stream`)
})
