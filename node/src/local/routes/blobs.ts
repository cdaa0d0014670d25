/**
 * The blob store's lifecycle, for administrators: `POST /blobs/gc` runs a collection now
 * (`operations/blob_collector.ts`) — or, with `dryRun=true`, reports what one would free.
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { userActor } from '../../events.ts'
import { collectBlobs } from '../../operations/blob_collector.ts'
import { principalOf } from '../auth.ts'
import { problems, type LocalApi } from '../schemas.ts'

const count = (description: string) => ({ type: 'integer', minimum: 0, description }) as const

export function blobRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/blobs/gc',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['operations'],
        summary: 'Collect blobs now: delete the chunks no evidence, share in force or external case names, older than the grace period (CW-LOC-042)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { dryRun: { type: 'boolean', default: false, description: 'Delete nothing; report what a collection would free.' } },
        },
        response: {
          200: {
            description: 'What the collection found and freed',
            type: 'object',
            required: ['dryRun', 'examined', 'referenced', 'young', 'freed', 'bytesFreed'],
            properties: {
              dryRun: { type: 'boolean' },
              examined: count('Blobs in the store.'),
              referenced: count('Blobs a record names: kept.'),
              young: count('Blobs no record names, younger than storage.blobCollection.graceMs (an upload in progress): kept.'),
              freed: count('Blobs deleted (a dry run: that a collection would delete).'),
              bytesFreed: count('Their bytes.'),
            },
          },
          ...problems(400, 403),
        },
      },
    },
    async (request) => collectBlobs(ctx, { dryRun: request.query.dryRun, actor: userActor(principalOf(request).userId) }),
  )
}
