/**
 * `caseway conformance run --list`: the tests of the suite (or of an `--only` selection) with
 * their group, the SPEC.md requirement IDs they check and whether they need the control
 * endpoints (§21) — what a partner picks `--only` values from. Needs no harness and no target.
 *
 * @module
 */
import { ALL_TESTS } from './all_tests.ts'
import { selectTests } from './runner.ts'
import { SUITE_GROUPS, type ConformanceTest } from './suite.ts'

export interface ListedTest {
  id: string
  group: string
  title: string
  spec: readonly string[]
  /** Skipped unless the run has `--control` (SPEC.md §21). */
  needsControl: boolean
}

/** The selected tests, in the order a run runs them. */
export function listTests(only?: readonly string[], tests: readonly ConformanceTest[] = ALL_TESTS): ListedTest[] {
  const selected = selectTests(tests, only)
  if (selected.length === 0) throw new TypeError(`--only ${only?.join(',')} selects no test`)
  return selected
    .sort((a, b) => SUITE_GROUPS.indexOf(a.group) - SUITE_GROUPS.indexOf(b.group))
    .map((test) => ({ id: test.id, group: test.group, title: test.title, spec: test.spec, needsControl: (test.requires ?? []).includes('control') }))
}

/** One line per test: id, `[control]` when it needs the control endpoints, requirement IDs, title. */
export function listText(listed: readonly ListedTest[]): string {
  const width = Math.max(...listed.map((test) => test.id.length))
  const lines = listed.map(
    (test) => `${test.id.padEnd(width)}  ${test.needsControl ? 'control' : '       '}  ${test.spec.join(',')}\n${' '.repeat(width + 11)}${test.title}`,
  )
  const groups = SUITE_GROUPS.map((group) => [group, listed.filter((test) => test.group === group).length] as const)
    .filter(([, count]) => count > 0)
    .map(([group, count]) => `${group} ${count}`)
    .join(', ')
  const control = listed.filter((test) => test.needsControl).length
  lines.push('', `${listed.length} tests (${groups}); ${control} need --control`)
  return lines.join('\n')
}
