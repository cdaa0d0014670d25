/**
 * How many chunks of one share a receiver pulls at once (`peer/chunk_pool.ts`): full-size
 * chunks `transfers.parallelChunks` at a time, small ones many at a time, each once.
 */
import t from 'tap'
import { forEachChunk, planChunks, SMALL_CHUNKS_AT_ONCE } from '../../src/peer/chunk_pool.ts'
import type { CaseManifest } from '#protocol'

const digest = (index: number) => `sha256:${index.toString(16).padStart(64, '0')}`

/** Runs the pool over `weights` with work that yields once; returns the most chunks seen in flight and the order they started. */
async function run(weights: Map<string, number>, parallelChunks: number, digests = [...weights.keys()]): Promise<{ most: number; started: string[] }> {
  let inFlight = 0
  let most = 0
  const started: string[] = []
  await forEachChunk(digests, weights, parallelChunks, async (digest) => {
    started.push(digest)
    inFlight += 1
    most = Math.max(most, inFlight)
    await new Promise((resolve) => setImmediate(resolve))
    inFlight -= 1
  })
  return { most, started }
}

t.test('full-size chunks go parallelChunks at a time, each once and in order', async (t) => {
  const weights = new Map(Array.from({ length: 20 }, (_, index) => [digest(index), 1]))
  const { most, started } = await run(weights, 4)
  t.equal(most, 4)
  t.same(started, [...weights.keys()])
  t.equal((await run(new Map(), 4, [digest(1), digest(2), digest(3)])).most, 3, 'an unknown digest weighs a full chunk')
})

t.test('small chunks go many at a time, never more than the cap', async (t) => {
  const weights = new Map(Array.from({ length: 100 }, (_, index) => [digest(index), 1 / 256]))
  const { most, started } = await run(weights, 4)
  t.equal(most, SMALL_CHUNKS_AT_ONCE)
  t.equal(new Set(started).size, 100, 'each chunk once')
  t.equal((await run(weights, 32)).most, 32, 'a larger parallelChunks is never lowered')
})

t.test('a chunk heavier than what is left waits for room, but one always starts', async (t) => {
  const weights = new Map([
    [digest(1), 1],
    [digest(2), 0.75],
    [digest(3), 1],
  ])
  t.equal((await run(weights, 1)).most, 1)
  t.equal((await run(weights, 2)).most, 2)
  t.same(await run(new Map(), 4), { most: 0, started: [] }, 'nothing to pull ends at once')
})

t.test("a chunk's weight and byte limit come from its item: the last chunk of an item weighs what is left of it", async (t) => {
  const item = (size: number, chunks: string[], chunkSize = 1024) => ({ size, chunkSize, chunks }) as unknown as CaseManifest['evidence'][number]
  // digest(5) is a small item's whole content in one item and a full chunk of another with larger chunks.
  const manifest = {
    evidence: [item(2304, [digest(1), digest(2), digest(3)]), item(256, [digest(4)]), item(512, [digest(5)]), item(4096, [digest(5)], 4096)],
  } as unknown as CaseManifest
  const plan = planChunks(manifest)
  t.same(
    [...plan.maxBytes],
    [
      [digest(1), 1024],
      [digest(2), 1024],
      [digest(3), 1024],
      [digest(4), 1024],
      [digest(5), 4096],
    ],
    "no chunk may exceed its item's chunk size",
  )
  t.same(
    [...plan.weights],
    [
      [digest(1), 1],
      [digest(2), 1],
      [digest(3), 0.25],
      [digest(4), 0.25],
      [digest(5), 1],
    ],
  )
})
