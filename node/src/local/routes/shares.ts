/**
 * Outbound shares: share a case, folders or evidence with a partner; follow their status.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { Recipient } from '#protocol'
import type { NodeContext } from '../../context.ts'
import type { ShareScope } from '../../store/metadata_store.ts'
import { createShare, getShare, listShares } from '../../services/outbound.ts'
import { requireCaseAccess, requireShareAccess } from '../../services/access.ts'
import { principalOf } from '../auth.ts'
import { inputSchemas, paramsSchemas, problems, ref } from '../schemas.ts'

interface ShareBody {
  caseId: string
  partnerOrg: string
  scope: ShareScope
  folderIds?: string[]
  evidenceIds?: string[]
  message?: string
  recipients?: Recipient[]
}

export function shareRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.post<{ Body: ShareBody }>(
    '/shares',
    {
      schema: {
        tags: ['shares'],
        summary: "Share the entire case, selected folders or a subset of evidence with a partner, under the partner's policy",
        description:
          'Do-not-disclose evidence is never shared: naming it is refused (CW_ERR_DO_NOT_DISCLOSE); a case or folder share leaves it out. ' +
          'Evidence or attachments the policy excludes are refused when named (CW_ERR_POLICY_VIOLATION) and left out otherwise.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['caseId', 'partnerOrg', 'scope'],
          properties: {
            caseId: { type: 'string', maxLength: 128 },
            partnerOrg: inputSchemas.orgId,
            scope: { enum: ['case', 'folders', 'evidence'] },
            folderIds: { type: 'array', maxItems: 10000, uniqueItems: true, items: { type: 'string', maxLength: 128 } },
            evidenceIds: { type: 'array', maxItems: 100000, items: { type: 'string', maxLength: 128 } },
            message: { type: 'string', maxLength: 4000 },
            recipients: { type: 'array', maxItems: 1000, items: ref('Recipient') },
          },
        },
        response: { 201: ref('Share', 'The share, processing; the offer to the partner is queued'), ...problems(400, 403, 404, 409, 413) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request)
      await requireCaseAccess(ctx, principal, request.body.caseId, 'write', 'share.create')
      const { share } = await createShare(ctx, { ...request.body, createdBy: principal.userId })
      return reply.code(201).send(share)
    },
  )

  app.get<{ Querystring: { caseId: string } }>(
    '/shares',
    {
      schema: {
        tags: ['shares'],
        summary: 'List the shares of a case, with their status',
        querystring: { type: 'object', additionalProperties: false, required: ['caseId'], properties: { caseId: { type: 'string', maxLength: 128 } } },
        response: {
          200: { description: 'The shares of the case', type: 'object', required: ['shares'], properties: { shares: { type: 'array', items: ref('Share') } } },
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      await requireCaseAccess(ctx, principalOf(request), request.query.caseId, 'read', 'share.list')
      return { shares: await listShares(ctx, request.query.caseId) }
    },
  )

  app.get<{ Params: { id: string } }>(
    '/shares/:id',
    {
      schema: {
        tags: ['shares'],
        summary: 'Read a share and its status (processing, delivered, rejected with the reason, …)',
        params: paramsSchemas.id,
        response: { 200: ref('Share', 'The share and its status'), ...problems(400, 404) },
      },
    },
    async (request) => {
      await requireShareAccess(ctx, principalOf(request), request.params.id, 'read', 'share.read')
      return getShare(ctx, request.params.id)
    },
  )
}
