/**
 * JUnit XML for CI systems: one `<testsuite>` per suite group, one `<testcase>` per test
 * (classname `caseway.conformance.<group>`), requirement IDs as properties.
 *
 * @module
 */
import type { RunReport, TestResult } from '../runner.ts'

const escape = (text: string) =>
  text
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')

/** What identifies the run (a report a partner can file as evidence): versions, target, options, time, retries. */
export function runPropertiesOf(report: RunReport): Array<[string, string]> {
  const { options } = report
  return [
    ['harness.version', report.harnessVersion],
    ['spec.version', report.specVersion],
    ['harness.org', report.harness],
    ['harness.caFingerprint', report.harnessCaFingerprint],
    ['target.org', report.target.org],
    ['target.url', report.target.url],
    ['target.caFingerprint', report.target.caFingerprint],
    ['options.only', options.only?.join(',') ?? ''],
    ['options.control', String(options.control)],
    ['options.waitMs', String(options.waitMs)],
    ['options.listen', options.listen ?? ''],
    ['options.harnessEndpoint', options.harnessEndpoint],
    ['startedAt', report.startedAt],
    ['finishedAt', report.finishedAt],
    ['runtime', report.runtime],
    ['retries.count', String(report.retries.count)],
    ['retries.waitedMs', String(report.retries.waitedMs)],
    ['retries.exhausted', String(report.retries.exhausted)],
  ]
}

export function junitReport(report: RunReport): string {
  const groups = new Map<string, TestResult[]>()
  for (const result of report.results) groups.set(result.group, [...(groups.get(result.group) ?? []), result])
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>']
  const { passed, failed, skipped } = report.summary
  lines.push(
    `<testsuites name="caseway-conformance" tests="${passed + failed + skipped}" failures="${failed}" skipped="${skipped}" time="${(report.durationMs / 1000).toFixed(3)}" timestamp="${report.startedAt}">`,
  )
  const runProperties = runPropertiesOf(report)
  for (const [group, results] of groups) {
    const count = (outcome: TestResult['outcome']) => results.filter((result) => result.outcome === outcome).length
    const time = results.reduce((sum, result) => sum + result.durationMs, 0) / 1000
    lines.push(
      `  <testsuite name="${escape(group)}" tests="${results.length}" failures="${count('failed')}" skipped="${count('skipped')}" time="${time.toFixed(3)}" timestamp="${report.startedAt}" hostname="${escape(new URL(report.target.url).host)}">`,
    )
    lines.push(`    <properties>${runProperties.map(([name, value]) => `<property name="${escape(name)}" value="${escape(value)}"/>`).join('')}</properties>`)
    for (const result of results) {
      lines.push(
        `    <testcase classname="caseway.conformance.${escape(group)}" name="${escape(`${result.id}: ${result.title}`)}" time="${(result.durationMs / 1000).toFixed(3)}">`,
      )
      lines.push(
        `      <properties>${result.spec.map((id) => `<property name="requirement" value="${escape(id)}"/>`).join('')}<property name="retries" value="${result.retries}"/></properties>`,
      )
      if (result.outcome === 'skipped') lines.push(`      <skipped message="${escape(result.reason ?? '')}"/>`)
      if (result.failure !== undefined) {
        const body = [
          result.failure.requestText && `request: ${result.failure.requestText}`,
          `expected: ${result.failure.expected}`,
          `observed: ${result.failure.observed}`,
        ]
          .filter(Boolean)
          .join('\n')
        lines.push(
          `      <failure message="${escape(`expected ${result.failure.expected}`)}" type="${result.failure.harnessError ? 'HarnessError' : 'CheckFailure'}">${escape(body)}</failure>`,
        )
      }
      if (result.notes.length > 0) lines.push(`      <system-out>${escape(result.notes.join('\n'))}</system-out>`)
      lines.push('    </testcase>')
    }
    lines.push('  </testsuite>')
  }
  lines.push('</testsuites>')
  return lines.join('\n')
}
