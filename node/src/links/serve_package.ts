/**
 * Serving a ready link share's package over HTTP, for the listeners that do (the local API, the
 * download listener, and the federation listener to the partner it was offered to, EP-11): the whole archive or one range, and the download on the case's audit
 * trail with the client address.
 *
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { NodeContext } from '../context.ts'
import type { Actor } from '../events.ts'
import { sendDownload, sentRange } from '../local/download.ts'
import type { LinkShareRecord } from '../store/metadata_store.ts'
import { openLinkPackage } from './link_package.ts'
import { packageFileName } from './link_shares.ts'

/** The media type a package downloads as. */
export const PACKAGE_MEDIA_TYPES: Readonly<Record<LinkShareRecord['format'], string>> = {
  zip: 'application/zip',
  tar: 'application/x-tar',
  iso: 'application/x-iso9660-image',
}

/** Answers a GET or HEAD of the package of `link` (downloadable: see `requireDownloadable`). */
export async function servePackage(
  ctx: NodeContext,
  request: FastifyRequest,
  reply: FastifyReply,
  link: LinkShareRecord & { package: NonNullable<LinkShareRecord['package']> },
  actor: Actor,
  via: 'local-api' | 'download-listener' | 'federation',
): Promise<FastifyReply> {
  const built = await openLinkPackage(ctx, link)
  // spec: CW-PKG-013 — EP-11 serves octets, like EP-2.
  const mediaType = via === 'federation' ? 'application/octet-stream' : PACKAGE_MEDIA_TYPES[link.format]
  const file = { name: packageFileName(link), mediaType, size: built.layout.size, digest: link.package.digest }
  return sendDownload(request, reply, file, built.open, (bytes) => {
    return ctx.record({
      type: 'link.downloaded',
      caseId: link.caseId,
      actor,
      linkShareId: link.id,
      bytes,
      range: sentRange(reply),
      address: request.ip,
      via,
    })
  })
}
