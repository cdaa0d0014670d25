/**
 * The Caseway conformance harness: plays a partner organization against an implementation
 * of SPEC.md over mutual TLS and reports per requirement ID. Imports `protocol/` (and the
 * PKI tooling in `certs/`), never `node/`.
 *
 * @module
 */
export { initHarness, loadHarness, HARNESS_FILE, DEFAULT_HARNESS_ORG, DEFAULT_HARNESS_ENDPOINT, type Harness, type HarnessOrg } from './harness_dir.ts'
export { loadTarget, type Target } from './target.ts'
export { runConformance, TARGET_BUNDLE_FILE, type ConformanceRunOptions } from './run.ts'
export { runTests, selectTests, type RunReport, type TestResult, type Outcome } from './runner.ts'
export { ALL_TESTS } from './all_tests.ts'
export { SUITE_GROUPS, type ConformanceTest, type SuiteGroup, type TestContext } from './suite.ts'
export { REPORTERS, humanReport, type ReporterName } from './report/index.ts'
export { listTests, listText, type ListedTest } from './list.ts'
export { RETRY_POLICY } from './client.ts'
