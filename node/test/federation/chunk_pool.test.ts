/**
 * How many chunks of one share a receiver pulls at once (`receiving/chunk_pool.ts`): small
 * chunks many at a time, full-size chunks `transfers.parallelChunks` at a time, each once.
 */
import t from 'tap'
import { chunkLengths, forEachChunk, SMALL_CHUNKS_AT_ONCE } from '../../src/receiving/chunk_pool.ts'
import type { CaseManifest } from '#protocol'

const digest = (index: number) => `sha256:${index.toString(16).padStart(64, '0')}`
const MiB = 1024 * 1024

/** Runs the pool over `lengths` with work that waits to be released; returns the most chunks seen in flight and the order they started. */
async function run(lengths: Map<string, number>, parallelChunks: number): Promise<{ most: number; started: string[] }> {
  let inFlight = 0
  let most = 0
  const started: string[] = []
  await forEachChunk([...lengths.keys()], lengths, parallelChunks, async (digest) => {
    started.push(digest)
    inFlight += 1
    most = Math.max(most, inFlight)
    await new Promise((resolve) => setImmediate(resolve))
    inFlight -= 1
  })
  return { most, started }
}

t.test('full-size chunks go parallelChunks at a time', async (t) => {
  const lengths = new Map(Array.from({ length: 20 }, (_, index) => [digest(index), 4 * MiB]))
  const { most, started } = await run(lengths, 4)
  t.equal(most, 4)
  t.same(started, [...lengths.keys()], 'each chunk once, in order')
})

t.test('small chunks go many at a time, never more than the cap', async (t) => {
  const lengths = new Map(Array.from({ length: 100 }, (_, index) => [digest(index), 16 * 1024]))
  // On their own, small chunks are the share's largest: parallelChunks of them.
  t.equal((await run(lengths, 4)).most, 4)
  lengths.set(digest(1000), 4 * MiB)
  const { most, started } = await run(lengths, 4)
  t.equal(most, SMALL_CHUNKS_AT_ONCE, 'next to a 4 MiB chunk, 16 KiB chunks count for little')
  t.equal(new Set(started).size, 101, 'each chunk once')
})

t.test('a chunk larger than what is left of the budget waits for room, but one always starts', async (t) => {
  const lengths = new Map([
    [digest(1), 4 * MiB],
    [digest(2), 4 * MiB],
    [digest(3), 3 * MiB],
  ])
  t.equal((await run(lengths, 1)).most, 1)
  t.equal((await run(lengths, 2)).most, 2)
  t.same(await run(new Map(), 4), { most: 0, started: [] }, 'nothing to pull ends at once')
})

t.test("a chunk's length comes from its item: the last chunk of an item is what is left of it", async (t) => {
  const item = (size: number, chunks: string[]) => ({ size, chunkSize: 4 * MiB, chunks }) as unknown as CaseManifest['evidence'][number]
  const manifest = { evidence: [item(9 * MiB, [digest(1), digest(2), digest(3)]), item(300, [digest(4)])] } as unknown as CaseManifest
  t.same(
    [...chunkLengths(manifest)],
    [
      [digest(1), 4 * MiB],
      [digest(2), 4 * MiB],
      [digest(3), 1 * MiB],
      [digest(4), 300],
    ],
  )
})
