/**
 * The whole suite, in running order.
 *
 * @module
 */
import type { ConformanceTest } from './suite.ts'
import {
  BATCH_TESTS,
  CHAIN_TESTS,
  EDGES_TESTS,
  POSSESSION_TESTS,
  RECEIVER_TESTS,
  RECIPIENT_TESTS,
  REFUSAL_TESTS,
  REVISION_TESTS,
  REVOCATION_TESTS,
  ROBUSTNESS_TESTS,
  SENDER_TESTS,
  SPECTEXT_TESTS,
  TRANSPORT_TESTS,
  VERSION_TESTS,
} from './tests/index.ts'

export const ALL_TESTS: readonly ConformanceTest[] = [
  ...TRANSPORT_TESTS,
  ...EDGES_TESTS,
  ...RECEIVER_TESTS,
  ...POSSESSION_TESTS,
  ...REFUSAL_TESTS,
  ...REVISION_TESTS,
  ...CHAIN_TESTS,
  ...RECIPIENT_TESTS,
  ...REVOCATION_TESTS,
  ...SENDER_TESTS,
  ...BATCH_TESTS,
  ...VERSION_TESTS,
  ...ROBUSTNESS_TESTS,
  ...SPECTEXT_TESTS,
]
