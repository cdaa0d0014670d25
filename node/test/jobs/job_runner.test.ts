import t, { type Test } from 'tap'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { JobRunner, PermanentJobError, type JobHandler, type JobRunnerOptions } from '../../src/jobs/job_runner.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'
import type { JobRecord, MetadataStore } from '../../src/store/metadata_store.ts'
import { T0, jobRecord } from '../support/records.ts'
import { manualClock } from '../../../testkit/clock.ts'
import { waitFor } from '../../../testkit/wait.ts'

function capturingLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { log, lines }
}

async function openStore(t: Test): Promise<MetadataStore> {
  const store = await openSqliteMetadataStore(join(t.testdir(), 'caseway.db'))
  t.teardown(() => store.close())
  return store
}

function runner(t: Test, options: Partial<JobRunnerOptions> & Pick<JobRunnerOptions, 'store' | 'handlers'>): JobRunner {
  const jobs = new JobRunner({
    clock: manualClock(T0 * 1000),
    log: pino({ level: 'silent' }),
    pollMs: 10,
    retryBaseMs: 10,
    retryMaxMs: 1000,
    maxAttempts: 5,
    owner: 'replica-a',
    ...options,
  })
  // Registered after the store's teardown, so it runs first (teardowns run in reverse).
  t.teardown(() => jobs.stop())
  return jobs
}

async function onlyJob(store: MetadataStore, ref: string): Promise<JobRecord> {
  const jobs = await store.jobs.list(ref)
  if (jobs.length !== 1) throw new Error(`expected one job for ${ref}, found ${jobs.length}`)
  return jobs[0]!
}

t.test('runs an enqueued job with its payload and records it done', async (t) => {
  const store = await openStore(t)
  const seen: Array<[string, unknown, number]> = []
  const jobs = runner(t, {
    store,
    handlers: {
      deliver: async (job) => {
        seen.push([job.ref, job.payload, job.attempts])
      },
    },
  })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1', { revision: 2 })
  await jobs.onIdle()
  t.same(seen, [['share-1', { revision: 2 }, 1]])
  const job = await onlyJob(store, 'share-1')
  t.same([job.state, job.attempts, job.lastError], ['done', 1, null])
})

t.test('enqueue wakes the runner at once; a job enqueued while its twin runs waits, then runs', async (t) => {
  const store = await openStore(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let started!: () => void
  const running = new Promise<void>((resolve) => (started = resolve))
  let calls = 0
  let concurrent = 0
  let maxConcurrent = 0
  const jobs = runner(t, {
    store,
    pollMs: 50,
    handlers: {
      deliver: async () => {
        calls += 1
        concurrent += 1
        maxConcurrent = Math.max(maxConcurrent, concurrent)
        started()
        await gate
        concurrent -= 1
      },
    },
  })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1')
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('not woken')), 2000))
  await Promise.race([running, timeout])
  await jobs.enqueue('deliver', 'share-1', { again: true })
  await jobs.enqueue('deliver', 'share-1', { again: 'twice' })
  t.same(
    (await store.jobs.list('share-1')).map((j) => j.state),
    ['running', 'pending'],
    'one waits, its duplicate is ignored',
  )
  release()
  await jobs.onIdle()
  t.equal(calls, 2, 'the waiting job ran after the first: work that arrived meanwhile is not lost')
  t.equal(maxConcurrent, 1, 'never two jobs of the same kind and ref at once')
})

t.test('a job not yet due waits for its runAt', async (t) => {
  const store = await openStore(t)
  const clock = manualClock(T0 * 1000)
  let calls = 0
  const jobs = runner(t, { store, clock, handlers: { deliver: async () => void (calls += 1) } })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1', {}, clock.seconds() + 60)
  await jobs.onIdle()
  t.equal(calls, 0)
  clock.advance(60_000)
  await jobs.onIdle()
  t.equal(calls, 1)
})

t.test('a failed job is retried after an exponential backoff with jitter', async (t) => {
  const store = await openStore(t)
  const clock = manualClock(T0 * 1000)
  const jobs = runner(t, {
    store,
    clock,
    retryBaseMs: 10_000,
    retryMaxMs: 25_000,
    maxAttempts: 10,
    handlers: {
      deliver: async () => {
        throw Object.assign(new Error('peer down'), { code: 'CW_ERR_UNAVAILABLE' })
      },
    },
  })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1')
  // Attempt n fails; its retry is due base·2^(n−1) (capped), jittered down by up to half, rounded up to a second.
  const expected: Array<[number, number]> = [
    [5, 10],
    [10, 20],
    [13, 25],
    [13, 25],
  ]
  for (const [attempt, [low, high]] of expected.entries()) {
    await jobs.onIdle()
    const job = await onlyJob(store, 'share-1')
    t.equal(job.state, 'pending')
    t.equal(job.attempts, attempt + 1)
    t.equal(job.lastError, 'CW_ERR_UNAVAILABLE: peer down')
    const wait = job.runAt - clock.seconds()
    t.ok(wait >= low && wait <= high, `retry ${attempt + 1} after ${wait} s, expected ${low}–${high} s`)
    clock.advance((wait - 1) * 1000)
    await jobs.onIdle()
    t.equal((await onlyJob(store, 'share-1')).attempts, attempt + 1, 'not retried before its time')
    clock.advance(1000)
  }
})

