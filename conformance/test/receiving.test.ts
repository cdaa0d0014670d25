/**
 * A long-lived store (issue 17): `needed` (CW-FED-003) must list every chunk of the revision
 * the target cannot hold — random bytes made for the run — and may leave out the guessable
 * short ones (there are only 256 one-byte chunks) and those delivered earlier in the run.
 */
import t from 'tap'
import type { CaseManifest, OfferAnswer } from '#protocol'
import { CheckFailure } from '../src/check.ts'
import type { Exchange } from '../src/exchange.ts'
import { expectNeededWithin, mayBeHeld } from '../src/receiving.ts'
import { makeItems, TEST_CHUNK_SIZE, type HarnessShare } from '../src/shares.ts'

const items = makeItems([{ size: 0 }, { size: TEST_CHUNK_SIZE }, { size: 2 * TEST_CHUNK_SIZE + 1 }])
const share = {
  chunks: () =>
    new Map(
      items.flatMap(({ item, bytes }) =>
        item.chunks.map((digest, index) => [digest, bytes.subarray(index * TEST_CHUNK_SIZE, (index + 1) * TEST_CHUNK_SIZE)] as const),
      ),
    ),
} as unknown as HarnessShare
const manifest = { evidence: items.map(({ item }) => item) } as unknown as CaseManifest
const all = items.flatMap(({ item }) => item.chunks)
const oneByte = items[2]!.item.chunks[2]!
const exchange = {
  request: { method: 'POST', url: 'https://target/federation/v1/offers', as: 'harness' },
  status: 202,
  headers: {},
  body: Buffer.alloc(0),
  text: '',
} as Exchange
const judge =
  (needed: string[], held: ReadonlySet<string> = new Set()) =>
  () =>
    expectNeededWithin(exchange, { share: 's', revision: 1, status: 'receiving', needed } as OfferAnswer, manifest, mayBeHeld(share, held), 'every chunk')

t.test('every chunk, or every chunk but a guessable one a long-lived store holds', async (t) => {
  t.equal(all.length, 4)
  t.doesNotThrow(judge(all), 'all of them')
  t.doesNotThrow(judge(all.filter((digest) => digest !== oneByte)), 'the one-byte chunk left out')
  t.throws(judge(all.filter((digest) => digest !== all[0])), CheckFailure, 'a random 64 KiB chunk left out: no store can hold it')
  t.throws(judge([...all, 'sha256:' + '0'.repeat(64)]), CheckFailure, 'a digest that is not a chunk of the revision')
  t.doesNotThrow(judge(all.slice(1), new Set([all[0]!])), 'a chunk delivered earlier in the run may be left out')
})
