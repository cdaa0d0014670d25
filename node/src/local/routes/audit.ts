/**
 * The audit trail of a case (SPEC.md §18): list it page by page, export it whole as one JSON
 * document, verify its hash chain. The same three routes for a local case
 * (`/cases/{id}/audit…`) and an external case (`/external-cases/{id}/audit…`, its inbound id).
 * Administrators only, for now.
 *
 * @module
 */
import { Readable } from 'node:stream'
import type { NodeContext } from '../../context.ts'
import { exportCaseAudit, listCaseAudit, verifyCaseAudit, type AuditScope } from '../../audit/audit_trail.ts'
import { contentDisposition } from '../download.ts'
import { paramsSchemas, problems, type LocalApi } from '../schemas.ts'

const digest = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const
const seconds = { type: 'integer', description: 'Unix time, seconds.' } as const

/** One entry of a case's chain. */
export const AUDIT_ENTRY_SCHEMA = {
  type: 'object',
  description: 'An audit entry. digest = "sha256:" + hex SHA-256 of the RFC 8785 canonical JSON of { caseId, seq, at, type, actor, data, prev }.',
  required: ['caseId', 'seq', 'at', 'type', 'actor', 'data', 'prev', 'digest'],
  properties: {
    caseId: { type: 'string', description: 'Local case id, or the external case (inbound share) id.' },
    seq: { type: 'integer', minimum: 1, description: "Position in the case's chain, from 1." },
    at: seconds,
    type: {
      type: 'string',
      description: 'What happened: case.created, evidence.uploaded, share.created, share.offered, share.delivered, receipt.verified, inbound.received, …',
    },
    actor: {
      type: 'object',
      description: 'Who did it: { kind: "user", id }, { kind: "partner", org } or { kind: "system" }.',
      required: ['kind'],
      additionalProperties: true,
      properties: { kind: { type: 'string' }, id: { type: 'string' }, org: { type: 'string' } },
    },
    data: {
      type: 'object',
      description: 'The rest of the event: ids, digests, sizes, counts, problem codes. Never evidence content or secrets.',
      additionalProperties: true,
    },
    prev: { anyOf: [digest, { type: 'null' }], description: 'Digest of the previous entry; null for seq 1.' },
    digest,
  },
} as const

const ENTRIES = { type: 'array', items: AUDIT_ENTRY_SCHEMA } as const

const AUDIT_PAGE_SCHEMA = {
  description: 'A page of the trail, in seq order',
  type: 'object',
  required: ['caseId', 'entries', 'next'],
  properties: {
    caseId: { type: 'string' },
    entries: ENTRIES,
    next: { type: ['integer', 'null'], description: 'The "after" of the next page; null when this page ends the chain.' },
  },
} as const

const AUDIT_EXPORT_SCHEMA = {
  type: 'object',
  required: ['caseId', 'exportedAt', 'node', 'entries'],
  properties: {
    caseId: { type: 'string' },
    exportedAt: seconds,
    node: { type: 'string', description: 'The organization id of the node that exported it.' },
    entries: ENTRIES,
  },
} as const

const AUDIT_VERIFICATION_SCHEMA = {
  description: 'The verification result (200 whether or not the chain is intact)',
  oneOf: [
    {
      type: 'object',
      title: 'AuditChainIntact',
      required: ['ok', 'entries'],
      properties: { ok: { const: true }, entries: { type: 'integer', description: 'How many entries were verified.' } },
    },
    {
      type: 'object',
      title: 'AuditChainBroken',
      description:
        'The first position that does not verify (entries before it are intact). sequence: the entry there is not entry "seq" of the case (removed, moved); digest: its content was edited; link: its "prev" is not the digest of the entry before it (inserted, or the one before edited).',
      required: ['ok', 'seq', 'caseId', 'reason'],
      properties: {
        ok: { const: false },
        seq: { type: 'integer' },
        caseId: { type: 'string' },
        reason: { enum: ['digest', 'link', 'sequence'] },
      },
    },
  ],
} as const

const PAGE_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'integer', minimum: 0, default: 0, description: 'Entries after this seq (0: from the start).' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const

export function auditRoutes(app: LocalApi, ctx: NodeContext): void {
  for (const [scope, prefix, tag, what] of [
    ['case', '/cases/:id', 'cases', 'a case'],
    ['external-case', '/external-cases/:id', 'external cases', 'an external case'],
  ] as const satisfies ReadonlyArray<readonly [AuditScope, string, string, string]>) {
    app.get(
      `${prefix}/audit`,
      {
        config: { role: 'admin' },
        schema: {
          tags: [tag, 'audit'],
          summary: `The audit trail of ${what}, page by page (administrators)`,
          params: paramsSchemas.id,
          querystring: PAGE_QUERY,
          response: { 200: AUDIT_PAGE_SCHEMA, ...problems(400, 403, 404) },
        },
      },
      async (request) => listCaseAudit(ctx, scope, request.params.id, { after: request.query.after, limit: request.query.limit }),
    )

    app.get(
      `${prefix}/audit/export`,
      {
        config: { role: 'admin' },
        schema: {
          tags: [tag, 'audit'],
          summary: `Export the whole audit trail of ${what} as one JSON document, streamed (administrators)`,
          params: paramsSchemas.id,
          response: {
            200: { description: 'The trail: { caseId, exportedAt, node, entries }', content: { 'application/json': { schema: AUDIT_EXPORT_SCHEMA } } },
            ...problems(400, 403, 404),
          },
        },
      },
      async (request, reply) => {
        const pieces = await exportCaseAudit(ctx, scope, request.params.id)
        return reply
          .type('application/json; charset=utf-8')
          .header('content-disposition', contentDisposition(`audit-${request.params.id}.json`))
          .header('cache-control', 'no-store')
          .send(Readable.from(pieces, { objectMode: false }))
      },
    )

    app.get(
      `${prefix}/audit/verify`,
      {
        config: { role: 'admin' },
        schema: {
          tags: [tag, 'audit'],
          summary: `Verify the hash chain of ${what}'s audit trail and name the first bad entry (administrators)`,
          params: paramsSchemas.id,
          response: { 200: AUDIT_VERIFICATION_SCHEMA, ...problems(400, 403, 404) },
        },
      },
      async (request) => verifyCaseAudit(ctx, scope, request.params.id),
    )
  }
}
