/**
 * `npm run conformance:self [-- --only <ids>] [--reporter human|tap|junit|json] [--out <file>] [--keep]`:
 * starts one of our nodes, runs the suite against it, prints the report; the last line is
 * `{"passed": n, "failed": n, "skipped": n}`. Exit status 1 when a test failed.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import type { ReporterName } from '../../../conformance/src/report/index.ts'
import { selfRun } from './self_run.ts'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    reporter: { type: 'string', default: 'human' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
})
const report = await selfRun({
  ...(values.only === undefined ? {} : { only: values.only.split(',') }),
  reporter: values.reporter as ReporterName,
  ...(values.out === undefined ? {} : { out: values.out }),
  keep: values.keep,
})
process.stdout.write(`${JSON.stringify(report.summary)}\n`)
process.exitCode = report.summary.failed > 0 ? 1 : 0
