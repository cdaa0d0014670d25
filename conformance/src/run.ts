/**
 * `caseway conformance run`: loads the harness and the target, runs the selected tests and
 * renders the report.
 *
 * @module
 */
import { access, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ALL_TESTS } from './all_tests.ts'
import { loadHarness } from './harness_dir.ts'
import { humanReport, progressLine, REPORTERS, type ReporterName } from './report/index.ts'
import { runTests, selectTests, type RunReport } from './runner.ts'
import type { Capability } from './suite.ts'
import { loadTarget } from './target.ts'

export const TARGET_BUNDLE_FILE = 'target-bundle.json'

export interface ConformanceRunOptions {
  /** Harness directory (`caseway conformance init`). */
  orgDir: string
  /** Target federation URL; default the endpoint of its bundle. */
  target?: string
  /** The target's partner bundle; default `<orgDir>/target-bundle.json`. */
  targetBundle?: string
  only?: readonly string[]
  reporter?: ReporterName
  /** Write the report here instead of standard output (the human summary still goes to standard output). */
  out?: string
  control?: boolean
  waitMs?: number
  listen?: { host: string; port: number }
  /** Progress lines (default: standard error). */
  progress?: (line: string) => void
  /** The report (default: standard output). */
  write?: (text: string) => void
}

/** Runs the suite; resolves to the report (the caller sets the exit code from its summary). */
export async function runConformance(options: ConformanceRunOptions): Promise<RunReport> {
  const harness = await loadHarness(options.orgDir)
  const bundleFile = options.targetBundle ?? join(harness.dir, TARGET_BUNDLE_FILE)
  if (
    !(await access(bundleFile).then(
      () => true,
      () => false,
    ))
  ) {
    throw new TypeError(`no target bundle at ${bundleFile}: pass --target-bundle <the target's partner-bundle.json> (or give it to conformance init)`)
  }
  const target = await loadTarget(bundleFile, options.target)
  const tests = selectTests(ALL_TESTS, options.only)
  if (tests.length === 0) throw new TypeError(`--only ${options.only?.join(',')} selects no test`)
  const capabilities = new Set<Capability>(options.control === true ? ['control'] : [])
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`))
  const write = options.write ?? ((text: string) => process.stdout.write(`${text}\n`))
  const report = await runTests({
    harness,
    target,
    tests,
    settings: { waitMs: options.waitMs ?? 30_000, capabilities },
    ...(options.listen === undefined ? {} : { listen: options.listen }),
    ...(options.only === undefined ? {} : { only: options.only }),
    onResult: (result) => progress(progressLine(result)),
  })
  const reporter = options.reporter ?? 'human'
  const text = REPORTERS[reporter](report)
  if (options.out !== undefined) {
    await writeFile(options.out, `${text}\n`)
    if (reporter !== 'human') write(humanReport(report))
  } else {
    write(text)
  }
  return report
}
