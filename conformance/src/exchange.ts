/**
 * One request to the target and what came back, recorded so that a failing check can show
 * the request, what was expected and what was observed.
 *
 * @module
 */

/** What was sent, in a form fit for a report (no key material, bodies cut short). */
export interface RequestRecord {
  method: string
  url: string
  /** The client identity used (`harness`, `no-certificate`, …). */
  as: string
  /** What the request is meant to be, e.g. "manifest signed with alg none". */
  note?: string
  /** Body media type and size, and its first characters. */
  body?: string
}

/** A complete answer. */
export interface Exchange {
  request: RequestRecord
  status: number
  headers: Record<string, string>
  body: Buffer
  /** The body as UTF-8 text. */
  text: string
}

/** A request that got no HTTP answer (TLS refused, connection reset, timeout). */
export interface TransportFailure {
  request: RequestRecord
  /** Node's or undici's error code, e.g. `ECONNRESET`, `UND_ERR_SOCKET`, `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`. */
  code: string
  message: string
}

export function describeBody(body: string | Buffer | undefined, contentType: string | undefined): string | undefined {
  if (body === undefined) return undefined
  const size = Buffer.byteLength(body)
  const preview = typeof body === 'string' ? body.slice(0, 120) : ''
  return `${contentType ?? 'no content type'}, ${size} bytes${preview ? `: ${preview}${body.length > 120 ? '…' : ''}` : ''}`
}

/** A short description of an answer for reports. */
export function describeExchange(exchange: Exchange): string {
  const type = exchange.headers['content-type'] ?? 'no content type'
  const text = exchange.headers['content-type']?.includes('json') ? exchange.text.slice(0, 400) : `${exchange.body.length} bytes`
  return `${exchange.status} (${type}) ${text}`
}

export function describeRequest(request: RequestRecord): string {
  return `${request.method} ${request.url} as ${request.as}${request.note ? ` — ${request.note}` : ''}${request.body ? ` [${request.body}]` : ''}`
}
