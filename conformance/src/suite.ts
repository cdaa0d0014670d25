/**
 * What a conformance test is and what it gets to work with.
 *
 * A test names the SPEC.md requirement IDs it checks, belongs to one suite group, and may
 * need an optional capability of the target (the control endpoints of SPEC.md §21). It
 * passes by returning, fails by throwing `CheckFailure` (any other error is reported as a
 * failure too, marked as an error of the harness), and is skipped by calling `ctx.skip`.
 *
 * @module
 */
import type { TargetClient } from './client.ts'
import type { Exchange, TransportFailure } from './exchange.ts'
import type { Harness } from './harness_dir.ts'
import type { HarnessListener } from './listener.ts'
import type { HarnessShare, NewShareOptions } from './shares.ts'
import type { Target } from './target.ts'

/** Suite groups, in the order they run. */
export const SUITE_GROUPS = ['transport', 'receiver', 'refusals', 'revisions', 'chains', 'revocation', 'sender', 'robustness'] as const
export type SuiteGroup = (typeof SUITE_GROUPS)[number]

/** Optional abilities of the target. `control`: the control endpoints (SPEC.md §21) are enabled. */
export type Capability = 'control'

export interface ConformanceTest {
  /** Stable id, `<group>.<name>`. */
  id: string
  title: string
  group: SuiteGroup
  /** SPEC.md requirement IDs this test checks. */
  spec: readonly string[]
  requires?: readonly Capability[]
  run(ctx: TestContext): Promise<void>
}

export interface RunSettings {
  /** How long to wait for something the target does on its own (pulls, receipts). */
  waitMs: number
  /** Capabilities the operator says the target has. */
  capabilities: ReadonlySet<Capability>
}

/** Handed to each test. */
export interface TestContext {
  harness: Harness
  target: Target
  /** Requests to the target as the harness's partner org. */
  client: TargetClient
  listener: HarnessListener
  settings: RunSettings
  /** A new share from the harness to the target, its chunks served by the listener. */
  newShare(options?: NewShareOptions): HarnessShare
  /** POSTs a signed manifest to the target's EP-1. */
  offer(jws: string, note?: string): Promise<Exchange | TransportFailure>
  /** Adds a line to the test's result (shown in every report). */
  note(text: string): void
  /** Ends the test as skipped. */
  skip(reason: string): never
}

/** Thrown by `ctx.skip`. */
export class SkipTest extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'SkipTest'
  }
}