t.test('retries with real timers until the handler succeeds', async (t) => {
  const store = await openStore(t)
  let calls = 0
  const jobs = runner(t, {
    store,
    clock: { now: () => new Date() },
    retryBaseMs: 10,
    handlers: {
      deliver: async () => {
        calls += 1
        if (calls === 1) throw new Error('transient')
      },
    },
  })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1')
  await waitFor('the job done', async () => ((await onlyJob(store, 'share-1')).state === 'done' ? true : undefined), { timeoutMs: 5000, intervalMs: 10 })
  const job = await onlyJob(store, 'share-1')
  t.same([calls, job.attempts, job.lastError], [2, 2, 'transient'])
})

t.test('a job is dead after maxAttempts', async (t) => {
  const store = await openStore(t)
  const clock = manualClock(T0 * 1000)
  let calls = 0
  const jobs = runner(t, {
    store,
    clock,
    maxAttempts: 3,
    handlers: {
      deliver: async () => {
        calls += 1
        throw new Error(`failure ${calls}`)
      },
    },
  })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1')
  for (let i = 0; i < 5; i++) {
    await jobs.onIdle()
    clock.advance(10_000)
  }
  const job = await onlyJob(store, 'share-1')
  t.same([calls, job.state, job.attempts, job.lastError], [3, 'dead', 3, 'failure 3'])
})

t.test('a permanent error makes the job dead at once', async (t) => {
  const store = await openStore(t)
  const { log, lines } = capturingLog()
  let calls = 0
  const jobs = runner(t, {
    store,
    log,
    handlers: {
      deliver: async () => {
        calls += 1
        throw new PermanentJobError('manifest refused')
      },
      notify: async () => {
        calls += 1
        throw Object.assign(new Error('address rejected'), { permanent: true })
      },
    },
  })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1')
  await jobs.enqueue('notify', 'share-1')
  await jobs.onIdle()
  t.equal(calls, 2)
  t.same(
    (await store.jobs.list('share-1')).map((j) => [j.kind, j.state, j.attempts, j.lastError]),
    [
      ['deliver', 'dead', 1, 'manifest refused'],
      ['notify', 'dead', 1, 'address rejected'],
    ],
  )
  t.ok(
    lines.some(
      (line) =>
        line['level'] === 50 &&
        line['kind'] === 'deliver' &&
        line['permanent'] === true &&
        (line['err'] as { message?: unknown } | undefined)?.message === 'manifest refused',
    ),
    'the dead job is logged as an error with its kind, permanent: true and the error',
  )
})

t.test('after a crash, a job left running is run again at start', async (t) => {
  const store = await openStore(t)
  await store.jobs.enqueue(jobRecord({ id: 'crashed', state: 'running', attempts: 1 }))
  await store.jobs.enqueue(jobRecord({ id: 'foreign', kind: 'unknown-kind', ref: 'x' }))
  const { log, lines } = capturingLog()
  const ran: string[] = []
  const jobs = runner(t, { store, log, handlers: { deliver: async (job) => void ran.push(job.id) } })
  await jobs.start()
  await jobs.onIdle()
  t.same(ran, ['crashed'])
  const job = await onlyJob(store, 'share-1')
  t.same([job.state, job.attempts], ['done', 2])
  t.same(
    lines.filter((line) => line['level'] === 40).map((line) => line['jobs']),
    [1],
    'one warning, counting the jobs made pending again',
  )
  t.equal((await onlyJob(store, 'x')).state, 'pending', 'jobs without a handler are left alone')
})

t.test('stop aborts running handlers and leaves their jobs pending for the next start', async (t) => {
  const store = await openStore(t)
  let started!: () => void
  const running = new Promise<void>((resolve) => (started = resolve))
  let aborted = false
  const waitForAbort: JobHandler = (_job, signal) =>
    new Promise((_, reject) => {
      started()
      signal.addEventListener('abort', () => {
        aborted = true
        reject(signal.reason as Error)
      })
    })
  const first = runner(t, { store, handlers: { deliver: waitForAbort } })
  await first.start()
  await first.enqueue('deliver', 'share-1')
  await running
  await first.stop()
  t.ok(aborted, 'the handler saw the abort')
  const job = await onlyJob(store, 'share-1')
  t.same([job.state, job.lastError], ['pending', 'interrupted: job runner stopped'])

  let ranAgain = false
  const second = runner(t, { store, handlers: { deliver: async () => void (ranAgain = true) } })
  await second.start()
  await second.onIdle()
  t.ok(ranAgain)
  t.equal((await onlyJob(store, 'share-1')).state, 'done')
})

