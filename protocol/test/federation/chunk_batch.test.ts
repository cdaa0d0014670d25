/**
 * The batched chunk pull's pure parts (SPEC.md CW-VER-007, CW-BAT-001, CW-BAT-003, CW-BAT-005):
 * the `Caseway-Features` header, the request schema, and cutting an answer by the lengths the
 * manifest gives, whatever pieces the bytes arrive in.
 */
import t from 'tap'
import fc from 'fast-check'
import {
  assertChunkBatchRequest,
  CHUNK_BATCH_LIMITS,
  chunkBatchLength,
  digestBytes,
  FEDERATION_PATHS,
  parseFeaturesHeader,
  splitChunkBatch,
  type BatchPiece,
} from '../../src/index.ts'

async function* pieces(parts: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part
}

async function collect(body: AsyncIterable<Uint8Array>, expected: { digest: string; length: number }[]): Promise<BatchPiece[]> {
  const out: BatchPiece[] = []
  for await (const piece of splitChunkBatch(body, expected)) out.push(piece)
  return out
}

/** `whole` cut at `cuts` (sorted offsets). */
function cut(whole: Uint8Array, cuts: number[]): Uint8Array[] {
  const parts: Uint8Array[] = []
  let start = 0
  for (const at of [...cuts, whole.length]) {
    parts.push(whole.subarray(start, at))
    start = at
  }
  return parts
}

// spec: CW-VER-007
t.test('parseFeaturesHeader: lower-cased tokens, white space and junk ignored, no duplicates', async (t) => {
  t.same(parseFeaturesHeader(undefined), [])
  t.same(parseFeaturesHeader(''), [])
  t.same(parseFeaturesHeader('chunk-batch'), ['chunk-batch'])
  t.same(parseFeaturesHeader(' Chunk-Batch ,future-thing, chunk-batch,,bad token,;'), ['chunk-batch', 'future-thing'])
  t.same(parseFeaturesHeader(['a', 'b, a']), ['a', 'b'])
})

// spec: CW-BAT-001
t.test('the request body: 1 to 1,024 distinct digests, nothing else', async (t) => {
  const digest = (n: number) => digestBytes(String(n))
  assertChunkBatchRequest({ digests: [digest(1)] })
  assertChunkBatchRequest({ digests: Array.from({ length: CHUNK_BATCH_LIMITS.maxChunks }, (_, n) => digest(n)) })
  for (const bad of [
    {},
    { digests: [] },
    { digests: [digest(1), digest(1)] },
    { digests: ['sha256:XYZ'] },
    { digests: [digest(1)], range: 'bytes=0-1' },
    { digests: Array.from({ length: CHUNK_BATCH_LIMITS.maxChunks + 1 }, (_, n) => digest(n)) },
  ]) {
    t.throws(() => assertChunkBatchRequest(bad), { code: 'CW_ERR_SCHEMA_INVALID' }, JSON.stringify(bad).slice(0, 80))
  }
  // The largest body fits the body bound.
  const largest = JSON.stringify({ digests: Array.from({ length: CHUNK_BATCH_LIMITS.maxChunks }, (_, n) => digest(n)) })
  t.ok(Buffer.byteLength(largest) < CHUNK_BATCH_LIMITS.bodyBytes)
  t.equal(FEDERATION_PATHS.chunkBatches('s/1'), '/federation/v1/shares/s%2F1/chunk-batches')
})

// spec: CW-BAT-003
t.test('chunkBatchLength: every chunk is chunkSize bytes but the last', async (t) => {
  t.equal(chunkBatchLength(100, 64, 0), 64)
  t.equal(chunkBatchLength(100, 64, 1), 36)
  t.equal(chunkBatchLength(128, 64, 1), 64)
})

// spec: CW-BAT-003, CW-BAT-005
t.test('splitChunkBatch cuts the body by the lengths, whatever pieces it arrives in', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      async (lengths, rawCuts) => {
        const chunks = lengths.map((length, index) => Buffer.alloc(length, index + 1))
        const whole = Buffer.concat(chunks)
        const cuts = [...new Set(rawCuts.map((at) => at % (whole.length + 1)))].sort((a, b) => a - b)
        const expected = chunks.map((bytes) => ({ digest: digestBytes(bytes), length: bytes.length }))
        const out = await collect(pieces(cut(whole, cuts)), expected)
        return (
          out.length === chunks.length &&
          out.every((piece, index) => piece.digest === expected[index]!.digest && Buffer.from(piece.bytes).equals(chunks[index]!))
        )
      },
    ),
  )
})

// spec: CW-BAT-005
t.test('a body shorter or longer than the chunks fails after the whole chunks before the fault', async (t) => {
  const a = Buffer.alloc(10, 1)
  const b = Buffer.alloc(10, 2)
  const expected = [
    { digest: digestBytes(a), length: 10 },
    { digest: digestBytes(b), length: 10 },
  ]
  const got: BatchPiece[] = []
  await t.rejects(
    (async () => {
      for await (const piece of splitChunkBatch(pieces([a, b.subarray(0, 5)]), expected)) got.push(piece)
    })(),
    { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', message: /ended 5 bytes into chunk 2 of 2/ },
  )
  t.equal(got.length, 1, 'the first chunk, whole, came out before the fault')
  await t.rejects(collect(pieces([a, b, Buffer.from([0])]), expected), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', message: /runs past its last chunk/ })
  await t.rejects(collect(pieces([]), expected), { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
})
