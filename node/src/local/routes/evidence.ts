/**
 * Evidence: streamed upload (the body is never buffered and has no size limit but the disk),
 * listing, streamed download, and deletion (its chunks go with the next blob collection).
 *
 * @module
 */
import { Readable } from 'node:stream'
import multipart, { type Multipart } from '@fastify/multipart'
import { RequestError, VerificationError } from '#protocol'
import type { NodeContext } from '../../context.ts'
import { MAX_ID_LENGTH, UPLOAD_BATCH_MAX_ITEMS, UPLOAD_BODY_LIMIT, UPLOAD_METADATA_MAX_BYTES } from '../../limits.ts'
import { userActor } from '../../events.ts'
import { principalOf } from '../auth.ts'
import { requireCaseAccess, requireEvidenceAccess } from '../../access/case_access.ts'
import {
  deleteEvidence,
  listEvidence,
  openChunks,
  uploadEvidence,
  uploadEvidenceBatch,
  type EvidenceMetadata,
  type EvidenceUploadItem,
} from '../../cases/evidence.ts'
import { DOWNLOAD_RESPONSE, PARTIAL_DOWNLOAD_RESPONSE, sendDownload } from '../download.ts'
import { BINARY, inputSchemas, paramsSchemas, problems, ref, type LocalApi, type LocalTypeProvider } from '../schemas.ts'

export const OCTET_STREAM = 'application/octet-stream'

