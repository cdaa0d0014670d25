/**
 * The job-queue view of an operator on call (`GET /api/v1/jobs/failing`, `caseway status`):
 * every job whose last attempt failed — `retrying` while the runner will try it again, `dead`
 * once it gave up (out of attempts, or a failure retrying cannot mend) — with what it works on
 * and with which partner, so a partner that is down shows as its jobs, not as a mystery.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { JOB } from '../jobs/kinds.ts'
import type { JobRecord } from '../store/metadata_store.ts'

/** What a job works on: an outbound share (offer, revocation) or an external case (fetch, receipt, notifications). */
export interface JobSubject {
  type: 'share' | 'external-case'
  /** The share id or the external case id, as the local API names them. */
  id: string
  /** The partner on the other side: the share's recipient or the external case's sender (null once the record is gone). */
  partner: string | null
}

export interface FailingJob {
  id: string
  kind: string
  status: 'retrying' | 'dead'
  /** What the job works on; null for a kind this view does not know. */
  subject: JobSubject | null
  attempts: number
  lastError: string | null
  /** When the next attempt is due (Unix seconds) while retrying; null once dead. */
  nextAttemptAt: number | null
  createdAt: number
  updatedAt: number
}

export interface FailingJobs {
  jobs: FailingJob[]
}

export async function failingJobs(ctx: Pick<NodeContext, 'store'>): Promise<FailingJobs> {
  const records = await ctx.store.jobs.listFailing()
  // Many jobs of one share or external case (a notification per revision) share one lookup.
  const partners = new Map<string, Promise<string | null>>()
  function partnerOf(subject: Omit<JobSubject, 'partner'>): Promise<string | null> {
    const key = `${subject.type}/${subject.id}`
    let partner = partners.get(key)
    if (partner === undefined) {
      partner =
        subject.type === 'share'
          ? ctx.store.outboundShares.get(subject.id).then((share) => share?.partnerOrg ?? null)
          : ctx.store.inboundShares.get(subject.id).then((share) => share?.senderOrg ?? null)
      partners.set(key, partner)
    }
    return partner
  }
  const jobs = await Promise.all(
    records.map(async (job): Promise<FailingJob> => {
      const about = subjectOf(job)
      const dead = job.state === 'dead'
      return {
        id: job.id,
        kind: job.kind,
        status: dead ? 'dead' : 'retrying',
        subject: about === undefined ? null : { ...about, partner: await partnerOf(about) },
        attempts: job.attempts,
        lastError: job.lastError,
        nextAttemptAt: dead ? null : job.runAt,
        createdAt: job.createdAt,
        updatedAt: job.updatedAt,
      }
    }),
  )
  return { jobs }
}

/** The record a job's ref names (`jobs/kinds.ts`): a notification's ref is `<inbound id>:<revision or event>`. */
function subjectOf(job: JobRecord): Omit<JobSubject, 'partner'> | undefined {
  switch (job.kind) {
    case JOB.offer:
    case JOB.revoke:
      return { type: 'share', id: job.ref }
    case JOB.fetch:
    case JOB.receipt:
      return { type: 'external-case', id: job.ref }
    case JOB.notifyEmail:
    case JOB.notifyWebhook:
      return { type: 'external-case', id: job.ref.split(':')[0]! }
    default:
      return undefined
  }
}
