/**
 * Packages partners sent our users, as the local API shows and serves them (SPEC.md
 * CW-PKG-017): only to their recipients (a user named, or a member of a group named) and
 * administrators, only once received, with Range, If-Range and HEAD as a link share's package
 * (CW-LOC-035). Anyone else gets the answer a missing id gets (CW-LOC-002).
 *
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { userActor } from '../events.ts'
import type { AccessPrincipal } from '../access/case_access.ts'
import { openChunks } from '../cases/evidence.ts'
import { sendDownload, sentRange } from '../local/download.ts'
import { PACKAGE_MEDIA_TYPES } from '../links/serve_package.ts'
import type { InboundPackageRecord, Page, PageRequest } from '../store/metadata_store.ts'

/** An inbound package as the local API shows it: never its signed offer or its chunks. */
export interface InboundPackageView {
  id: string
  sender: { org: string; name: string | null }
  packageId: string
  status: InboundPackageRecord['state'] | 'expired'
  format: string | null
  size: number | null
  /** The signed package manifest's digest: the download's ETag. */
  manifest: string | null
  message: string | null
  recipients: InboundPackageRecord['recipients']
  caseId: string | null
  failure: string | null
  fileName: string | null
  createdAt: number
  receivedAt: number | null
  expiresAt: number
  revokedAt: number | null
}

const seconds = (ctx: NodeContext): number => Math.floor(ctx.clock.now().getTime() / 1000)

function isRecipient(principal: AccessPrincipal, held: InboundPackageRecord): boolean {
  return held.recipients.some(({ kind, id }) => (kind === 'user' ? id === principal.userId : principal.groups.includes(id)))
}

function mayRead(principal: AccessPrincipal, held: InboundPackageRecord): boolean {
  // A revocation of a package never offered is no package to anyone.
  return held.offer !== null && (principal.role === 'admin' || isRecipient(principal, held))
}

function fileName(held: InboundPackageRecord): string | null {
  return held.offer === null ? null : `package-${held.senderOrg}-${held.packageId.slice(0, 8)}.${held.offer.format}`
}

export function describeInboundPackage(ctx: NodeContext, held: InboundPackageRecord): InboundPackageView {
  const expired = held.state === 'received' && held.expiresAt <= seconds(ctx)
  return {
    id: held.id,
    sender: { org: held.senderOrg, name: held.senderName },
    packageId: held.packageId,
    status: expired ? 'expired' : held.state,
    format: held.offer?.format ?? null,
    size: held.offer?.size ?? null,
    manifest: held.offer?.manifest ?? null,
    message: held.offer?.message ?? null,
    recipients: held.recipients,
    caseId: held.caseId,
    failure: held.failure,
    fileName: fileName(held),
    createdAt: held.createdAt,
    receivedAt: held.receivedAt,
    expiresAt: held.expiresAt,
    revokedAt: held.revokedAt,
  }
}

/** spec: CW-PKG-017, CW-LOC-054 — a page of the inbound packages `principal` may see (as `mayRead`), newest first. */
export function listInboundPackages(ctx: NodeContext, principal: AccessPrincipal, page: PageRequest): Promise<Page<InboundPackageRecord>> {
  return ctx.store.inboundPackages.listVisible({ userId: principal.userId, groups: principal.groups, seesAll: principal.role === 'admin' }, page)
}

/** spec: CW-PKG-017, CW-LOC-002 — inbound package `id` if `principal` may see it; the answer of a missing id otherwise. */
export async function requireInboundPackage(ctx: NodeContext, principal: AccessPrincipal, id: string): Promise<InboundPackageRecord> {
  const held = await ctx.store.inboundPackages.get(id)
  if (held !== undefined && mayRead(principal, held)) return held
  if (held !== undefined)
    await ctx.record({ type: 'action.refused', caseId: held.id, actor: userActor(principal.userId), action: 'package.read', code: 'CW_ERR_NOT_FOUND' })
  throw new RequestError('CW_ERR_NOT_FOUND', `no inbound package "${id}"`)
}

/**
 * spec: CW-PKG-017, CW-LOC-035 — answers a GET or HEAD of a received package: revoked and
 * expired are `410`, still receiving or refused `409`.
 */
export async function serveInboundPackage(
  ctx: NodeContext,
  request: FastifyRequest,
  reply: FastifyReply,
  held: InboundPackageRecord,
  principal: AccessPrincipal,
): Promise<FastifyReply> {
  const actor = userActor(principal.userId)
  const refused = async (error: RequestError): Promise<never> => {
    await ctx.record({ type: 'action.refused', caseId: held.id, actor, action: 'package.download', code: error.code })
    throw error
  }
  if (held.state === 'revoked') return refused(new RequestError('CW_ERR_SHARE_REVOKED', `package "${held.id}" was revoked by ${held.senderOrg}`))
  if (held.expiresAt <= seconds(ctx)) return refused(new RequestError('CW_ERR_SHARE_EXPIRED', `package "${held.id}" expired`))
  if (held.state !== 'received' || held.offer === null || held.content === null)
    return refused(new RequestError('CW_ERR_CONFLICT', `package "${held.id}" is ${held.state}${held.failure === null ? '' : `: ${held.failure}`}`))
  const { offer, content } = held
  const file = { name: fileName(held)!, mediaType: PACKAGE_MEDIA_TYPES[offer.format], size: offer.size, digest: offer.manifest }
  return sendDownload(
    request,
    reply,
    file,
    (range) => openChunks(ctx, content.chunks, range === undefined ? undefined : { range, chunkSize: content.chunkSize }),
    (bytes) => {
      return ctx.record({
        type: 'package.downloaded',
        caseId: held.id,
        actor,
        sender: held.senderOrg,
        packageId: held.packageId,
        bytes,
        range: sentRange(reply),
        address: request.ip,
      })
    },
  )
}
