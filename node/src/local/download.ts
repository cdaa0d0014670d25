/**
 * Sending evidence bytes: a stream with its length and a download disposition. The media type is
 * the uploader's claim, so the browser is told not to sniff or render it inline.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { safeFileName } from '#protocol'

/**
 * `attachment` (RFC 6266) with an ASCII fallback `filename` and the name in RFC 8187 form as
 * `filename*`. Whatever the stored name, only its last path component is offered, without
 * control or bidirectional characters (CW-FMT-007): a name from before the rule, or from
 * anywhere, never steers a browser or a script that saves the file.
 */
export function contentDisposition(name: string): string {
  const safe = safeFileName(name)
  const fallback = safe.replace(/[^\x20-\x7e]|["\\%;]/g, '_')
  const encoded = encodeURIComponent(safe).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

export function sendDownload(reply: FastifyReply, file: { name: string; mediaType: string; size: number }, stream: Readable): FastifyReply {
  return reply
    .header('content-length', file.size)
    .header('content-disposition', contentDisposition(file.name))
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .type(file.mediaType)
    .send(stream)
}

/** The OpenAPI description of a download response. */
export const DOWNLOAD_RESPONSE = {
  description: "The file's bytes, streamed; Content-Type is the item's media type",
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
} as const
