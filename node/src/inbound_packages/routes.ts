/**
 * The local API of packages partners sent our users (SPEC.md CW-PKG-017): list them, read one,
 * download it (Range, If-Range, HEAD).
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { principalOf } from '../local/auth.ts'
import { DOWNLOAD_RESPONSE, PARTIAL_DOWNLOAD_RESPONSE } from '../local/download.ts'
import { NEXT_CURSOR, PAGE_LIMIT, PAGE_QUERY, nextCursor, pageRequest } from '../local/paging.ts'
import { paramsSchemas, problems, type LocalApi } from '../local/schemas.ts'
import { describeInboundPackage, listInboundPackages, requireInboundPackage, serveInboundPackage } from './inbound_packages.ts'

const nullable = (type: string) => ({ type: [type, 'null'] })

/** The list tag of inbound package cursors. */
const INBOUND_PACKAGE_LIST = 'inbound-packages'

const INBOUND_PACKAGE = {
  type: 'object',
  description: 'A case package a partner sent to users or groups of ours (SPEC.md §22, CW-PKG-017).',
  required: ['id', 'sender', 'packageId', 'status', 'recipients', 'createdAt', 'expiresAt'],
  properties: {
    id: { type: 'string' },
    sender: { type: 'object', required: ['org'], properties: { org: { type: 'string' }, name: nullable('string') } },
    packageId: { type: 'string', description: "The sender's package id (its link share)." },
    status: { enum: ['receiving', 'received', 'refused', 'revoked', 'expired'] },
    format: nullable('string'),
    size: nullable('integer'),
    manifest: { ...nullable('string'), description: "The signed package manifest's digest (the download's ETag)." },
    message: nullable('string'),
    recipients: { type: 'array', items: { type: 'object', required: ['kind', 'id'], properties: { kind: { type: 'string' }, id: { type: 'string' } } } },
    caseId: { ...nullable('string'), description: "The sender's case id, once received." },
    failure: { ...nullable('string'), description: 'Why it was refused.' },
    fileName: nullable('string'),
    createdAt: { type: 'integer' },
    receivedAt: nullable('integer'),
    expiresAt: { type: 'integer' },
    revokedAt: nullable('integer'),
  },
} as const

export function inboundPackageRoutes(app: LocalApi, ctx: NodeContext): void {
  app.get(
    '/inbound-packages',
    {
      schema: {
        tags: ['inbound packages'],
        summary: 'List the case packages partners sent to you (or your groups), page by page',
        description: `Administrators see every one (CW-PKG-017). Newest first. At most \`limit\` per page (${PAGE_LIMIT.default} unless given, at most ${PAGE_LIMIT.max}); pass \`next\` as \`cursor\` for the next page (CW-LOC-054).`,
        querystring: PAGE_QUERY,
        response: {
          200: {
            description: 'A page of the packages',
            type: 'object',
            required: ['inboundPackages', 'next'],
            properties: { inboundPackages: { type: 'array', items: INBOUND_PACKAGE }, next: NEXT_CURSOR },
          },
          ...problems(400),
        },
      },
    },
    async (request) => {
      const page = await listInboundPackages(ctx, principalOf(request), pageRequest(INBOUND_PACKAGE_LIST, request.query))
      return { inboundPackages: page.items.map((held) => describeInboundPackage(ctx, held)), next: nextCursor(INBOUND_PACKAGE_LIST, page.next) }
    },
  )

  app.get(
    '/inbound-packages/:id',
    {
      schema: {
        tags: ['inbound packages'],
        summary: 'Read a package a partner sent you: receiving, received, refused (with the reason), revoked or expired',
        params: paramsSchemas.id,
        response: { 200: { ...INBOUND_PACKAGE, description: 'The package' }, ...problems(400, 404) },
      },
    },
    async (request) => describeInboundPackage(ctx, await requireInboundPackage(ctx, principalOf(request), request.params.id)),
  )

  app.route({
    // With fastify's HEAD twin of the route: HEAD answers the headers a GET would.
    method: 'GET',
    url: '/inbound-packages/:id/package',
    schema: {
      tags: ['inbound packages'],
      summary: 'Download a package a partner sent you (or one byte range of it)',
      description:
        'Its recipients and administrators. Verified on arrival against the CA pinned for the sender. Range (one bytes range), If-Range with the ETag ' +
        "(the signed manifest's digest) and HEAD resume a download. Revoked or expired: 410; still receiving or refused: 409. CW-PKG-017.",
      params: paramsSchemas.id,
      response: { 200: DOWNLOAD_RESPONSE, 206: PARTIAL_DOWNLOAD_RESPONSE, ...problems(400, 404, 409, 410, 416) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request)
      return serveInboundPackage(ctx, request, reply, await requireInboundPackage(ctx, principal, request.params.id), principal)
    },
  })
}
