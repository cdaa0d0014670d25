/**
 * The mutation check: the conformance suite against our node with one rule broken at a time.
 * First a baseline — the union of the selected tests against an unmodified node, which must
 * pass, or a failing test proves nothing — then, for each fault, a fresh node started with
 * the loader hook (`NODE_OPTIONS=--import register.ts`, `CASEWAY_MUTATION`) and the fault's
 * tests. A fault is killed when one of its tests that passed the baseline fails; it is invalid
 * (and counts as a survivor) when the node cannot start or never loads the mutated file.
 *
 * @module
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Outcome, RunReport } from '../../../conformance/src/runner.ts'
import { selfRun, type SelfRunOptions } from '../self/self_run.ts'
import { mutationOf, testsForFault, type Fault } from './fault.ts'
import { MUTATION_ENV, mutatedFiles, type Mutation } from './mutation.ts'

export const REGISTER_FILE = fileURLToPath(new URL('./register.ts', import.meta.url))

export type FaultVerdict =
  { fault: Fault; verdict: 'killed'; by: string[] } | { fault: Fault; verdict: 'survived'; tests: string[] } | { fault: Fault; verdict: 'invalid'; why: string }

export interface MutationSummary {
  injected: number
  killed: number
  survivors: string[]
}

export interface MutationRunOptions {
  faults: readonly Fault[]
  /** Faults run at the same time (each with its own node); default 1. */
  jobs?: number
  /** One line per fault, as it is decided. */
  line?: (text: string) => void
  /** Progress and diagnostics (standard error). */
  log?: (text: string) => void
  keep?: boolean
  /** Runs the suite (tests replace it). */
  run?: (options: SelfRunOptions) => Promise<RunReport>
}

export interface MutationRun {
  baseline: Map<string, Outcome>
  verdicts: FaultVerdict[]
  summary: MutationSummary
}

/** The line printed for one verdict. */
export function verdictLine(verdict: FaultVerdict): string {
  switch (verdict.verdict) {
    case 'killed':
      return `killed ${verdict.fault.id} by ${verdict.by.join(', ')}`
    case 'survived':
      return `SURVIVED ${verdict.fault.id} (${verdict.fault.description}; tests ${verdict.tests.join(', ') || 'none'} all passed)`
    case 'invalid':
      return `INVALID ${verdict.fault.id}: ${verdict.why}`
  }
}

/** The environment of a node process carrying `mutation`. */
export function mutationEnv(mutation: Mutation): Record<string, string> {
  const inherited = process.env.NODE_OPTIONS?.trim()
  const option = `--import ${pathToFileURL(REGISTER_FILE).href}`
  return { NODE_OPTIONS: inherited ? `${inherited} ${option}` : option, [MUTATION_ENV]: JSON.stringify(mutation) }
}

const quiet = { write: () => {}, progress: () => {} }

function shorten(text: string, max = 400): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`
}

async function runFault(fault: Fault, testIds: string[], baseline: Map<string, Outcome>, options: MutationRunOptions): Promise<FaultVerdict> {
  const usable = testIds.filter((id) => baseline.get(id) === 'passed')
  if (usable.length === 0) {
    return { fault, verdict: 'invalid', why: `none of its tests (${testIds.join(', ') || 'none'}) passed the baseline` }
  }
  const scratch = await mkdtemp(join(tmpdir(), 'caseway-mutation-'))
  const marker = join(scratch, 'applied')
  const run = options.run ?? selfRun
  try {
    let report: RunReport
    try {
      report = await run({
        ...quiet,
        only: usable,
        env: mutationEnv(mutationOf(fault, marker)),
        ...(options.keep === true ? { keep: true } : {}),
      })
    } catch (error) {
      return { fault, verdict: 'invalid', why: `the node did not start or pair: ${shorten(error instanceof Error ? error.message : String(error))}` }
    }
    const applied = new Set((await readFile(marker, 'utf8').catch(() => '')).split('\n'))
    const unloaded = mutatedFiles(mutationOf(fault)).filter((file) => !applied.has(file))
    if (unloaded.length > 0) return { fault, verdict: 'invalid', why: `the node never loaded ${unloaded.join(', ')}, so the fault was not live` }
    const by = report.results.filter((result) => result.outcome === 'failed' && usable.includes(result.id)).map((result) => result.id)
    return by.length > 0 ? { fault, verdict: 'killed', by } : { fault, verdict: 'survived', tests: usable }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

export async function runMutations(options: MutationRunOptions): Promise<MutationRun> {
  const line = options.line ?? ((text: string) => process.stdout.write(`${text}\n`))
  const log = options.log ?? ((text: string) => process.stderr.write(`${text}\n`))
  const run = options.run ?? selfRun

  const selected = new Map<Fault, string[] | Error>()
  for (const fault of options.faults) {
    try {
      selected.set(
        fault,
        testsForFault(fault).map((test) => test.id),
      )
    } catch (error) {
      selected.set(fault, error as Error)
    }
  }
  const union = [...new Set([...selected.values()].flatMap((ids) => (Array.isArray(ids) ? ids : [])))]

  const baseline = new Map<string, Outcome>()
  if (union.length > 0) {
    log(`baseline: ${union.length} tests against an unmodified node`)
    const report = await run({ ...quiet, only: union, ...(options.keep === true ? { keep: true } : {}) })
    for (const result of report.results) {
      baseline.set(result.id, result.outcome)
      if (result.outcome === 'failed')
        line(`BASELINE FAILED ${result.id}: expected ${shorten(result.failure?.expected ?? '')}; observed ${shorten(result.failure?.observed ?? '')}`)
    }
    log(
      `baseline: ${report.summary.passed} passed, ${report.summary.failed} failed, ${report.summary.skipped} skipped (${(report.durationMs / 1000).toFixed(1)} s)`,
    )
  }

  const verdicts: FaultVerdict[] = new Array(options.faults.length)
  let next = 0
  const worker = async () => {
    while (next < options.faults.length) {
      const index = next++
      const fault = options.faults[index]!
      const tests = selected.get(fault)!
      const started = Date.now()
      const verdict =
        tests instanceof Error
          ? ({ fault, verdict: 'invalid', why: tests.message } as const)
          : tests.length === 0
            ? ({ fault, verdict: 'invalid', why: `no conformance test cites ${fault.spec.join(', ')}` } as const)
            : await runFault(fault, tests, baseline, options)
      verdicts[index] = verdict
      line(verdictLine(verdict))
      log(`  ${fault.id}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs ?? 1, options.faults.length)) }, worker))

  const survivors = verdicts.filter((verdict) => verdict.verdict !== 'killed').map((verdict) => verdict.fault.id)
  return { baseline, verdicts, summary: { injected: verdicts.length, killed: verdicts.length - survivors.length, survivors } }
}
