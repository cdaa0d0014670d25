/**
 * TAP version 14: one test point per conformance test, with a YAML block for failures and
 * `# SKIP` for skipped tests.
 *
 * @module
 */
import type { RunReport } from '../runner.ts'
import { runPropertiesOf } from './junit.ts'

export function tapReport(report: RunReport): string {
  const lines = ['TAP version 14', `1..${report.results.length}`]
  for (const [name, value] of runPropertiesOf(report)) lines.push(`# ${name}: ${value}`)
  report.results.forEach((result, index) => {
    const name = `${result.id} - ${result.title} [${result.spec.join(', ')}]`.replaceAll('#', '\\#')
    if (result.outcome === 'skipped') {
      lines.push(`ok ${index + 1} - ${name} # SKIP ${result.reason ?? ''}`)
      return
    }
    lines.push(`${result.outcome === 'passed' ? 'ok' : 'not ok'} ${index + 1} - ${name}`)
    if (result.retries > 0) lines.push(`  # retried ${result.retries} request(s) after 429 (CW-FED-012)`)
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
