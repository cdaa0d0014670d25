/**
 * Jobs queued in an action's transaction (`jobs/queue.ts`): the job row commits or rolls back
 * with the action, the runner is woken only after the commit, and waking it again — twice,
 * or while the job runs — never runs the job twice.
 */
import t from 'tap'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Transaction } from '../../src/context.ts'
import { JobRunner } from '../../src/jobs/job_runner.ts'
import { jobQueue } from '../../src/jobs/queue.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'
import type { MetadataStore } from '../../src/store/metadata_store.ts'

/** A bare action transaction: the store's, with after-commit effects run after the commit. */
async function inTransaction(store: MetadataStore, work: (tx: Transaction) => Promise<void>): Promise<void> {
  const effects: Array<() => void> = []
  await store.transaction((txStore) => work({ store: txStore, record: () => undefined, afterCommit: (effect) => void effects.push(effect) }))
  for (const effect of effects) effect()
}

t.test('a job woken twice, and again while it runs, runs once', async (t) => {
  const store = await openSqliteMetadataStore(join(t.testdir(), 'caseway.db'))
  t.teardown(() => store.close())
  let runs = 0
  let release!: () => void
  const running = new Promise<void>((resolve) => (release = resolve))
  let started!: () => void
  const begun = new Promise<void>((resolve) => (started = resolve))
  const runner = new JobRunner({
    store,
    clock: { now: () => new Date() },
    log: pino({ level: 'silent' }),
    owner: 'replica-a',
    handlers: {
      offer: async () => {
        runs += 1
        started()
        await running
      },
    },
    pollMs: 10,
    retryBaseMs: 10,
    retryMaxMs: 100,
    maxAttempts: 3,
  })
  t.teardown(() => runner.stop())
  let wakes = 0
  const jobs = jobQueue({ clock: { now: () => new Date() }, wake: () => ((wakes += 1), runner.wake()), kinds: () => runner.kinds })
  await runner.start()

  await inTransaction(store, (tx) => jobs.enqueue(tx, 'offer', 'share-1', { revision: 1 }))
  t.equal(wakes, 1, 'woken once the transaction committed')
  runner.wake()
  await begun
  // While it runs: woken again (as a second "wake" insert used to do, which queued a twin).
  runner.wake()
  runner.wake()
  release()
  await runner.onIdle()
  t.equal(runs, 1, 'the job ran once')
  t.match(await store.jobs.list('share-1'), [{ kind: 'offer', state: 'done', attempts: 1 }])
})

t.test('a job queued in a transaction that rolls back neither exists nor wakes the runner', async (t) => {
  const store = await openSqliteMetadataStore(join(t.testdir(), 'caseway.db'))
  t.teardown(() => store.close())
  let wakes = 0
  const jobs = jobQueue({ clock: { now: () => new Date() }, wake: () => void (wakes += 1) })
  await t.rejects(
    inTransaction(store, async (tx) => {
      await jobs.enqueue(tx, 'offer', 'share-1')
      throw new Error('the action failed')
    }),
    /the action failed/,
  )
  t.same(await store.jobs.list(), [])
  t.equal(wakes, 0)
  await t.rejects(
    inTransaction(store, (tx) => jobs.enqueue(tx, 'offer', '')),
    TypeError,
  )
})
