/**
 * CW-FED-017: a partner's Retry-After sets the earliest retry of the job that got it — longer
 * than the runner's own backoff when it says so, capped at 600 s — and the peer client reads it
 * as delay-seconds or an HTTP-date.
 */
import t from 'tap'
import { join } from 'node:path'
import { pino } from 'pino'
import { JobRunner } from '../../src/jobs/job_runner.ts'
import { MAX_RETRY_AFTER_MS, parseRetryAfter, PeerRefusal } from '../../src/peer/errors.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'
import { T0 } from '../support/records.ts'
import { manualClock } from '../../../testkit/clock.ts'

// spec: CW-FED-017
t.test('Retry-After is read as seconds or a date, capped at 600 s', async (t) => {
  const now = new Date(T0 * 1000)
  t.equal(parseRetryAfter('2', now), 2000)
  t.equal(parseRetryAfter(' 120 ', now), 120_000)
  t.equal(parseRetryAfter('86400', now), MAX_RETRY_AFTER_MS, 'a day is capped at 600 s')
  t.equal(parseRetryAfter(new Date(now.getTime() + 30_000).toUTCString(), now), 30_000, 'an HTTP-date')
  t.equal(parseRetryAfter(new Date(now.getTime() - 30_000).toUTCString(), now), 0, 'a date in the past: at once')
  t.equal(parseRetryAfter(undefined, now), undefined)
  t.equal(parseRetryAfter('soon', now), undefined)
  t.equal(parseRetryAfter('-5', now), undefined)
})

// spec: CW-FED-017
for (const [retryAfterMs, wrapped] of [
  [120_000, false],
  [120_000, true],
  [MAX_RETRY_AFTER_MS, false],
] as const) {
  t.test(`a refusal with Retry-After ${retryAfterMs / 1000} s${wrapped ? ' (wrapped by the job)' : ''} is retried no sooner`, async (t) => {
    const store = await openSqliteMetadataStore(join(t.testdir(), 'caseway.db'))
    t.teardown(() => store.close())
    const clock = manualClock(T0 * 1000)
    const refusal = new PeerRefusal('metro-pd', 503, 'CW_ERR_UNAVAILABLE', 'maintenance', retryAfterMs)
    const jobs = new JobRunner({
      store,
      clock,
      log: pino({ level: 'silent' }),
      owner: 'replica-a',
      pollMs: 10,
      retryBaseMs: 100,
      retryMaxMs: 1000,
      maxAttempts: 10,
      handlers: {
        deliver: async () => {
          throw wrapped ? new Error('3 of 3 chunks not stored', { cause: refusal }) : refusal
        },
      },
    })
    t.teardown(() => jobs.stop())
    await jobs.start()
    await jobs.enqueue('deliver', 'share-1')
    await jobs.onIdle()
    const [job] = await store.jobs.list('share-1')
    t.equal(job?.state, 'pending')
    t.equal(job?.attempts, 1)
    t.equal((job?.runAt ?? 0) - clock.seconds(), retryAfterMs / 1000, 'due exactly when the partner said, not after the 1 s backoff')
  })
}
