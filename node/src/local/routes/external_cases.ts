/**
 * External cases: what partners shared with us. The sender's policy decides what our users may
 * do (SPEC.md CW-POL-006).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { NodeContext } from '../../context.ts'
import { getExternalCase, listExternalCases, openExternalEvidence } from '../../services/external.ts'
import { DOWNLOAD_RESPONSE, sendDownload } from '../download.ts'
import { paramsSchemas, problems, ref } from '../schemas.ts'

export function externalCaseRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.get(
    '/external-cases',
    {
      schema: {
        tags: ['external cases'],
        summary: 'List the cases partners shared with us, each marked with the sharing organization',
        response: {
          200: { description: 'The external cases', type: 'object', required: ['externalCases'], properties: { externalCases: { type: 'array', items: ref('ExternalCaseSummary') } } },
          ...problems(),
        },
      },
    },
    async () => ({ externalCases: await listExternalCases(ctx) }),
  )

  app.get<{ Params: { id: string } }>(
    '/external-cases/:id',
    {
      schema: {
        tags: ['external cases'],
        summary: "Read an external case: its fields, folders, evidence and the sender's policy",
        params: paramsSchemas.id,
        response: { 200: ref('ExternalCase', 'The external case'), ...problems(400, 404, 410) },
      },
    },
    async (request) => getExternalCase(ctx, request.params.id),
  )

  app.get<{ Params: { id: string; itemId: string } }>(
    '/external-cases/:id/evidence/:itemId/content',
    {
      exposeHeadRoute: false,
      schema: {
        tags: ['external cases'],
        summary: "Download evidence of an external case, if the sender's policy permits download",
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'itemId'],
          properties: { id: paramsSchemas.id.properties.id, itemId: { type: 'string', minLength: 1, maxLength: 128 } },
        },
        response: { 200: DOWNLOAD_RESPONSE, ...problems(400, 403, 404, 409, 410) },
      },
    },
    async (request, reply) => {
      const { evidence, stream } = await openExternalEvidence(ctx, request.params.id, request.params.itemId)
      return sendDownload(reply, evidence, stream)
    },
  )
}