t.test('stop waits for handlers only as long as stopTimeoutMs', async (t) => {
  const store = await openStore(t)
  let started!: () => void
  const running = new Promise<void>((resolve) => (started = resolve))
  let finish!: () => void
  const stubborn = new Promise<void>((resolve) => (finish = resolve))
  const jobs = runner(t, {
    store,
    stopTimeoutMs: 50,
    handlers: {
      deliver: async () => {
        started()
        await stubborn // ignores the signal
      },
    },
  })
  await jobs.start()
  await jobs.enqueue('deliver', 'share-1')
  await running
  const before = Date.now()
  await jobs.stop()
  t.ok(Date.now() - before < 1000, 'stop returned')
  finish()
  await jobs.onIdle()
  t.equal((await onlyJob(store, 'share-1')).state, 'done', 'a handler finishing late is still recorded')
})

t.test('runs at most `concurrency` jobs at a time', async (t) => {
  const store = await openStore(t)
  let active = 0
  let most = 0
  const jobs = runner(t, {
    store,
    concurrency: 2,
    handlers: {
      deliver: async () => {
        active += 1
        most = Math.max(most, active)
        await new Promise((resolve) => setTimeout(resolve, 20))
        active -= 1
      },
    },
  })
  for (let i = 0; i < 6; i++) await jobs.enqueue('deliver', `share-${i}`)
  await jobs.start()
  await jobs.onIdle()
  t.equal(most, 2)
  t.same(
    (await store.jobs.list()).map((j) => j.state),
    Array(6).fill('done'),
  )
})

t.test('bad options and unknown kinds are TypeErrors', async (t) => {
  const store = await openStore(t)
  const base = {
    store,
    clock: manualClock(T0 * 1000),
    log: pino({ level: 'silent' }),
    handlers: {},
    retryBaseMs: 10,
    retryMaxMs: 100,
    maxAttempts: 3,
    owner: 'replica-a',
  }
  t.throws(() => new JobRunner({ ...base, maxAttempts: 0 }), TypeError)
  t.throws(() => new JobRunner({ ...base, concurrency: 1.5 }), TypeError)
  t.throws(() => new JobRunner({ ...base, handlers: { deliver: 'nope' as unknown as JobHandler } }), TypeError)
  const jobs = new JobRunner({ ...base, handlers: { deliver: async () => {} } })
  await t.rejects(jobs.enqueue('delivr', 'share-1'), TypeError)
  await t.rejects(jobs.enqueue('deliver', ''), TypeError)
  await t.rejects(jobs.enqueue('deliver', 'share-1', {}, 1.5), TypeError)
  t.same(await store.jobs.list(), [])
  await jobs.start()
  await t.rejects(jobs.start(), { message: /once/ })
  await jobs.stop()
})

// spec: CW-LOC-050, CW-LOC-051
t.test('replicas: a job whose lease ran out goes to another replica; the first is aborted and records nothing', async (t) => {
  const store = await openStore(t)
  const clock = manualClock(T0 * 1000)
  const seen: string[] = []
  let firstAborted!: () => void
  const abortedA = new Promise<void>((resolve) => (firstAborted = resolve))
  // Replica A's handler hangs (a replica paused longer than its lease) until its signal aborts.
  const replicaA = runner(t, {
    store,
    clock,
    owner: 'replica-a',
    leaseSeconds: 3,
    handlers: {
      deliver: (_job, signal) =>
        new Promise<void>((_, reject) => {
          seen.push('a')
          signal.addEventListener('abort', () => {
            firstAborted()
            reject(new Error('aborted', { cause: signal.reason }))
          })
        }),
    },
  })
  await replicaA.start()
  await replicaA.enqueue('deliver', 'share-1')
  await waitFor('replica A running the job', () => (seen.length === 1 ? true : undefined), { timeoutMs: 5000, intervalMs: 5 })
  const held = await onlyJob(store, 'share-1')
  t.same([held.state, held.claimedBy, held.leaseUntil], ['running', 'replica-a', clock.seconds() + 3])

  const replicaB = runner(t, { store, clock, owner: 'replica-b', leaseSeconds: 3, handlers: { deliver: async () => void seen.push('b') } })
  await replicaB.start()
  await replicaB.onIdle()
  t.same(seen, ['a'], 'B leaves a job alone while its lease holds')

  clock.advance(4000) // A did not renew within its lease
  await replicaB.onIdle()
  await waitFor('replica B done with the job', async () => ((await onlyJob(store, 'share-1')).state === 'done' ? true : undefined), {
    timeoutMs: 5000,
    intervalMs: 10,
  })
  await abortedA // A's next renewal finds the job taken and aborts its handler
  await replicaA.onIdle()
  const job = await onlyJob(store, 'share-1')
  t.same(seen, ['a', 'b'])
  t.same([job.state, job.attempts, job.claimedBy, job.lastError], ['done', 2, null, null], 'B ran and released it; A recorded nothing over it')
})
