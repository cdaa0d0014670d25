/**
 * The agency's cases and their folders. Every route on one case asks `access/case_access.ts` first: the
 * owner, the team and administrators get through, anyone else gets the 404 a missing case gets
 * (SPEC.md CW-LOC-002).
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { MAX_ID_LENGTH } from '../../limits.ts'
import { userActor } from '../../events.ts'
import { principalOf } from '../auth.ts'
import { requireCaseAccess } from '../../access/case_access.ts'
import { listCasesFor, viewCase } from '../../cases/case_team.ts'
import { createCase, createFolder, updateCase } from '../../cases/cases.ts'
import { inputSchemas, paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'
import { NEXT_CURSOR, PAGE_LIMIT, PAGE_QUERY, nextCursor, pageRequest } from '../paging.ts'

/** The list tag of case cursors. */
const CASE_LIST = 'cases'

export function caseRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
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
        summary: 'List the cases the caller owns or works on (every case for an administrator), page by page',
        description: `Newest first. At most \`limit\` per page (${PAGE_LIMIT.default} unless given, at most ${PAGE_LIMIT.max}); pass \`next\` as \`cursor\` for the next page (CW-LOC-054).`,
        querystring: PAGE_QUERY,
        response: {
          200: {
            description: 'A page of the cases',
            type: 'object',
            required: ['cases', 'next'],
            properties: { cases: { type: 'array', items: ref('Case') }, next: NEXT_CURSOR },
          },
          ...problems(400),
        },
      },
    },
    async (request) => {
      const page = await listCasesFor(ctx, principalOf(request), pageRequest(CASE_LIST, request.query))
      return { cases: page.items, next: nextCursor(CASE_LIST, page.next) }
    },
  )

  app.get(
    '/cases/:id',
    {
      schema: {
        tags: ['cases'],
        summary: 'Read a case with its folders',
        params: paramsSchemas.id,
        response: { 200: ref('CaseDetail', 'The case and its folders'), ...problems(400, 404) },
      },
    },
    async (request) => viewCase(ctx, principalOf(request), request.params.id),
  )

  app.patch(
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
    async (request) => {
      const principal = principalOf(request)
      await requireCaseAccess(ctx, principal, request.params.id, 'write', 'case.update')
      return updateCase(ctx, request.params.id, { fields: request.body.fields }, userActor(principal.userId))
    },
  )

  app.post(
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
          properties: { name: inputSchemas.folderName, parentId: { type: 'string', maxLength: MAX_ID_LENGTH } },
        },
        response: { 201: ref('Folder', 'The new folder'), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      await requireCaseAccess(ctx, principalOf(request), request.params.id, 'write', 'folder.create')
      return reply.code(201).send(await createFolder(ctx, request.params.id, request.body))
    },
  )
}
