/**
 * The whole conformance suite against one of our own nodes (`selfRun`: a fresh node with the
 * control endpoints on, paired as conformance/README.md says): one assertion per conformance
 * test, then none may have failed. This is what makes `.ci/run` prove the suite passes
 * against our node.
 */
import t from 'tap'
import { selfRun } from './self/self_run.ts'

// The suite starts a node, then waits on pulls, receipts and slow-client timeouts: minutes, not seconds.
t.setTimeout(8 * 60_000)

const report = await selfRun({ write: () => {}, progress: () => {} })

for (const result of report.results) {
  const diagnostic = {
    title: result.title,
    spec: result.spec.join(', '),
    ...(result.failure === undefined
      ? {}
      : {
          expected: result.failure.expected,
          observed: result.failure.observed,
          ...(result.failure.requestText === undefined ? {} : { request: result.failure.requestText }),
          ...(result.failure.harnessError === true ? { harnessError: true } : {}),
        }),
    ...(result.notes.length === 0 ? {} : { notes: result.notes }),
  }
  if (result.outcome === 'skipped') t.pass(result.id, { ...diagnostic, skip: result.reason ?? 'skipped' })
  else t.ok(result.outcome === 'passed', result.id, diagnostic)
}

t.ok(report.results.length > 0, 'the suite ran tests')
t.equal(report.summary.failed, 0, `no conformance test failed (${report.summary.passed} passed, ${report.summary.skipped} skipped)`)
