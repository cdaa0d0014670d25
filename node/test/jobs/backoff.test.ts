import t from 'tap'
import { retryDelayMs } from '../../src/jobs/backoff.ts'

t.test('doubles per attempt, jittered down by at most half', async (t) => {
  t.equal(
    retryDelayMs(1, 1000, 60_000, () => 1),
    1000,
  )
  t.equal(
    retryDelayMs(1, 1000, 60_000, () => 0),
    500,
  )
  t.equal(
    retryDelayMs(2, 1000, 60_000, () => 1),
    2000,
  )
  t.equal(
    retryDelayMs(4, 1000, 60_000, () => 1),
    8000,
  )
  t.equal(
    retryDelayMs(4, 1000, 60_000, () => 0),
    4000,
  )
  for (let i = 0; i < 100; i++) {
    const delay = retryDelayMs(3, 1000, 60_000)
    t.ok(delay >= 2000 && delay <= 4000, String(delay))
  }
})

t.test('is capped at maxMs, even for huge attempt numbers', async (t) => {
  t.equal(
    retryDelayMs(7, 1000, 60_000, () => 1),
    60_000,
  )
  t.equal(
    retryDelayMs(7, 1000, 60_000, () => 0),
    30_000,
  )
  t.equal(
    retryDelayMs(10_000, 1000, 60_000, () => 1),
    60_000,
  )
  t.ok(Number.isFinite(retryDelayMs(1_000_000, 1000, 60_000)))
})

t.test('refuses a non-positive attempt', async (t) => {
  t.throws(() => retryDelayMs(0, 1000, 60_000), TypeError)
  t.throws(() => retryDelayMs(1.5, 1000, 60_000), TypeError)
})
