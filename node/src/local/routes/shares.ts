/**
 * Outbound shares: share a case, folders or evidence with a partner; follow their status.
 *
 * @module
 */
import { CasewayError } from '#protocol'
import type { NodeContext } from '../../context.ts'
import { createShare, getShare, listSharePage } from '../../sending/share_case.ts'
import { describeShare } from '../../sending/share_view.ts'
import { requireCaseAccess, requireShareAccess } from '../../access/case_access.ts'
import { MAX_ID_LENGTH, MAX_REASON_LENGTH, SHARE_LIMITS } from '../../limits.ts'
import { revokeShare } from '../../revocation/revoke_share.ts'
import { userActor } from '../../events.ts'
import { principalOf } from '../auth.ts'
import { inputSchemas, paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'
import { NEXT_CURSOR, PAGE_LIMIT, PAGE_QUERY, nextCursor, pageRequest } from '../paging.ts'

/** The list tag of share cursors. */
const SHARE_LIST = 'shares'

export function shareRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
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
            caseId: { type: 'string', maxLength: MAX_ID_LENGTH },
            partnerOrg: inputSchemas.orgId,
            scope: { enum: ['case', 'folders', 'evidence'] },
            folderIds: { type: 'array', maxItems: SHARE_LIMITS.maxFolderIds, uniqueItems: true, items: { type: 'string', maxLength: MAX_ID_LENGTH } },
            evidenceIds: { type: 'array', maxItems: SHARE_LIMITS.maxEvidenceIds, items: { type: 'string', maxLength: MAX_ID_LENGTH } },
            message: { type: 'string', maxLength: SHARE_LIMITS.maxMessageLength },
            recipients: { type: 'array', maxItems: SHARE_LIMITS.maxRecipients, items: ref('Recipient') },
            expiresInSeconds: {
              type: 'integer',
              minimum: 1,
              description:
                "How long the share lasts, in seconds from now. The node's configured share duration (transfers.shareDurationSeconds) and the " +
                "partner's policy (maxDurationSeconds) still bound it: the share expires at the earliest of the three (expiresAt).",
            },
          },
        },
        response: { 201: ref('Share', 'The share, processing; the offer to the partner is queued'), ...problems(400, 403, 404, 409, 413) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request)
      await requireCaseAccess(ctx, principal, request.body.caseId, 'write', 'share.create')
      let created: Awaited<ReturnType<typeof createShare>>
      try {
        created = await createShare(ctx, { ...request.body, createdBy: principal.userId })
      } catch (error) {
        // A share the policy or the case refuses (do-not-disclose, excluded category, …) is on the case's record.
        if (error instanceof CasewayError) {
          const actor = userActor(principal.userId)
          await ctx.record({ type: 'action.refused', caseId: request.body.caseId, actor, action: 'share.create', code: error.code })
        }
        throw error
      }
      return reply.code(201).send(await describeShare(ctx, created.share))
    },
  )

  app.get(
    '/shares',
    {
      schema: {
        tags: ['shares'],
        summary: 'List the shares of a case, with their status, page by page',
        description: `Newest first. At most \`limit\` per page (${PAGE_LIMIT.default} unless given, at most ${PAGE_LIMIT.max}); pass \`next\` as \`cursor\` for the next page (CW-LOC-054).`,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['caseId'],
          properties: { caseId: { type: 'string', maxLength: MAX_ID_LENGTH }, ...PAGE_QUERY.properties },
        },
        response: {
          200: {
            description: 'A page of the shares of the case',
            type: 'object',
            required: ['shares', 'next'],
            properties: { shares: { type: 'array', items: ref('Share') }, next: NEXT_CURSOR },
          },
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      await requireCaseAccess(ctx, principalOf(request), request.query.caseId, 'read', 'share.list')
      const page = await listSharePage(ctx, request.query.caseId, pageRequest(SHARE_LIST, request.query))
      return { shares: await Promise.all(page.items.map((share) => describeShare(ctx, share))), next: nextCursor(SHARE_LIST, page.next) }
    },
  )

  app.get(
    '/shares/:id',
    {
      schema: {
        tags: ['shares'],
        summary: 'Read a share: its status (processing, retrying, delivered, rejected with the reason, …), progress and what the policy held back',
        params: paramsSchemas.id,
        response: { 200: ref('Share', 'The share and its status'), ...problems(400, 404) },
      },
    },
    async (request) => {
      await requireShareAccess(ctx, principalOf(request), request.params.id, 'read', 'share.read')
      return describeShare(ctx, await getShare(ctx, request.params.id))
    },
  )

  app.post(
    '/shares/:id/revoke',
    {
      schema: {
        tags: ['shares'],
        summary: 'Revoke a share: the partner loses access at once, and so does every share it derived from it',
        description:
          'The share is revoked at once: from then on its chunks are refused (CW-REV-002). A signed revocation, with the optional reason, ' +
          'is sent to the partner until it takes it, also if the partner is offline now (CW-REV-005). Revoking a revoked share changes nothing.',
        params: paramsSchemas.id,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', maxLength: MAX_REASON_LENGTH, description: 'Why; told to the partner.' } },
        },
        response: { 200: ref('Share', 'The share, revoked'), ...problems(400, 403, 404) },
      },
      // The body is optional: none means no reason.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {}
      },
    },
    async (request) => {
      const principal = principalOf(request)
      await requireShareAccess(ctx, principal, request.params.id, 'write', 'share.revoke')
      const { share } = await revokeShare(ctx, request.params.id, { actor: userActor(principal.userId), reason: request.body?.reason ?? null })
      return describeShare(ctx, share)
    },
  )
}
