/**
 * External cases: what partners shared with us. Only the share's recipients see one (SPEC.md
 * CW-LOC-001); the sender's policy decides what they may do (CW-POL-006, CW-LOC-003).
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { MAX_ID_LENGTH, SHARE_LIMITS } from '../../limits.ts'
import { findExternalEvidence, getExternalCase, listExternalCases } from '../../receiving/external_cases.ts'
import { importExternalCase } from '../../receiving/import_case.ts'
import { addExternalRecipients } from '../../receiving/added_recipients.ts'
import { shareOnward, type OnwardShareInput } from '../../sending/share_onward.ts'
import { describeShare } from '../../sending/share_view.ts'
import { principalOf } from '../auth.ts'
import { openChunks } from '../../cases/evidence.ts'
import { userActor } from '../../events.ts'
import { DOWNLOAD_RESPONSE, PARTIAL_DOWNLOAD_RESPONSE, sendDownload } from '../download.ts'
import { ADDED_RECIPIENTS, inputSchemas, paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'
import { NEXT_CURSOR, PAGE_LIMIT, PAGE_QUERY, nextCursor, pageRequest } from '../paging.ts'

/** The list tag of external-case cursors. */
const EXTERNAL_CASE_LIST = 'external-cases'

/** Body of adding recipients on the receiving side: users or groups of this organization (CW-LOC-025). */
export const ADD_RECIPIENTS_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['recipients'],
  properties: {
    recipients: {
      type: 'array',
      minItems: 1,
      maxItems: SHARE_LIMITS.maxRecipients,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'id'],
        properties: { kind: { enum: ['user', 'group'] }, id: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } },
      },
    },
  },
} as const

/** Answer of adding recipients: who this call added and every recipient added so far. */
export const ADDED_RECIPIENTS_ANSWER = {
  description: 'Recipients added (those the external case had already are left out of added)',
  type: 'object',
  required: ['inboundId', 'added', 'addedRecipients'],
  properties: {
    inboundId: { type: 'string' },
    added: { type: 'array', items: { type: 'object', required: ['kind', 'id'], properties: { kind: { enum: ['user', 'group'] }, id: { type: 'string' } } } },
    addedRecipients: ADDED_RECIPIENTS,
  },
} as const

