/**
 * Issue 17: a conforming partner passes with a per-partner rate limit down to 5 requests a
 * second (CW-FED-012). A subset of the suite that makes many requests — transport, receiving,
 * revisions, refusals, revocation, sending through the control endpoints, fifty connections
 * at once, oversized bodies and the rate-limit test itself — against one of our nodes limited
 * to 5 requests a second per partner (`limits.rateLimit.federationPerSecond`). The harness waits
 * out every `429` (Retry-After) and counts it: nothing fails, and the limit was really hit.
 */
import t from 'tap'
import { selfRun, SELF_NODE_SETTINGS } from './self/self_run.ts'

t.setTimeout(4 * 60_000)

const ONLY = [
  'transport',
  'receiver.valid-share-delivered',
  'receiver.identical-offer-is-a-retry',
  'receiver.empty-and-multi-chunk-items',
  'refusals.alg-none',
  'refusals.replayed-jti',
  'revisions',
  'revocation.accepted-and-idempotent',
  'revocation.stops-pulls',
  'sender.manifest-verifies',
  'sender.chunks-served',
  'sender.revision',
  'sender.chunk-ranges',
  'sender.receipt-refusals',
  'robustness.oversized-offer-declared',
  'robustness.concurrent-connections',
  'robustness.rate-limit',
]

const started = Date.now()
const report = await selfRun({
  only: ONLY,
  write: () => {},
  progress: () => {},
  nodeSettings: { limits: { ...SELF_NODE_SETTINGS.limits, rateLimit: { federationPerSecond: 5 } } },
})

for (const result of report.results) {
  const diagnostic =
    result.failure === undefined
      ? { retries: result.retries }
      : { retries: result.retries, expected: result.failure.expected, observed: result.failure.observed, notes: result.notes }
  if (result.outcome === 'skipped') t.pass(result.id, { skip: result.reason ?? 'skipped' })
  else t.ok(result.outcome === 'passed', `${result.id} (${result.retries} retried after 429)`, diagnostic)
}
t.ok(report.results.length >= 25, `the subset ran (${report.results.length} tests)`)
t.equal(report.summary.failed, 0, 'no test failed at 5 requests a second')
t.ok(report.retries.count > 0, `the limit was hit and waited out: ${report.retries.count} retries, ${(report.retries.waitedMs / 1000).toFixed(1)} s`)
t.equal(report.retries.exhausted, 0, 'no request exhausted the retry policy')
t.comment(`${report.results.length} tests in ${((Date.now() - started) / 1000).toFixed(0)} s; ${report.retries.count} requests retried after 429`)
