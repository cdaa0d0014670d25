/**
 * Whether a job will still run: what a share or external case reads to say `retrying` rather
 * than `failed` (SPEC.md CW-LOC-030).
 *
 * @module
 */
import type { JobRecord } from '../store/metadata_store.ts'

/** The job of `kind` that is still to run or running, if any (one at most per kind and ref). */
export function liveJob(jobs: readonly JobRecord[], kind: string): JobRecord | undefined {
  return jobs.find((job) => job.kind === kind && (job.state === 'pending' || job.state === 'running'))
}
