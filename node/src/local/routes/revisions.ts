/**
 * Revisions and updates (SPEC.md §10 "Revisions"): on the sender, a new revision of a share on
 * request and added recipients; on the receiver, the updates available on an external case and
 * applying the ones a recipient selects.
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { MAX_ID_LENGTH, SHARE_LIMITS } from '../../limits.ts'
import { userActor } from '../../events.ts'
import { requireShareAccess } from '../../access/case_access.ts'
import { addRecipients, updateShare } from '../../sending/revisions.ts'
import { describeShare } from '../../sending/share_view.ts'
import { applyUpdates, listUpdates } from '../../receiving/updates.ts'
import { principalOf } from '../auth.ts'
import { paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'

const fieldValue = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, { type: 'null' }] }
const itemFacts = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'size', 'digest'],
  properties: { name: { type: 'string' }, size: { type: 'integer' }, digest: { type: 'string' } },
}

const UPDATES_SCHEMA = {
  description: 'For each pending revision, its differences against what the external case shows',
  type: 'object',
  additionalProperties: false,
  required: ['appliedRevision', 'updates'],
  properties: {
    appliedRevision: { type: 'integer' },
    updates: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['revision', 'receivedAt', 'transfer', 'case', 'evidence'],
        properties: {
          revision: { type: 'integer' },
          receivedAt: { type: 'integer' },
          transfer: { enum: ['receiving', 'verified', 'rejected'] },
          case: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['updateId', 'field', 'old', 'new'],
              properties: { updateId: { type: 'string' }, field: { type: 'string' }, old: fieldValue, new: fieldValue },
            },
          },
          evidence: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['updateId', 'change', 'itemId', 'name', 'size', 'digest'],
              properties: {
                updateId: { type: 'string' },
                change: { enum: ['added', 'removed', 'modified'] },
                itemId: { type: 'string' },
                name: { type: 'string' },
                size: { type: 'integer' },
                digest: { type: 'string' },
                previous: itemFacts,
              },
            },
          },
        },
      },
    },
  },
} as const

export function revisionRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/shares/:id/update',
    {
      schema: {
        tags: ['shares'],
        summary: 'Make a new revision of a share now (an evidence share is not live); with evidenceIds, add items to an evidence share',
        params: paramsSchemas.id,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { evidenceIds: { type: 'array', maxItems: SHARE_LIMITS.maxEvidenceIds, items: { type: 'string', maxLength: MAX_ID_LENGTH } } },
        },
        response: { 200: ref('Share', 'The share at its new revision, processing'), ...problems(400, 403, 404, 409, 413) },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      await requireShareAccess(ctx, principal, request.params.id, 'write', 'share.update')
      return describeShare(ctx, await updateShare(ctx, request.params.id, request.body ?? {}, userActor(principal.userId)))
    },
  )

  app.post(
    '/shares/:id/recipients',
    {
      schema: {
        tags: ['shares'],
        summary: 'Add recipients at the partner organization: a new revision names them',
        params: paramsSchemas.id,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['recipients'],
          properties: { recipients: { type: 'array', minItems: 1, maxItems: SHARE_LIMITS.maxRecipients, items: ref('Recipient') } },
        },
        response: { 200: ref('Share', 'The share at its new revision, processing'), ...problems(400, 403, 404, 409, 413) },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      await requireShareAccess(ctx, principal, request.params.id, 'write', 'share.recipients')
      return describeShare(ctx, await addRecipients(ctx, request.params.id, request.body, userActor(principal.userId)))
    },
  )

  app.get(
    '/external-cases/:id/updates',
    {
      schema: {
        tags: ['external cases'],
        summary: 'Updates available: case-level and evidence-level changes of each pending revision',
        description: 'Recipients only. The external case keeps showing the applied state until updates are applied.',
        params: paramsSchemas.id,
        response: { 200: UPDATES_SCHEMA, ...problems(400, 404, 410) },
      },
    },
    async (request) => listUpdates(ctx, principalOf(request), request.params.id),
  )

  app.post(
    '/external-cases/:id/updates/apply',
    {
      schema: {
        tags: ['external cases'],
        summary: "Apply the selected updates of a pending revision (all when updateIds is omitted), if the sender's policy permits applyUpdates",
        description: 'Recipients only. An imported case receives the same changes. 409 while the revision is still being received.',
        params: paramsSchemas.id,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['revision'],
          properties: {
            revision: { type: 'integer', minimum: 2 },
            updateIds: { type: 'array', maxItems: 200000, uniqueItems: true, items: { type: 'string', maxLength: 300 } },
          },
        },
        response: {
          200: {
            description: 'What was applied',
            type: 'object',
            additionalProperties: false,
            required: ['revision', 'applied', 'remaining', 'importedCaseId'],
            properties: {
              revision: { type: 'integer' },
              applied: { type: 'array', items: { type: 'string' } },
              remaining: { type: 'integer' },
              importedCaseId: { type: ['string', 'null'] },
            },
          },
          ...problems(400, 403, 404, 409, 410),
        },
      },
    },
    async (request) => applyUpdates(ctx, principalOf(request), request.params.id, request.body),
  )
}
