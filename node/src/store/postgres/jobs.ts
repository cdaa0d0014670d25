/**
 * The job queue of the PostgreSQL metadata store, shared by every replica: the statements of
 * the SQLite store's queue (`../sqlite/statements.ts`) with the same semantics, made safe for
 * several writers. A claim locks the rows it takes with `FOR UPDATE SKIP LOCKED`, so two
 * replicas claiming at once take different jobs and neither waits for the other; a lease that
 * ran out is re-checked under the row lock, so a job is taken over once. Every other change of a
 * job names its owner (`claimed_by`) and state in its WHERE clause, so a replica that lost its
 * lease changes nothing.
 *
 * @module
 */
import { insert } from './statements.ts'

const JOB_COLUMNS = ['id', 'kind', 'ref', 'payload', 'state', 'attempts', 'run_at', 'last_error', 'created_at', 'updated_at', 'claimed_by', 'lease_until']

export const JOB_SQL = {
  /** Only uniqueness conflicts are ignored (a live duplicate, or the same id again). */
  enqueueJob: insert('jobs', JOB_COLUMNS) + ' ON CONFLICT DO NOTHING',
  /** A job whose lease ran out while a newer one of its kind and ref waits is superseded by it. */
  supersedeExpiredJobs: `
    UPDATE jobs SET state = 'done', last_error = 'superseded by a newer job', updated_at = :now, claimed_by = NULL, lease_until = NULL
    WHERE state = 'running' AND lease_until < :now
      AND EXISTS (SELECT 1 FROM jobs AS p WHERE p.state = 'pending' AND p.kind = jobs.kind AND p.ref = jobs.ref)`,
  // Due pending jobs whose kind and ref has none running, and running jobs whose lease ran out
  // (their replica died): the claim counts an attempt and takes the lease.
  claimDueJobs: `
    UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = :now, claimed_by = :owner, lease_until = :lease_until
    WHERE id IN (
      SELECT id FROM jobs AS p
      WHERE ((state = 'pending' AND run_at <= :now
              AND NOT EXISTS (SELECT 1 FROM jobs AS r WHERE r.state = 'running' AND r.kind = p.kind AND r.ref = p.ref))
          OR (state = 'running' AND lease_until < :now))
        AND (:kinds::text[] IS NULL OR kind = ANY(:kinds::text[]))
      ORDER BY run_at, seq LIMIT :limit
      FOR UPDATE SKIP LOCKED
    )
    RETURNING *`,
  renewJobLease: "UPDATE jobs SET lease_until = :lease_until WHERE id = :id AND state = 'running' AND claimed_by = :owner",
  completeJob:
    "UPDATE jobs SET state = 'done', updated_at = :at, claimed_by = NULL, lease_until = NULL WHERE id = :id AND state = 'running' AND claimed_by = :owner",
  failJob: `
    UPDATE jobs SET state = :state, last_error = :error, run_at = :run_at, updated_at = :at, claimed_by = NULL, lease_until = NULL
    WHERE id = :id AND state = 'running' AND claimed_by = :owner`,
  jobExists: 'SELECT 1 AS found FROM jobs WHERE id = :id',
  /** A failed job whose (kind, ref) already has a pending successor is superseded by it. */
  hasPendingSibling: `
    SELECT 1 AS found FROM jobs AS p JOIN jobs AS j ON j.kind = p.kind AND j.ref = p.ref
    WHERE j.id = :id AND p.state = 'pending' AND p.id <> j.id LIMIT 1`,
  supersedeRunningJobs: `
    UPDATE jobs SET state = 'done', last_error = 'superseded by a newer job', updated_at = :at, claimed_by = NULL, lease_until = NULL
    WHERE state = 'running' AND (claimed_by = :owner OR claimed_by IS NULL)
      AND EXISTS (SELECT 1 FROM jobs AS p WHERE p.state = 'pending' AND p.kind = jobs.kind AND p.ref = jobs.ref)`,
  /** Only the restarting replica's own jobs: another replica's running jobs are left to their leases. */
  resetRunningJobs: `
    UPDATE jobs SET state = 'pending', updated_at = :at, claimed_by = NULL, lease_until = NULL
    WHERE state = 'running' AND (claimed_by = :owner OR claimed_by IS NULL)`,
  listJobs: 'SELECT * FROM jobs ORDER BY created_at, seq',
  listJobsOfRef: 'SELECT * FROM jobs WHERE ref = :ref ORDER BY created_at, seq',
  /**
   * Jobs whose last attempt failed: live ones (retrying) and dead ones that no later job of the
   * same kind and ref took over, oldest first.
   */
  listFailingJobs: `
    SELECT * FROM jobs AS j
    WHERE state <> 'done'
      AND (
        (state IN ('pending', 'running') AND last_error IS NOT NULL)
        OR (state = 'dead' AND NOT EXISTS (SELECT 1 FROM jobs AS later WHERE later.ref = j.ref AND later.kind = j.kind AND later.seq > j.seq))
      )
    ORDER BY created_at, seq`,
} as const
