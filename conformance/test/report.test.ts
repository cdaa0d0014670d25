/**
 * The report formats a partner's CI reads: TAP that a TAP parser counts right, JUnit XML with
 * the right counts and escaped text, JSON that round-trips, and the human summary per
 * requirement group with each failure's request, expected and observed result.
 */
import t from 'tap'
import { Parser, type FinalResults } from 'tap-parser'
import { REPORTERS, requirementGroup } from '../src/report/index.ts'
import type { RunReport } from '../src/runner.ts'

const report: RunReport = {
  harness: 'cw-conformance',
  harnessVersion: '0.1.0',
  specVersion: '0.1',
  target: { org: 'metro-pd', url: 'https://127.0.0.1:8443', caFingerprint: 'sha256:2075f62e' },
  harnessCaFingerprint: 'sha256:399ea5af',
  options: {
    only: ['CW-SIG'],
    control: true,
    waitMs: 30000,
    listen: '127.0.0.1:9443',
    harnessEndpoint: 'https://127.0.0.1:9443',
    retryPolicy: { maxWaitMs: 10000, maxRetries: 30, maxTotalWaitMs: 90000 },
  },
  startedAt: '2026-11-25T12:00:00.000Z',
  finishedAt: '2026-11-25T12:00:01.234Z',
  durationMs: 1234,
  runtime: 'Node.js v24.21.0 on linux-x64',
  retries: { count: 7, waitedMs: 7000, exhausted: 0 },
  summary: { passed: 1, failed: 1, skipped: 1 },
  results: [
    {
      id: 'transport.partner-healthz',
      title: 'Partner reaches EP-4',
      group: 'transport',
      spec: ['CW-TLS-002', 'CW-FED-010'],
      outcome: 'passed',
      durationMs: 12,
      notes: ['fine'],
      retries: 7,
    },
    {
      id: 'refusals.alg-none',
      title: 'alg "none" is refused # not a directive',
      group: 'refusals',
      spec: ['CW-SIG-002', 'CW-FED-001'],
      outcome: 'failed',
      durationMs: 30,
      notes: [],
      retries: 0,
      failure: {
        expected: '422 CW_ERR_ALG_NOT_ALLOWED',
        observed: '202 (application/json) {"share":"s<1>","needed":["a&b"]}',
        requestText: 'POST https://127.0.0.1:8443/federation/v1/offers as cw-conformance — manifest with alg none',
      },
    },
    {
      id: 'sender.manifest-verifies',
      title: 'Manifest verifies',
      group: 'sender',
      spec: ['CW-SIG-008'],
      outcome: 'skipped',
      durationMs: 0,
      notes: [],
      retries: 0,
      reason: 'needs control',
    },
  ],
}

function parseTap(text: string): Promise<FinalResults> {
  return new Promise((resolve) => {
    const parser = new Parser((results) => resolve(results))
    parser.end(text + '\n')
  })
}

t.test('TAP: one test point per test, failures not ok, skips as # SKIP', async (t) => {
  const results = await parseTap(REPORTERS.tap(report))
  t.equal(results.count, 3)
  t.equal(results.pass, 2, 'the pass and the skip')
  t.equal(results.fail, 1)
  t.equal(results.skip, 1)
  t.equal(results.ok, false, 'a failed test fails the stream')
  t.match(REPORTERS.tap(report), /not ok 2 - refusals\.alg-none - alg "none" is refused \\# not a directive/, 'a # in a title is escaped')
  t.match(REPORTERS.tap(report), /^# target\.caFingerprint: sha256:2075f62e$/m, 'run properties as comments')
  t.match(REPORTERS.tap(report), /# retried 7 request\(s\) after 429/)
})

t.test('every report identifies the run: versions, target and its CA, options, time, retries', async (t) => {
  const xml = REPORTERS.junit(report)
  for (const [name, value] of [
    ['harness.version', '0.1.0'],
    ['spec.version', '0.1'],
    ['target.url', 'https://127.0.0.1:8443'],
    ['target.caFingerprint', 'sha256:2075f62e'],
    ['options.only', 'CW-SIG'],
    ['options.control', 'true'],
    ['startedAt', '2026-11-25T12:00:00.000Z'],
    ['finishedAt', '2026-11-25T12:00:01.234Z'],
    ['retries.count', '7'],
  ])
    t.match(xml, `<property name="${name}" value="${value}"/>`, name)
  t.match(xml, /<property name="retries" value="7"\/>/, 'retries per test')
  const json = JSON.parse(REPORTERS.json(report)) as RunReport
  t.equal(json.harnessVersion, '0.1.0')
  t.equal(json.target.caFingerprint, 'sha256:2075f62e')
  t.equal(json.retries.count, 7)
  t.equal(json.results[0]!.retries, 7)
  const human = REPORTERS.human(report)
  t.match(human, /harness 0\.1\.0, SPEC\.md v0\.1/)
  t.match(human, /target CA sha256:2075f62e/)
  t.match(human, /rate limiting: 7 requests answered 429 and retried/)
})

t.test('JUnit XML: a testsuite per group with counts, requirement properties, escaped failure text', async (t) => {
  const xml = REPORTERS.junit(report)
  t.match(xml, /<testsuites name="caseway-conformance" tests="3" failures="1" skipped="1"/)
  t.match(xml, /<testsuite name="refusals" tests="1" failures="1" skipped="0"/)
  t.match(xml, /<property name="requirement" value="CW-SIG-002"\/>/)
  t.match(xml, /<skipped message="needs control"\/>/)
  t.match(xml, /observed: 202 \(application\/json\) \{&quot;share&quot;:&quot;s&lt;1&gt;&quot;,&quot;needed&quot;:\[&quot;a&amp;b&quot;\]\}/)
  t.notMatch(xml.replace(/&(amp|lt|gt|quot|apos);/g, ''), /&/, 'no unescaped ampersand')
  t.equal((xml.match(/<testcase /g) ?? []).length, 3)
})

t.test('JSON: the full record round-trips', async (t) => {
  t.same(JSON.parse(REPORTERS.json(report)), report)
})

t.test('human: a row per requirement group, then each failure with request, expected and observed', async (t) => {
  const text = REPORTERS.human(report)
  t.match(text, /^CW-SIG\s+0\s+1\s+1$/m, 'CW-SIG: the failure and the skip')
  t.match(text, /^CW-TLS\s+1\s+0\s+0$/m)
  t.match(text, /^CW-FED\s+1\s+1\s+0$/m, 'a test counts in every group it cites')
  t.match(text, /✗ refusals\.alg-none/)
  t.match(text, /request: {2}POST https:\/\/127\.0\.0\.1:8443\/federation\/v1\/offers/)
  t.match(text, /expected: 422 CW_ERR_ALG_NOT_ALLOWED/)
  t.match(text, /observed: 202/)
  t.match(text, /sender\.manifest-verifies: needs control/)
  t.match(text, /3 tests: 1 passed, 1 failed, 1 skipped$/)
})

t.test('requirement groups are the ID without its number', async (t) => {
  t.equal(requirementGroup('CW-SIG-002'), 'CW-SIG')
  t.equal(requirementGroup('CW-REVN-004'), 'CW-REVN')
})
