/**
 * The report a person reads: pass / fail / skipped per requirement group (the area of the
 * requirement IDs, e.g. CW-SIG), then every failure with its request, what was expected and
 * what was observed.
 *
 * @module
 */
import type { RunReport, TestResult } from '../runner.ts'

/** `CW-SIG-002` → `CW-SIG`. */
export function requirementGroup(id: string): string {
  return id.replace(/-\d+$/, '')
}

export function humanReport(report: RunReport): string {
  const lines: string[] = []
  lines.push(`Caseway conformance — target ${report.target.org} at ${report.target.url}, harness ${report.harness}`)
  lines.push(`started ${report.startedAt}, ${(report.durationMs / 1000).toFixed(1)} s; harness ${report.harnessVersion}, SPEC.md v${report.specVersion}`)
  lines.push(`target CA ${report.target.caFingerprint}`)
  lines.push(retryLine(report))
  lines.push('')
  lines.push('Requirement group   passed  failed  skipped')
  const groups = new Map<string, { passed: number; failed: number; skipped: number }>()
  for (const result of report.results) {
    for (const group of new Set(result.spec.map(requirementGroup))) {
      const counts = groups.get(group) ?? { passed: 0, failed: 0, skipped: 0 }
      counts[result.outcome]++
      groups.set(group, counts)
    }
  }
  for (const [group, counts] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`${group.padEnd(18)} ${String(counts.passed).padStart(7)} ${String(counts.failed).padStart(7)} ${String(counts.skipped).padStart(8)}`)
  }
  const failed = report.results.filter((result) => result.outcome === 'failed')
  if (failed.length > 0) {
    lines.push('', 'Failures', '')
    for (const result of failed) lines.push(...describeFailure(result), '')
  }
  const skipped = report.results.filter((result) => result.outcome === 'skipped')
  if (skipped.length > 0) {
    lines.push('', 'Skipped', '')
    for (const result of skipped) lines.push(`  - ${result.id}: ${result.reason ?? ''}`)
  }
  const noted = report.results.filter((result) => result.notes.length > 0)
  if (noted.length > 0) {
    lines.push('', 'Notes', '')
    for (const result of noted) for (const note of result.notes) lines.push(`  - ${result.id}: ${note}`)
  }
  const { passed, skipped: skippedCount } = report.summary
  lines.push('', `${report.results.length} tests: ${passed} passed, ${failed.length} failed, ${skippedCount} skipped`)
  return lines.join('\n')
}

/** How many 429 answers the harness waited out (CW-FED-012). */
export function retryLine(report: RunReport): string {
  const { count, waitedMs, exhausted } = report.retries
  const tests = report.results.filter((result) => result.retries > 0).length
  return `rate limiting: ${count} request${count === 1 ? '' : 's'} answered 429 and retried after Retry-After (${(waitedMs / 1000).toFixed(1)} s waited, in ${tests} test${tests === 1 ? '' : 's'})${exhausted > 0 ? `; ${exhausted} still 429 after the retry bound` : ''}`
}

export function describeFailure(result: TestResult): string[] {
  const failure = result.failure!
  const lines = [`✗ ${result.id} — ${result.title}`, `    requirements: ${result.spec.join(', ')}`]
  if (failure.requestText !== undefined) lines.push(`    request:  ${failure.requestText}`)
  lines.push(`    expected: ${failure.expected}`, `    observed: ${failure.observed}`)
  if (failure.harnessError === true) lines.push('    (an error in the harness itself, not a failed check: please report it)')
  return lines
}

/** One progress line per test. */
export function progressLine(result: TestResult): string {
  const mark = result.outcome === 'passed' ? 'ok  ' : result.outcome === 'failed' ? 'FAIL' : 'skip'
  return `${mark} ${result.id} (${result.spec.join(', ')}) ${result.durationMs} ms${result.retries > 0 ? `, ${result.retries} retried after 429` : ''}`
}
