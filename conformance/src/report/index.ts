/**
 * Reports of a conformance run.
 *
 * @module
 */
export { REPORTERS, type ReporterName } from './reporters.ts'
export { humanReport, describeFailure, progressLine, requirementGroup } from './human.ts'
export { junitReport } from './junit.ts'
export { tapReport } from './tap.ts'
