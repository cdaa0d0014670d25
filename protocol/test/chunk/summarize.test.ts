import t from 'tap'
import { createHash } from 'node:crypto'
import { summarizeStream } from '../../src/chunk/summarize.ts'

const sha256 = (bytes: Uint8Array) => 'sha256:' + createHash('sha256').update(bytes).digest('hex')

async function* pieces(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part
}

// spec: CW-FMT-003
t.test('summary of a stream equals the chunked digests of its bytes', async (t) => {
  const chunkSize = 64 * 1024
  const data = new Uint8Array(chunkSize * 2 + 100).map((_, i) => (i * 31) & 0xff)
  const summary = await summarizeStream(pieces(data.subarray(0, 1000), data.subarray(1000)), chunkSize)
  t.same(summary, {
    size: data.byteLength,
    digest: sha256(data),
    chunkSize,
    chunks: [sha256(data.subarray(0, chunkSize)), sha256(data.subarray(chunkSize, 2 * chunkSize)), sha256(data.subarray(2 * chunkSize))],
  })
})

t.test('summarizeStream passes the chunk size check through', async (t) => {
  await t.rejects(summarizeStream(pieces(), 1000), TypeError)
})
