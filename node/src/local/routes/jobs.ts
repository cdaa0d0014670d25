/**
 * The job queue as an operator sees it: the jobs whose last attempt failed, retrying or dead
 * (`operations/failing_jobs.ts`). Administrators only: it names partners and shares of every case.
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { failingJobs } from '../../operations/failing_jobs.ts'
import { problems, ref, type LocalApi } from '../schemas.ts'

export function jobRoutes(app: LocalApi, ctx: NodeContext): void {
  app.get(
    '/jobs/failing',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['operations'],
        summary: 'Jobs whose last attempt failed, oldest first: those the node will try again (retrying) and those it gave up on (dead)',
        description:
          'A dead job that a later job of the same kind and subject replaced (a later revision offered, say) is not listed. ' +
          'A share or external case reads retrying or failed from the same jobs (CW-LOC-030).',
        response: {
          200: { description: 'The failing jobs', type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: ref('FailingJob') } } },
          ...problems(403),
        },
      },
    },
    async () => failingJobs(ctx),
  )
}
