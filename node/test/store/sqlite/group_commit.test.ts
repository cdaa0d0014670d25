/**
 * Group commit of the per-chunk writes (a chunk a partner delivered, CW-POS-005; a chunk served,
 * CW-LOC-031): writes made together share one commit, each call resolves only once its write is
 * durable, a failing write fails alone, and closing the store commits what is queued.
 */
import t from 'tap'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import { T0 } from '../../support/records.ts'

const digest = (index: number) => `sha256:${index.toString(16).padStart(64, '0')}`

/** WAL frames written so far: each commit appends its changed pages and a commit frame. */
function walFrames(path: string): number {
  const pageSize = 4096
  try {
    return Math.max(0, (statSync(`${path}-wal`).size - 32) / (pageSize + 24))
  } catch {
    return 0
  }
}

/** The chunks recorded for `partner`, read through a second connection: only what is committed. */
function committed(path: string, partner: string): number {
  const reader = new DatabaseSync(path, { readOnly: true })
  try {
    return Number((reader.prepare('SELECT COUNT(*) AS n FROM partner_chunks WHERE partner_org = ?').get(partner) as { n: number }).n)
  } finally {
    reader.close()
  }
}

// spec: CW-POS-005
t.test('fifty chunks recorded at once are one commit, and each call resolves once it is committed', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  await store.chunks.recordDelivered('warm-up', digest(0), T0)
  const before = walFrames(path)

  let seenByReader = -1
  const calls = Array.from({ length: 50 }, (_, index) =>
    store.chunks.recordDelivered('river-pd', digest(index + 1), T0).then(() => {
      // Checked as the first call resolves: every write of its group is visible to another connection.
      if (seenByReader === -1) seenByReader = committed(path, 'river-pd')
    }),
  )
  await Promise.all(calls)
  t.equal(seenByReader, 50, 'durable before any caller hears back')
  const frames = walFrames(path) - before
  // One commit writes each page it changed once (the table's and its indexes'): a few frames.
  // Fifty commits would write at least one frame each.
  t.ok(frames > 0 && frames <= 12, `one commit's frames (${frames}), not fifty commits`)

  // One at a time, each waits for its own commit: the grouping never delays a write indefinitely.
  for (let index = 51; index <= 53; index += 1) await store.chunks.recordDelivered('river-pd', digest(index), T0)
  t.equal(committed(path, 'river-pd'), 53)
})

t.test('a write that fails fails alone; the others of its group commit', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  const results = await Promise.allSettled([
    store.chunks.recordDelivered('river-pd', digest(1), T0),
    store.chunks.recordDelivered('river-pd', digest(2), Number.NaN),
    store.chunks.recordDelivered('river-pd', digest(3), T0),
  ])
  t.same(
    results.map((result) => result.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  )
  t.equal(committed(path, 'river-pd'), 2)
  t.same([...(await store.chunks.delivered('river-pd', [digest(1), digest(2), digest(3)]))].sort(), [digest(1), digest(3)])
})

t.test('closing the store commits the writes still queued', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  const queued = [store.chunks.recordDelivered('river-pd', digest(1), T0), store.chunks.recordDelivered('river-pd', digest(2), T0)]
  await store.close()
  await Promise.all(queued)
  t.equal(committed(path, 'river-pd'), 2)
  await t.rejects(store.chunks.recordDelivered('river-pd', digest(3), T0), /closed/)
})

t.test('transactions queued while the store is busy commit together; one that fails is rolled back alone', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  await store.chunks.recordDelivered('warm-up', digest(0), T0)
  const before = walFrames(path)

  let seenByReader = -1
  const results = await Promise.allSettled(
    Array.from({ length: 40 }, (_, index) =>
      store
        .transaction(async (tx) => {
          await tx.chunks.recordDelivered('river-pd', digest(2 * index + 1), T0)
          // Every fifth transaction fails after its first write: that write must not survive.
          if (index % 5 === 4) throw new Error(`transaction ${index} failed`)
          await tx.chunks.recordDelivered('river-pd', digest(2 * index + 2), T0)
          return index
        })
        .then((value) => {
          if (seenByReader === -1) seenByReader = committed(path, 'river-pd')
          return value
        }),
    ),
  )
  const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [index] : []))
  t.same(failed, [4, 9, 14, 19, 24, 29, 34, 39], 'only the failing transactions fail')
  t.same(
    results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    Array.from({ length: 40 }, (_, index) => index).filter((index) => index % 5 !== 4),
    'each caller gets its own result',
  )
  t.equal(committed(path, 'river-pd'), 64, 'both writes of each of the 32 others, none of the failed ones')
  t.equal(seenByReader, 64, 'durable before any caller hears back')
  const frames = walFrames(path) - before
  t.ok(frames > 0 && frames <= 10, `a couple of commits' frames (${frames}), not forty commits`)
})

t.test('a transaction sees the writes of those queued before it in its group', async (t) => {
  const store = await openSqliteMetadataStore(join(t.testdir(), 'caseway.db'))
  t.teardown(() => store.close())
  const seen = await Promise.all(
    [1, 2, 3].map((index) =>
      store.transaction(async (tx) => {
        await tx.chunks.recordDelivered('river-pd', digest(index), T0)
        return (await tx.chunks.delivered('river-pd', [digest(1), digest(2), digest(3)])).size
      }),
    ),
  )
  t.same(seen, [1, 2, 3])
})
