/**
 * Runs conformance tests one after the other against the target and collects the results.
 * Tests run sequentially: they share the target's state (replay memory, rate limits).
 *
 * @module
 */
import { FEDERATION_PATHS } from '#protocol'
import { TargetClient } from './client.ts'
import { CheckFailure } from './check.ts'
import { describeRequest, type RequestRecord } from './exchange.ts'
import type { Harness } from './harness_dir.ts'
import { HarnessListener } from './listener.ts'
import { HarnessShare } from './shares.ts'
import { SkipTest, SUITE_GROUPS, type ConformanceTest, type RunSettings, type TestContext } from './suite.ts'
import type { Target } from './target.ts'

export type Outcome = 'passed' | 'failed' | 'skipped'

export interface TestResult {
  id: string
  title: string
  group: string
  spec: readonly string[]
  outcome: Outcome
  durationMs: number
  notes: string[]
  /** Why it was skipped. */
  reason?: string
  /** What failed. `harnessError` marks an unexpected exception rather than a failed check. */
  failure?: { expected: string; observed: string; request?: RequestRecord; requestText?: string; harnessError?: boolean }
}

export interface RunReport {
  harness: string
  target: { org: string; url: string }
  startedAt: string
  durationMs: number
  results: TestResult[]
  summary: { passed: number; failed: number; skipped: number }
}

export interface RunOptions {
  harness: Harness
  target: Target
  tests: readonly ConformanceTest[]
  settings: RunSettings
  /** Where the listener binds (default: the harness endpoint's host and port). */
  listen?: { host: string; port: number }
  /** Per-test limit (default 180 s). */
  testTimeoutMs?: number
  /** Called after each test (progress output). */
  onResult?: (result: TestResult) => void
}

/**
 * Selects tests by `only`: test ids, suite groups, requirement IDs or ID prefixes
 * (`CW-SIG` selects every test citing a CW-SIG requirement).
 */
export function selectTests(tests: readonly ConformanceTest[], only: readonly string[] | undefined): ConformanceTest[] {
  if (only === undefined || only.length === 0) return [...tests]
  const wanted = only.map((item) => item.trim()).filter((item) => item.length > 0)
  return tests.filter((test) =>
    wanted.some((item) => test.id === item || test.group === item || test.spec.some((id) => id === item || id.startsWith(`${item}-`))),
  )
}

export async function runTests(options: RunOptions): Promise<RunReport> {
  const { harness, target, settings } = options
  const started = Date.now()
  const listener = await HarnessListener.start(harness, target, options.listen)
  const client = new TargetClient(target, { name: harness.main.org, cert: harness.main.tls.cert, key: harness.main.tls.key })
  const ordered = [...options.tests].sort((a, b) => SUITE_GROUPS.indexOf(a.group) - SUITE_GROUPS.indexOf(b.group))
  const results: TestResult[] = []
  try {
    for (const test of ordered) {
      const result = await runOne(test, { harness, target, client, listener, settings }, options.testTimeoutMs ?? 180_000)
      results.push(result)
      options.onResult?.(result)
    }
  } finally {
    await client.close()
    await listener.close()
  }
  const count = (outcome: Outcome) => results.filter((result) => result.outcome === outcome).length
  return {
    harness: harness.main.org,
    target: { org: target.org, url: target.url },
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    results,
    summary: { passed: count('passed'), failed: count('failed'), skipped: count('skipped') },
  }
}

type Shared = Pick<TestContext, 'harness' | 'target' | 'client' | 'listener' | 'settings'>

async function runOne(test: ConformanceTest, shared: Shared, timeoutMs: number): Promise<TestResult> {
  const started = Date.now()
  const notes: string[] = []
  const base = { id: test.id, title: test.title, group: test.group, spec: test.spec, notes }
  const missing = (test.requires ?? []).filter((capability) => !shared.settings.capabilities.has(capability))
  if (missing.length > 0) {
    return { ...base, outcome: 'skipped', durationMs: 0, reason: `needs ${missing.join(', ')} (see conformance/README.md)` }
  }
  const ctx: TestContext = {
    ...shared,
    newShare(options) {
      const share = new HarnessShare(shared.harness, shared.target.org, options)
      shared.listener.serve({ id: share.id, chunks: share.chunks() })
      return share
    },
    offer(jws, note) {
      return shared.client.postJose(FEDERATION_PATHS.offers, jws, note)
    },
    note(text) {
      notes.push(text)
    },
    skip(reason): never {
      throw new SkipTest(reason)
    },
  }
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      test.run(ctx),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailure(`the test to finish within ${timeoutMs / 1000} s`, 'it did not')), timeoutMs)
      }),
    ])
    return { ...base, outcome: 'passed', durationMs: Date.now() - started }
  } catch (error) {
    const durationMs = Date.now() - started
    if (error instanceof SkipTest) return { ...base, outcome: 'skipped', durationMs, reason: error.message }
    if (error instanceof CheckFailure) {
      const failure: NonNullable<TestResult['failure']> = { expected: error.expected, observed: error.observed }
      if (error.request !== undefined) {
        failure.request = error.request
        failure.requestText = describeRequest(error.request)
      }
      return { ...base, outcome: 'failed', durationMs, failure }
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    return { ...base, outcome: 'failed', durationMs, failure: { expected: 'the test to run to its end', observed: message, harnessError: true } }
  } finally {
    clearTimeout(timer)
  }
}
