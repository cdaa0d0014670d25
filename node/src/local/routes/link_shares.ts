/**
 * Link shares (SPEC.md §22, CW-LOC-032…CW-LOC-035): share a case as a downloadable package
 * (ZIP, TAR or ISO) with one recipient, follow its status, download it (Range, If-Range, HEAD),
 * revoke it.
 *
 * @module
 */
import { CasewayError } from '#protocol'
import type { NodeContext } from '../../context.ts'
import { userActor } from '../../events.ts'
import { MAX_ID_LENGTH, SHARE_LIMITS } from '../../limits.ts'
import { requireCaseAccess } from '../../access/case_access.ts'
import { createLinkShare, describeLinkShare, listLinkShares, requireDownloadable, requireLinkShare, revokeLinkShare } from '../../links/link_shares.ts'
import { servePackage } from '../../links/serve_package.ts'
import { principalOf } from '../auth.ts'
import { DOWNLOAD_RESPONSE, PARTIAL_DOWNLOAD_RESPONSE } from '../download.ts'
import { paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'

const LINK_SHARE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['recipient', 'scope', 'format'],
  properties: {
    recipient: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'value'],
      description: 'An e-mail address; a user or group of ours (its id); a user or group of a partner ("<partner org>/<id>").',
      properties: {
        kind: { enum: ['email', 'local-user', 'local-group', 'partner-user', 'partner-group'] },
        value: { type: 'string', minLength: 1, maxLength: SHARE_LIMITS.maxRecipientIdLength },
      },
    },
    scope: { enum: ['case', 'folders', 'evidence'] },
    folderIds: { type: 'array', maxItems: SHARE_LIMITS.maxFolderIds, uniqueItems: true, items: { type: 'string', maxLength: MAX_ID_LENGTH } },
    evidenceIds: { type: 'array', maxItems: SHARE_LIMITS.maxEvidenceIds, items: { type: 'string', maxLength: MAX_ID_LENGTH } },
    format: { enum: ['zip', 'tar', 'iso'] },
    retainFolderStructure: { type: 'boolean', default: true, description: 'Evidence in its folders (default), or flat with collision-free names.' },
    attachments: {
      type: 'object',
      additionalProperties: false,
      properties: {
        auditTrail: { type: 'boolean', default: false, description: "The case's hash-chained audit trail, and a readable rendering." },
        tableOfContents: { type: 'boolean', default: true, description: 'table-of-contents.html and .csv.' },
        transcripts: {
          type: 'boolean',
          default: true,
          description: "Each item's transcript (an attachment of it that is text/plain or text/vtt) under transcripts/, instead of as an item of its own.",
        },
      },
    },
    message: { type: 'string', maxLength: SHARE_LIMITS.maxMessageLength },
    expiresInSeconds: { type: 'integer', minimum: 60, description: 'How long the link lasts; cut to links.maxDurationSeconds.' },
  },
} as const

export function linkShareRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/cases/:id/link-shares',
    {
      schema: {
        tags: ['link shares'],
        summary: 'Share the entire case, selected folders or evidence as a package (ZIP, TAR or ISO) with one recipient',
        description:
          'The package is built in the background (status processing, then ready or failed). Do-not-disclose evidence is never included: ' +
          'naming it is refused (CW_ERR_DO_NOT_DISCLOSE). CW-LOC-032, CW-LOC-033.',
        params: paramsSchemas.id,
        body: LINK_SHARE_BODY,
        response: { 202: ref('LinkShare', 'The link share, processing'), ...problems(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request)
      const caseId = request.params.id
      await requireCaseAccess(ctx, principal, caseId, 'write', 'link.create')
      try {
        const link = await createLinkShare(ctx, { ...request.body, caseId, createdBy: principal.userId })
        return reply.code(202).send(describeLinkShare(ctx, link))
      } catch (error) {
        if (error instanceof CasewayError)
          await ctx.record({ type: 'action.refused', caseId, actor: userActor(principal.userId), action: 'link.create', code: error.code })
        throw error
      }
    },
  )

  app.get(
    '/cases/:id/link-shares',
    {
      schema: {
        tags: ['link shares'],
        summary: 'List the link shares of a case, with their status',
        params: paramsSchemas.id,
        response: {
          200: {
            description: 'The link shares',
            type: 'object',
            required: ['linkShares'],
            properties: { linkShares: { type: 'array', items: ref('LinkShare') } },
          },
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      await requireCaseAccess(ctx, principalOf(request), request.params.id, 'read', 'link.list')
      return { linkShares: (await listLinkShares(ctx, request.params.id)).map((link) => describeLinkShare(ctx, link)) }
    },
  )

  app.get(
    '/link-shares/:id',
    {
      schema: {
        tags: ['link shares'],
        summary: 'Read a link share: its status (processing, ready, failed with the reason, revoked, expired) and package',
        params: paramsSchemas.id,
        response: { 200: ref('LinkShare', 'The link share'), ...problems(400, 404) },
      },
    },
    async (request) => describeLinkShare(ctx, await requireLinkShare(ctx, principalOf(request), request.params.id, 'read')),
  )

  app.post(
    '/link-shares/:id/revoke',
    {
      schema: {
        tags: ['link shares'],
        summary: 'Revoke a link share: its package is refused from then on',
        description: 'Its creator, or the case owner, team or an administrator. Revoking a revoked link share changes nothing.',
        params: paramsSchemas.id,
        response: { 200: ref('LinkShare', 'The link share, revoked'), ...problems(400, 404) },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      const link = await requireLinkShare(ctx, principal, request.params.id, 'revoke')
      return describeLinkShare(ctx, await revokeLinkShare(ctx, link, { kind: 'user', id: principal.userId }))
    },
  )

  app.route({
    // With fastify's HEAD twin of the route: HEAD answers the headers a GET would.
    method: 'GET',
    url: '/link-shares/:id/package',
    schema: {
      tags: ['link shares'],
      summary: 'Download the package of a ready link share (or one byte range of it)',
      description:
        'Its creator, the case owner, team, administrators, or the local user or group it is for. Range (one bytes range), If-Range with the ETag ' +
        "(the signed manifest's digest) and HEAD resume a download; every download is on the case's audit trail. " +
        'A revoked or expired link share answers 410 (CW_ERR_SHARE_REVOKED, CW_ERR_SHARE_EXPIRED); one still processing or failed 409. CW-LOC-034, CW-LOC-035.',
      params: paramsSchemas.id,
      response: { 200: DOWNLOAD_RESPONSE, 206: PARTIAL_DOWNLOAD_RESPONSE, ...problems(400, 404, 409, 410, 416) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request)
      const actor = userActor(principal.userId)
      const link = await requireLinkShare(ctx, principal, request.params.id, 'download')
      try {
        requireDownloadable(ctx, link)
      } catch (error) {
        if (error instanceof CasewayError) await ctx.record({ type: 'action.refused', caseId: link.caseId, actor, action: 'link.download', code: error.code })
        throw error
      }
      return servePackage(ctx, request, reply, link, actor, 'local-api')
    },
  })
}
