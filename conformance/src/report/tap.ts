/**
 * TAP version 14: one test point per conformance test, with a YAML block for failures and
 * `# SKIP` for skipped tests.
 *
 * @module
 */
import type { RunReport } from '../runner.ts'

export function tapReport(report: RunReport): string {
  const lines = ['TAP version 14', `1..${report.results.length}`]
  report.results.forEach((result, index) => {
    const name = `${result.id} - ${result.title} [${result.spec.join(', ')}]`.replaceAll('#', '\\#')
    if (result.outcome === 'skipped') {
      lines.push(`ok ${index + 1} - ${name} # SKIP ${result.reason ?? ''}`)
      return
    }
    lines.push(`${result.outcome === 'passed' ? 'ok' : 'not ok'} ${index + 1} - ${name}`)
    if (result.failure !== undefined) {
      lines.push('  ---')
      lines.push(`  expected: ${JSON.stringify(result.failure.expected)}`)
      lines.push(`  observed: ${JSON.stringify(result.failure.observed)}`)
      if (result.failure.requestText !== undefined) lines.push(`  request: ${JSON.stringify(result.failure.requestText)}`)
      lines.push('  ...')
    }
  })
  return lines.join('\n')
}
