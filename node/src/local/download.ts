/**
 * Sending evidence bytes: a stream with its length and a download disposition; HEAD, single
 * byte ranges and `If-Range` (RFC 9110 §14), the file's digest as its entity tag. The media
 * type is the uploader's claim, so the browser is told not to sniff or render it inline.
 *
 * @module
 */
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { RequestError, safeFileName } from '#protocol'
import type { ByteRange } from '../store/blob_store.ts'

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

/** What a download route sends: a file's metadata and how to open its bytes, whole or a range. */
export interface DownloadFile {
  name: string
  mediaType: string
  size: number
  /** The whole file's digest (`sha256:…`): its entity tag. */
  digest: string
}

/** The entity tag of a file: its digest, strong (the same tag is always the same bytes). */
export function entityTag(file: Pick<DownloadFile, 'digest'>): string {
  return `"${file.digest}"`
}

/** How a download request is answered: the whole file, a range of it, or 416. */
export type DownloadAnswer = { kind: 'whole' } | { kind: 'range'; range: ByteRange } | { kind: 'unsatisfiable' }

const DIGITS = /^[0-9]+$/

/**
 * spec: CW-LOC-027, CW-LOC-028 — the answer to a request's `Range` (RFC 9110 §14.2) on a file
 * of `size` bytes. Only GET has ranges (HEAD describes the whole file). One `bytes` range in any
 * of its three forms (`a-b`, `a-`, `-n`) is served; anything else is not an error but the whole
 * file: a list of ranges (local rule: never multipart), another unit, a malformed header, and an
 * `If-Range` that is not this file's entity tag (a date never matches: there is no
 * Last-Modified). A well-formed range that selects no byte is unsatisfiable.
 */
export function answerRange(
  method: string,
  headers: { range?: string | undefined; 'if-range'?: string | undefined },
  file: Pick<DownloadFile, 'size' | 'digest'>,
): DownloadAnswer {
  const header = headers.range
  if (method !== 'GET' || header === undefined) return { kind: 'whole' }
  const ifRange = headers['if-range']
  if (ifRange !== undefined && ifRange.trim() !== entityTag(file)) return { kind: 'whole' }
  const match = /^\s*bytes\s*=\s*([^,]*?)\s*$/i.exec(header)
  if (match === null) return { kind: 'whole' }
  const spec = match[1]!
  const dash = spec.indexOf('-')
  if (dash < 0) return { kind: 'whole' }
  const first = spec.slice(0, dash).trim()
  const last = spec.slice(dash + 1).trim()
  const { size } = file
  if (first === '') {
    // A suffix: the last n bytes (all of them when the file is shorter).
    if (!DIGITS.test(last)) return { kind: 'whole' }
    const length = Number(last)
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'range', range: { start: Math.max(size - length, 0), end: size - 1 } }
  }
  if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return { kind: 'whole' }
  const start = Number(first)
  // `a-b` with b < a is malformed (RFC 9110 §14.1.1), not unsatisfiable.
  if (last !== '' && Number(last) < start) return { kind: 'whole' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'range', range: { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) } }
}

/**
 * spec: CW-LOC-027, CW-LOC-028 — answers a download request (GET or HEAD): the whole file
 * (200), the range asked for (206, `Content-Range`), or 416 `CW_ERR_RANGE_INVALID` with
 * `Content-Range` naming only the size. `open` is called only when bytes are sent, with the range to
 * stream; `onSend` hears how many bytes are about to be sent (for the audit trail).
 */
export async function sendDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  file: DownloadFile,
  open: (range: ByteRange | undefined) => Readable,
  onSend: (bytes: number) => Promise<void>,
): Promise<FastifyReply> {
  const answer = answerRange(request.method, request.headers as Record<string, string | undefined>, file)
  reply.header('accept-ranges', 'bytes').header('etag', entityTag(file)).header('cache-control', 'no-store')
  if (answer.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${file.size}`)
    throw new RequestError('CW_ERR_RANGE_INVALID', `the range "${request.headers.range ?? ''}" selects no byte of a file of ${file.size} bytes`)
  }
  const range = answer.kind === 'range' ? answer.range : undefined
  const length = range === undefined ? file.size : range.end - range.start + 1
  reply
    .header('content-length', length)
    .header('content-disposition', contentDisposition(file.name))
    .header('x-content-type-options', 'nosniff')
    .type(file.mediaType)
  if (range !== undefined) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
  // HEAD: the headers a GET would have, no bytes. An empty stream, because fastify's HEAD twin
  // of a GET route keeps the Content-Length of a stream but sets 0 for a missing payload.
  if (request.method === 'HEAD') return reply.send(Readable.from([]))
  await onSend(length)
  return reply.send(open(range))
}

/** The range a download answer sends, as `first-last` for the audit trail; null for the whole file. */
export function sentRange(reply: FastifyReply): string | null {
  const range = reply.getHeader('content-range')
  return typeof range === 'string' ? range.slice('bytes '.length, range.indexOf('/')) : null
}

const DOWNLOAD_HEADERS = {
  ETag: { description: "The file's digest, quoted: a strong entity tag for If-Range", schema: { type: 'string' } },
  'Accept-Ranges': { description: 'Always `bytes`', schema: { type: 'string' } },
} as const

/** The OpenAPI description of a download response. */
export const DOWNLOAD_RESPONSE = {
  description: "The file's bytes, streamed; Content-Type is the item's media type",
  headers: DOWNLOAD_HEADERS,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
} as const

/** The OpenAPI description of a partial download (a single byte range). */
export const PARTIAL_DOWNLOAD_RESPONSE = {
  description: 'The bytes of the one range asked for (Range: bytes=a-b, a- or -n), streamed, with Content-Range',
  headers: { ...DOWNLOAD_HEADERS, 'Content-Range': { description: 'bytes first-last/size', schema: { type: 'string' } } },
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
} as const
