/**
 * Runs conformance tests one after the other against the target and collects the results.
 * Tests run sequentially: they share the target's state (replay memory, rate limits).
 *
 * @module
 */
import { FEDERATION_PATHS, PROTOCOL_VERSION } from '#protocol'
import packageJson from '../../package.json' with { type: 'json' }
import { RETRY_POLICY, RetryCounter, TargetClient } from './client.ts'
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
  /** `429` answers the harness waited out and retried during this test (CW-FED-012). */
  retries: number
  /** Why it was skipped. */
  reason?: string
  /** What failed. `harnessError` marks an unexpected exception rather than a failed check. */
  failure?: { expected: string; observed: string; request?: RequestRecord; requestText?: string; harnessError?: boolean }
}

/** The options a run was made with, as the report records them. */
export interface RunOptionsRecord {
  only?: readonly string[]
  control: boolean
  waitMs: number
  listen?: string
  /** The harness's endpoint (where the target reaches its listener). */
  harnessEndpoint: string
  retryPolicy: typeof RETRY_POLICY
}

export interface RunReport {
  /** The harness's partner org id. */
  harness: string
  /** Version of the harness (the Caseway release it is part of) and of SPEC.md it tests. */
  harnessVersion: string
  specVersion: string
  /** The target: org id, federation URL, and the SHA-256 fingerprint of its pinned CA (its bundle). */
  target: { org: string; url: string; caFingerprint: string }
  /** The harness's own CA fingerprint (what the target pinned). */
  harnessCaFingerprint: string
  options: RunOptionsRecord
  startedAt: string
  finishedAt: string
  durationMs: number
  /** Node.js version and platform the harness ran on. */
  runtime: string
  /** `429` answers waited out and retried (CW-FED-012), how long that took, and requests still limited after the policy's bound. */
  retries: { count: number; waitedMs: number; exhausted: number }
  results: TestResult[]
  summary: { passed: number; failed: number; skipped: number }
}

/** The Caseway version the harness belongs to (package.json). */
export const HARNESS_VERSION: string = packageJson.version

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
  /** For the report: the selection the tests came from. */
  only?: readonly string[]
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
  const retries = new RetryCounter()
  const client = new TargetClient(target, { name: harness.main.org, cert: harness.main.tls.cert, key: harness.main.tls.key }, retries)
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
  const finished = Date.now()
  const listen = options.listen ?? {
    host: new URL(harness.file.endpoint).hostname.replace(/^\[|\]$/g, ''),
    port: Number(new URL(harness.file.endpoint).port || 443),
  }
  return {
    harness: harness.main.org,
    harnessVersion: HARNESS_VERSION,
    specVersion: PROTOCOL_VERSION,
    target: { org: target.org, url: target.url, caFingerprint: target.bundle.caFingerprint },
    harnessCaFingerprint: harness.main.bundle.caFingerprint,
    options: {
      ...(options.only === undefined || options.only.length === 0 ? {} : { only: options.only }),
      control: settings.capabilities.has('control'),
      waitMs: settings.waitMs,
      listen: `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`,
      harnessEndpoint: harness.file.endpoint,
      retryPolicy: RETRY_POLICY,
    },
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    runtime: `Node.js ${process.version} on ${process.platform}-${process.arch}`,
    retries: { count: retries.retries, waitedMs: retries.waitedMs, exhausted: retries.exhausted },
    results,
    summary: { passed: count('passed'), failed: count('failed'), skipped: count('skipped') },
  }
}

type Shared = Pick<TestContext, 'harness' | 'target' | 'client' | 'listener' | 'settings'>

async function runOne(test: ConformanceTest, shared: Shared, timeoutMs: number): Promise<TestResult> {
  const started = Date.now()
  const notes: string[] = []
  const counter = shared.client.retries
  const retriesBefore = counter.retries
  const exhaustedBefore = counter.exhausted
  const base = { id: test.id, title: test.title, group: test.group, spec: test.spec, notes, retries: 0 }
  const finish = (result: TestResult): TestResult => {
    result.retries = counter.retries - retriesBefore
    if (counter.exhausted > exhaustedBefore) {
      notes.push(
        `${counter.exhausted - exhaustedBefore} request(s) still answered 429 after the harness's retry bound (${RETRY_POLICY.maxRetries} retries, ${RETRY_POLICY.maxTotalWaitMs / 1000} s, CW-FED-012)`,
      )
    }
    return result
  }
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
    return finish({ ...base, outcome: 'passed', durationMs: Date.now() - started })
  } catch (error) {
    const durationMs = Date.now() - started
    if (error instanceof SkipTest) return finish({ ...base, outcome: 'skipped', durationMs, reason: error.message })
    if (error instanceof CheckFailure) {
      const failure: NonNullable<TestResult['failure']> = { expected: error.expected, observed: error.observed }
      if (error.request !== undefined) {
        failure.request = error.request
        failure.requestText = describeRequest(error.request)
      }
      return finish({ ...base, outcome: 'failed', durationMs, failure })
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    return finish({ ...base, outcome: 'failed', durationMs, failure: { expected: 'the test to run to its end', observed: message, harnessError: true } })
  } finally {
    clearTimeout(timer)
  }
}