export function evidenceRoutes(app: LocalApi, ctx: NodeContext): void {
  // The upload route lives in its own context: its only body parser hands the raw request
  // stream to the handler, without reading it and without a body limit.
  app.register(async (scope) => {
    const upload = scope.withTypeProvider<LocalTypeProvider>()
    upload.removeAllContentTypeParsers()
    upload.addContentTypeParser(OCTET_STREAM, (_request, payload, done) => done(null, payload))
    upload.post(
      '/cases/:id/evidence',
      {
        bodyLimit: UPLOAD_BODY_LIMIT,
        schema: {
          tags: ['evidence'],
          summary: 'Upload evidence: the body is the file (application/octet-stream), the metadata is in the query',
          params: paramsSchemas.id,
          querystring: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'category'],
            properties: {
              name: inputSchemas.evidenceName,
              category: inputSchemas.category,
              mediaType: { ...inputSchemas.mediaType, default: OCTET_STREAM },
              folderId: { type: 'string', maxLength: MAX_ID_LENGTH },
              doNotDisclose: { type: 'boolean', default: false, description: 'Never shared with any partner.' },
              attachmentOf: { type: 'string', maxLength: MAX_ID_LENGTH, description: 'The evidence this file is an attachment (transcript, note) of.' },
            },
          },
          body: { content: { [OCTET_STREAM]: { schema: BINARY } } },
          response: { 201: ref('Evidence', 'The stored evidence, with its size and SHA-256'), ...problems(400, 404, 413, 415) },
        },
      },
      async (request, reply) => {
        if (!(request.body instanceof Readable)) {
          throw new RequestError('CW_ERR_UNSUPPORTED_MEDIA_TYPE', `send the file as ${OCTET_STREAM}`)
        }
        // Authorized before a byte of the body is read.
        const principal = principalOf(request)
        await requireCaseAccess(ctx, principal, request.params.id, 'write', 'evidence.upload')
        const { name, category, mediaType, folderId, doNotDisclose, attachmentOf } = request.query
        const record = await uploadEvidence(
          ctx,
          request.params.id,
          { name, category, mediaType, folderId, doNotDisclose, attachmentOf },
          request.body,
          userActor(principal.userId),
        )
        return reply.code(201).send(record)
      },
    )
  })

  // spec: CW-LOC-056 — many items in one request (multipart/form-data): a `metadata` part, then
  // its `file` part, for each item. Streamed like the single upload; committed all together.
  app.register(async (scope) => {
    const batch = scope.withTypeProvider<LocalTypeProvider>()
    batch.removeAllContentTypeParsers()
    await batch.register(multipart, {
      throwFileSizeLimit: true,
      limits: {
        fileSize: UPLOAD_BODY_LIMIT,
        files: UPLOAD_BATCH_MAX_ITEMS,
        fields: UPLOAD_BATCH_MAX_ITEMS,
        parts: 2 * UPLOAD_BATCH_MAX_ITEMS,
        fieldSize: UPLOAD_METADATA_MAX_BYTES,
        fieldNameSize: 16,
        headerPairs: 16,
      },
    })
    batch.post(
      '/cases/:id/evidence/batch',
      {
        bodyLimit: UPLOAD_BODY_LIMIT,
        schema: {
          tags: ['evidence'],
          summary: 'Upload many files in one request, stored all together or not at all (CW-LOC-056)',
          description:
            `multipart/form-data: for each item, a \`metadata\` part (JSON: name, category, and optionally mediaType, folderId, doNotDisclose, attachmentOf, ` +
            `as the single upload's query) immediately followed by its \`file\` part. At most ${UPLOAD_BATCH_MAX_ITEMS} items. ` +
            "A refused item is named by its position: the problem's `at` is `/<index>/<field>`, and no item of the batch is stored.",
          params: paramsSchemas.id,
          body: { content: { 'multipart/form-data': { schema: BINARY } } },
          response: {
            201: {
              description: 'The stored evidence, in the order of the request',
              type: 'object',
              required: ['evidence'],
              properties: { evidence: { type: 'array', items: ref('Evidence') } },
            },
            ...problems(400, 404, 413, 415),
          },
        },
      },
      async (request, reply) => {
        // Authorized before a byte of the body is read.
        const principal = principalOf(request)
        await requireCaseAccess(ctx, principal, request.params.id, 'write', 'evidence.upload')
        const evidence = await uploadEvidenceBatch(ctx, request.params.id, batchItems(request.parts()), userActor(principal.userId))
        return reply.code(201).send({ evidence })
      },
    )
  })

  app.get(
    '/cases/:id/evidence',
    {
      schema: {
        tags: ['evidence'],
        summary: 'List the evidence of a case',
        params: paramsSchemas.id,
        response: {
          200: {
            description: 'The evidence of the case',
            type: 'object',
            required: ['evidence'],
            properties: { evidence: { type: 'array', items: ref('Evidence') } },
          },
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      await requireCaseAccess(ctx, principalOf(request), request.params.id, 'read', 'evidence.list')
      return { evidence: await listEvidence(ctx, request.params.id) }
    },
  )

  app.delete(
    '/evidence/:id',
    {
      schema: {
        tags: ['evidence'],
        summary: 'Delete evidence from its case (CW-LOC-040, CW-LOC-041)',
        description:
          'The case owner, its team or an administrator. Refused (409) while a share of the case that is neither revoked nor expired names the item, ' +
          'and while another item is an attachment of it. Recorded as evidence.deleted on the case audit trail; ' +
          'its chunks are freed by the blob collector unless something else names the same bytes.',
        params: paramsSchemas.id,
        response: { 200: ref('Evidence', 'The evidence deleted'), ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      // The evidence's own case decides (CW-LOC-002): an id from another case is a 404.
      const principal = principalOf(request)
      const evidence = await requireEvidenceAccess(ctx, principal, request.params.id, 'write', 'evidence.delete')
      await deleteEvidence(ctx, evidence, userActor(principal.userId))
      return evidence
    },
  )

  app.route({
    // spec: CW-LOC-027 — with fastify's HEAD twin of the route (`exposeHeadRoute`, not in the
    // OpenAPI document): the handler sees `HEAD` and answers the headers a GET would, no bytes.
    method: 'GET',
    url: '/evidence/:id/content',
    schema: {
      tags: ['evidence'],
      summary: 'Download evidence (or one byte range of it)',
      description: 'Range (one bytes range), If-Range with the ETag (the digest) and HEAD are supported (CW-LOC-027, CW-LOC-028).',
      params: paramsSchemas.id,
      response: { 200: DOWNLOAD_RESPONSE, 206: PARTIAL_DOWNLOAD_RESPONSE, ...problems(400, 404, 416) },
    },
    handler: async (request, reply) => {
      // The evidence's own case decides (CW-LOC-002): an id from another case is a 404.
      const principal = principalOf(request)
      const evidence = await requireEvidenceAccess(ctx, principal, request.params.id, 'read', 'evidence.download')
      return sendDownload(
        request,
        reply,
        evidence,
        (range) => openChunks(ctx, evidence.chunks, range === undefined ? undefined : { range, chunkSize: evidence.chunkSize }),
        (bytes) => ctx.record({ type: 'evidence.downloaded', caseId: evidence.caseId, actor: userActor(principal.userId), evidenceId: evidence.id, bytes }),
      )
    },
  })
}

const METADATA_KEYS: ReadonlySet<string> = new Set(['name', 'category', 'mediaType', 'folderId', 'doNotDisclose', 'attachmentOf'])

/**
 * The items of a batch upload's parts: each `metadata` part with the `file` part that follows
 * it. The caller reads each item's file to its end before asking for the next item (the parts
 * arrive in order on one stream).
 */
async function* batchItems(parts: AsyncIterable<Multipart>): AsyncGenerator<EvidenceUploadItem> {
  let index = 0
  let metadata: EvidenceMetadata | undefined
  for await (const part of parts) {
    if (part.type === 'field') {
      if (part.fieldname !== 'metadata' || metadata !== undefined) {
        throw bad(`item ${index}: expected its file part, got "${part.fieldname}"`, index)
      }
      if (part.valueTruncated)
        throw new VerificationError('CW_ERR_TOO_LARGE', `item ${index}: metadata over ${UPLOAD_METADATA_MAX_BYTES} bytes`, { at: `/${index}` })
      metadata = parsedMetadata(part.value, index)
      continue
    }
    if (part.fieldname !== 'file' || metadata === undefined) throw bad(`item ${index}: a file part must follow its metadata part`, index)
    yield { metadata, body: part.file }
    metadata = undefined
    index++
  }
  if (metadata !== undefined) throw bad(`item ${index}: metadata without its file part`, index)
}

/** A metadata part's object, with only the single upload's fields; their values are checked with the item. */
function parsedMetadata(value: unknown, index: number): EvidenceMetadata {
  let parsed: unknown = value
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value)
    } catch {
      throw bad(`item ${index}: metadata is not JSON`, index)
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad(`item ${index}: metadata must be a JSON object`, index)
  for (const key of Object.keys(parsed)) {
    if (!METADATA_KEYS.has(key)) throw new RequestError('CW_ERR_BAD_REQUEST', `item ${index}: ${key} is not allowed`, { at: `/${index}/${key}` })
  }
  const metadata = parsed as Partial<EvidenceMetadata>
  return { ...metadata, mediaType: metadata.mediaType ?? OCTET_STREAM } as EvidenceMetadata
}

function bad(message: string, index: number): RequestError {
  return new RequestError('CW_ERR_BAD_REQUEST', message, { at: `/${index}` })
}
