/**
 * The whole suite, in running order.
 *
 * @module
 */
import type { ConformanceTest } from './suite.ts'
import { EDGES_TESTS } from './tests/index.ts'
import { CHAIN_TESTS, RECEIVER_TESTS, REFUSAL_TESTS, REVISION_TESTS, REVOCATION_TESTS, ROBUSTNESS_TESTS, SENDER_TESTS, TRANSPORT_TESTS } from './tests/index.ts'

export const ALL_TESTS: readonly ConformanceTest[] = [
  ...TRANSPORT_TESTS,
  ...EDGES_TESTS,
  ...RECEIVER_TESTS,
  ...REFUSAL_TESTS,
  ...REVISION_TESTS,
  ...CHAIN_TESTS,
  ...REVOCATION_TESTS,
  ...SENDER_TESTS,
  ...ROBUSTNESS_TESTS,
]