export function externalCaseRoutes(app: LocalApi, ctx: NodeContext): void {
  app.get(
    '/external-cases',
    {
      schema: {
        tags: ['external cases'],
        summary: 'List the cases partners shared with the caller (as a recipient), each marked with the sharing organization, page by page',
        description:
          'Newest first; an administrator sees every external case, those it is not a recipient of with access "administration" (metadata only). ' +
          `At most \`limit\` per page (${PAGE_LIMIT.default} unless given, at most ${PAGE_LIMIT.max}); pass \`next\` as \`cursor\` for the next page (CW-LOC-054).`,
        querystring: PAGE_QUERY,
        response: {
          200: {
            description: 'A page of the external cases',
            type: 'object',
            required: ['externalCases', 'next'],
            properties: { externalCases: { type: 'array', items: ref('ExternalCaseSummary') }, next: NEXT_CURSOR },
          },
          ...problems(400),
        },
      },
    },
    async (request) => {
      const page = await listExternalCases(ctx, principalOf(request), pageRequest(EXTERNAL_CASE_LIST, request.query))
      return { externalCases: page.externalCases, next: nextCursor(EXTERNAL_CASE_LIST, page.next) }
    },
  )

  app.get(
    '/external-cases/:id',
    {
      schema: {
        tags: ['external cases'],
        summary: "Read an external case: its fields, folders, evidence and the sender's policy",
        description: 'Recipients only; an administrator who is not a recipient gets the metadata without case, evidence and message. Anyone else: 404.',
        params: paramsSchemas.id,
        response: { 200: ref('ExternalCase', 'The external case'), ...problems(400, 404, 410) },
      },
    },
    async (request) => getExternalCase(ctx, principalOf(request), request.params.id),
  )

  app.route({
    // spec: CW-LOC-027 — with fastify's HEAD twin of the route (`exposeHeadRoute`, not in the
    // OpenAPI document): the handler sees `HEAD` and answers the headers a GET would, no bytes.
    method: 'GET',
    url: '/external-cases/:id/evidence/:itemId/content',
    schema: {
      tags: ['external cases'],
      summary: "Download evidence of an external case (or one byte range of it), if the sender's policy permits download",
      description: 'Range (one bytes range), If-Range with the ETag (the digest) and HEAD are supported (CW-LOC-027, CW-LOC-028).',
      params: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'itemId'],
        properties: { id: paramsSchemas.id.properties.id, itemId: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } },
      },
      response: { 200: DOWNLOAD_RESPONSE, 206: PARTIAL_DOWNLOAD_RESPONSE, ...problems(400, 403, 404, 409, 410, 416) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request)
      const { caseId, evidence } = await findExternalEvidence(ctx, principal, request.params.id, request.params.itemId)
      return sendDownload(
        request,
        reply,
        evidence,
        (range) => openChunks(ctx, evidence.chunks, range === undefined ? undefined : { range, chunkSize: evidence.chunkSize }),
        (bytes) => ctx.record({ type: 'evidence.downloaded', caseId, actor: userActor(principal.userId), evidenceId: evidence.id, bytes }),
      )
    },
  })

  app.post(
    '/external-cases/:id/import',
    {
      schema: {
        tags: ['external cases'],
        summary: "Import an external case as a local case, if the sender's policy permits import",
        description:
          'Recipients only. The new case is owned by the importer, holds the shared fields and folders, and its evidence points at the received chunks (no copy). ' +
          'An external case is imported once: importing it again answers 200 with the same case (409 to a recipient who may not read that case).',
        params: paramsSchemas.id,
        response: {
          201: ref('Case', 'The imported case'),
          200: ref('Case', 'The case imported before'),
          ...problems(400, 403, 404, 409, 410),
        },
      },
    },
    async (request, reply) => {
      const result = await importExternalCase(ctx, principalOf(request), request.params.id)
      return reply.code(result.created ? 201 : 200).send(result.case)
    },
  )
  app.post(
    '/external-cases/:id/recipients',
    {
      schema: {
        tags: ['external cases'],
        summary: "Add users or groups of this organization as recipients of an external case, if the sender's policy permits it (CW-LOC-025)",
        description:
          'Recipients and administrators only (anyone else: 404). The policy must permit addRecipients (else 403 CW_ERR_ACTION_NOT_ALLOWED, recorded as a refused action); ' +
          'each recipient must be an enabled user or an existing group of this node. Recorded on the external case and on the case imported from it; the added recipients are notified like the first ones.',
        params: paramsSchemas.id,
        body: ADD_RECIPIENTS_BODY,
        response: { 200: ADDED_RECIPIENTS_ANSWER, ...problems(400, 403, 404, 410) },
      },
    },
    async (request) => addExternalRecipients(ctx, principalOf(request), request.params.id, request.body),
  )
  app.post(
    '/external-cases/:id/share-onward',
    {
      schema: {
        tags: ['external cases'],
        summary: "Share an external case onward to a further partner, if the sender's policy permits it (SPEC.md §11)",
        description:
          'Recipients only. The effective policy must allow shareOnward (maxDepth ≥ 1; CW_ERR_CHAIN_DEPTH_EXCEEDED), list the partner if it lists partners (CW_ERR_PARTNER_NOT_ALLOWED), ' +
          "and the onward policy (the partner's assigned policy, a stored version {id, version}, or an inline policy) must attenuate it (CW_ERR_POLICY_WIDENED). " +
          'An imported case is shared onward from its external case: POST /shares refuses it (409).',
        params: paramsSchemas.id,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['partnerOrg'],
          properties: {
            partnerOrg: inputSchemas.orgId,
            policy: {
              oneOf: [
                {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'version'],
                  properties: { id: { type: 'string', maxLength: MAX_ID_LENGTH }, version: { type: 'integer', minimum: 1 } },
                },
                { $ref: 'SharingPolicy#' },
              ],
            },
            evidenceIds: { type: 'array', maxItems: SHARE_LIMITS.maxEvidenceIds, items: { type: 'string', maxLength: MAX_ID_LENGTH } },
            message: { type: 'string', maxLength: SHARE_LIMITS.maxMessageLength },
            recipients: { type: 'array', maxItems: SHARE_LIMITS.maxRecipients, items: ref('Recipient') },
          },
        },
        response: { 201: ref('Share', 'The onward share, processing; the offer to the partner is queued'), ...problems(400, 403, 404, 409, 410, 413) },
      },
    },
    async (request, reply) => {
      // An inline policy was validated against the protocol's SharingPolicy schema, a JSON file that TypeScript sees as `unknown`.
      const policy = request.body.policy as OnwardShareInput['policy']
      const created = await shareOnward(ctx, principalOf(request), { ...request.body, policy, inboundId: request.params.id })
      return reply.code(201).send(await describeShare(ctx, created.share))
    },
  )
}
