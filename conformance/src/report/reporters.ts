/**
 * Report formats by name: `human`, `tap`, `junit`, `json`.
 *
 * @module
 */
import type { RunReport } from '../runner.ts'
import { humanReport } from './human.ts'
import { junitReport } from './junit.ts'
import { tapReport } from './tap.ts'

export const REPORTERS = {
  human: humanReport,
  tap: tapReport,
  junit: junitReport,
  json: (report: RunReport) => JSON.stringify(report, null, 2),
} as const satisfies Record<string, (report: RunReport) => string>

export type ReporterName = keyof typeof REPORTERS
