/**
 * `npm run conformance:mutation [-- --only <fault ids or requirement IDs>] [--jobs n] [--list] [--keep]`:
 * runs the conformance suite against our node with one rule broken at a time (faults.ts) and
 * prints one line per fault — `killed <id> by <tests>`, `SURVIVED <id>` or `INVALID <id>: <why>` —
 * then, as the last line, `{"injected": n, "killed": n, "survivors": [ids]}`. Exit status 1
 * when a fault survived (invalid faults count as survivors) or the baseline failed.
 *
 * `--only` takes fault ids, requirement IDs (`CW-SIG-002`) or their prefixes (`CW-SIG`).
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { testsForFault } from './fault.ts'
import { FAULTS } from './faults.ts'
import { runMutations } from './run_mutations.ts'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    jobs: { type: 'string', default: '1' },
    list: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
})

const wanted = values.only
  ?.split(',')
  .map((item) => item.trim())
  .filter((item) => item.length > 0)
const faults =
  wanted === undefined
    ? FAULTS
    : FAULTS.filter((fault) => wanted.some((item) => fault.id === item || fault.spec.some((id) => id === item || id.startsWith(`${item}-`))))
if (faults.length === 0) {
  process.stderr.write(`--only ${values.only} selects no fault\n`)
  process.exit(2)
}

if (values.list) {
  for (const fault of faults) {
    let tests: string
    try {
      tests =
        testsForFault(fault)
          .map((test) => test.id)
          .join(', ') || '(no test)'
    } catch (error) {
      tests = `(${(error as Error).message})`
    }
    process.stdout.write(`${fault.id} [${fault.spec.join(', ')}] ${fault.file}\n  ${fault.description}\n  tests: ${tests}\n`)
  }
  process.exit(0)
}

const jobs = Number(values.jobs)
if (!Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write('--jobs must be a whole number ≥ 1\n')
  process.exit(2)
}

const started = Date.now()
const result = await runMutations({ faults, jobs, keep: values.keep })
const baselineFailed = [...result.baseline.values()].some((outcome) => outcome === 'failed')
process.stderr.write(`${result.summary.killed} of ${result.summary.injected} faults killed in ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
process.stdout.write(`${JSON.stringify(result.summary)}\n`)
process.exitCode = result.summary.survivors.length > 0 || baselineFailed ? 1 : 0
