/**
 * The agency's cases and their folders.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { NodeContext } from '../../context.ts'
import { userActor } from '../../events.ts'
import { principalOf } from '../auth.ts'
import { createCase, createFolder, getCase, listCases, updateCase } from '../../services/cases.ts'
import { inputSchemas, paramsSchemas, problems, ref } from '../schemas.ts'

export function caseRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.post<{ Body: { fields?: Record<string, string | string[]> } }>(
    '/cases',
    {
      schema: {
        tags: ['cases'],
        summary: 'Create a case',
        body: { type: 'object', additionalProperties: false, properties: { fields: inputSchemas.caseFields } },
        response: { 201: ref('Case', 'The new case'), ...problems(400) },
      },
    },
    async (request, reply) => reply.code(201).send(await createCase(ctx, { fields: request.body.fields ?? {} }, userActor(principalOf(request).userId))),
  )

  app.get(
    '/cases',
    {
      schema: {
        tags: ['cases'],
        summary: 'List cases',
        response: { 200: { description: 'The cases', type: 'object', required: ['cases'], properties: { cases: { type: 'array', items: ref('Case') } } }, ...problems() },
      },
    },
    async () => ({ cases: await listCases(ctx) }),
  )

  app.get<{ Params: { id: string } }>(
    '/cases/:id',
    {
      schema: {
        tags: ['cases'],
        summary: 'Read a case with its folders',
        params: paramsSchemas.id,
        response: { 200: ref('CaseDetail', 'The case and its folders'), ...problems(400, 404) },
      },
    },
    async (request) => getCase(ctx, request.params.id),
  )

  app.patch<{ Params: { id: string }; Body: { fields: Record<string, string | string[] | null> } }>(
    '/cases/:id',
    {
      schema: {
        tags: ['cases'],
        summary: 'Change case fields (null removes a field)',
        params: paramsSchemas.id,
        body: { type: 'object', additionalProperties: false, required: ['fields'], properties: { fields: inputSchemas.caseFieldChanges } },
        response: { 200: ref('Case', 'The case as changed'), ...problems(400, 404) },
      },
    },
    async (request) => updateCase(ctx, request.params.id, { fields: request.body.fields }, userActor(principalOf(request).userId)),
  )

  app.post<{ Params: { id: string }; Body: { name: string; parentId?: string } }>(
    '/cases/:id/folders',
    {
      schema: {
        tags: ['cases'],
        summary: 'Create a folder, at the top of the case or in one of its folders',
        params: paramsSchemas.id,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: inputSchemas.folderName, parentId: { type: 'string', maxLength: 128 } },
        },
        response: { 201: ref('Folder', 'The new folder'), ...problems(400, 404) },
      },
    },
    async (request, reply) => reply.code(201).send(await createFolder(ctx, request.params.id, request.body)),
  )
}
