/**
 * The harness's own federation listener: the target reaches it to pull the chunks of the
 * shares the harness offers, to return receipts, and (in the sender role) to offer its own
 * shares and revoke them. Mutual TLS like any node (TLS 1.3, client certificate chained to
 * the target's pinned CA and naming the target's org).
 *
 * Everything the target does is recorded as an event; tests wait for the events they expect.
 *
 * @module
 */
import { EventEmitter } from 'node:events'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import {
  PROBLEMS,
  problemType,
  verifyChain,
  x5cOfPeerCertificate,
  verifyManifest,
  verifyReceipt,
  verifyRevocation,
  type CaseManifest,
  type DeliveryReceipt,
  type ProblemCode,
  type Revocation,
} from '#protocol'
import { fail } from './check.ts'
import type { Harness } from './harness_dir.ts'
import type { Target } from './target.ts'

const OFFER_LIMIT = 32 * 1024 * 1024
const BODY_LIMIT = 1024 * 1024

/** What the target did. `code` is the problem code the harness answered with, if any. */
export type ListenerEvent =
  | { kind: 'pull'; at: number; shareId: string; digest: string; range: string | undefined; status: number; corrupted: boolean }
  | { kind: 'receipt'; at: number; jws: string; receipt?: DeliveryReceipt; digest?: string; code?: string; status: number }
  | { kind: 'offer'; at: number; jws: string; manifest?: CaseManifest; digest?: string; code?: string; status: number }
  | { kind: 'revocation'; at: number; jws: string; revocation?: Revocation; code?: string; status: number }
  | { kind: 'request'; at: number; method: string; path: string; status: number }
  | { kind: 'tls-error'; at: number; code: string; message: string }

export type EventKind = ListenerEvent['kind']
export type EventOf<K extends EventKind> = Extract<ListenerEvent, { kind: K }>

/** A share whose chunks the harness serves. */
export interface ServedShare {
  id: string
  chunks: Map<string, Buffer>
  /** Digests served with wrong bytes the first time they are pulled (CW-FED-007). */
  corruptOnce?: Set<string>
  /** Digests answered `429` with `Retry-After: 1` the first time they are pulled (CW-FED-012). */
  throttleOnce?: Set<string>
}

/**
 * How the harness answers a signed object from the target, after verifying it (the event says
 * how that went); sender-role tests may override the default answer. `undefined` = default.
 */
export type Answerer<K extends 'offer' | 'receipt' | 'revocation'> = (event: EventOf<K>) => { status: number; body: unknown; headers?: Record<string, string> } | undefined

export class HarnessListener {
  readonly events: ListenerEvent[] = []
  readonly url: string
  readonly #server: Server
  readonly #emitter = new EventEmitter()
  readonly #served = new Map<string, ServedShare & { corrupted: Set<string>; throttled: Set<string> }>()
  readonly #harness: Harness
  readonly #target: Target
  /** Revoked share ids the target offered (so that later pulls can be checked). */
  readonly revokedByTarget = new Set<string>()
  answerOffer: Answerer<'offer'> | undefined
  answerReceipt: Answerer<'receipt'> | undefined
  answerRevocation: Answerer<'revocation'> | undefined

  private constructor(harness: Harness, target: Target, server: Server, url: string) {
    this.#harness = harness
    this.#target = target
    this.#server = server
    this.url = url
    this.#emitter.setMaxListeners(0)
  }

  /** Listens on `host:port` (default: the harness endpoint's). */
  static async start(harness: Harness, target: Target, listen?: { host: string; port: number }): Promise<HarnessListener> {
    const endpoint = new URL(harness.file.endpoint)
    const host = listen?.host ?? endpoint.hostname.replace(/^\[|\]$/g, '')
    const port = listen?.port ?? Number(endpoint.port || 443)
    const server = createServer({
      cert: harness.main.tls.cert,
      key: harness.main.tls.key,
      ca: target.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    })
    const listener = new HarnessListener(harness, target, server, `https://${host.includes(':') ? `[${host}]` : host}:${port}`)
    server.on('request', (request, response) => void listener.#handle(request, response))
    server.on('tlsClientError', (error: Error & { code?: string }) => listener.#record({ kind: 'tls-error', at: Date.now(), code: error.code ?? 'TLS', message: error.message }))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    return listener
  }

  /** Serves the chunks of `share` to the target. */
  serve(share: ServedShare): void {
    this.#served.set(share.id, { ...share, corrupted: new Set(), throttled: new Set() })
  }

  /** Replaces the listener's certificate (a test of the target's server-certificate check, CW-TLS-004). */
  useCertificate(cert: string, key: string): void {
    this.#server.setSecureContext({ cert, key, ca: this.#target.caPem, minVersion: 'TLSv1.3' })
    // Connections kept alive were made with the old certificate.
    this.#server.closeIdleConnections()
  }

  /** Goes back to the harness's own certificate. */
  restoreCertificate(): void {
    this.useCertificate(this.#harness.main.tls.cert, this.#harness.main.tls.key)
  }

  /** Events of `kind` so far that match. */
  seen<K extends EventKind>(kind: K, match: (event: EventOf<K>) => boolean = () => true): EventOf<K>[] {
    return this.events.filter((event): event is EventOf<K> => event.kind === kind && match(event as EventOf<K>))
  }

  /** Resolves with the first event of `kind` (past or future) that matches; fails the test after `timeoutMs`. */
  waitFor<K extends EventKind>(kind: K, match: (event: EventOf<K>) => boolean, timeoutMs: number, what: string): Promise<EventOf<K>> {
    const past = this.seen(kind, match)[0]
    if (past !== undefined) return Promise.resolve(past)
    return new Promise((resolve, reject) => {
      const onEvent = (event: ListenerEvent) => {
        if (event.kind !== kind || !match(event as EventOf<K>)) return
        clearTimeout(timer)
        this.#emitter.off('event', onEvent)
        resolve(event as EventOf<K>)
      }
      const timer = setTimeout(() => {
        this.#emitter.off('event', onEvent)
        try {
          fail(`${what} within ${Math.round(timeoutMs / 1000)} s`, `none (the target made ${this.#summary()})`)
        } catch (error) {
          reject(error)
        }
      }, timeoutMs)
      this.#emitter.on('event', onEvent)
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve())
      this.#server.closeAllConnections()
    })
  }

  #summary(): string {
    const counts = new Map<string, number>()
    for (const event of this.events) counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1)
    return counts.size === 0 ? 'no request' : [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ')
  }

  #record(event: ListenerEvent): void {
    this.events.push(event)
    this.#emitter.emit('event', event)
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0]!
    const method = request.method ?? 'GET'
    try {
      // The TLS stack checked the chain; the org binding and TLS profile are checked here (CW-TLS-003).
      const socket = request.socket as TLSSocket
      const x5c = x5cOfPeerCertificate(socket.getPeerCertificate(true))
      const org = verifyChain(x5c, [this.#target.anchor], { usage: 'tls', currentDate: new Date() }).org
      if (org !== this.#target.org) return this.#problem(response, 'CW_ERR_PARTNER_UNKNOWN', `peer ${org} is not the target`, method, path)
    } catch {
      return this.#problem(response, 'CW_ERR_PARTNER_UNKNOWN', 'client certificate not accepted', method, path)
    }

    const chunk = /^\/federation\/v1\/shares\/([^/]+)\/chunks\/([^/]+)$/.exec(path)
    if (method === 'GET' && chunk !== null) return this.#chunk(request, response, decodeURIComponent(chunk[1]!), decodeURIComponent(chunk[2]!))
    if (method === 'GET' && path === '/federation/v1/healthz') return this.#json(response, 200, { status: 'ok', org: this.#harness.main.org }, method, path)
    if (method === 'POST' && path === '/federation/v1/offers') return this.#offer(request, response)
    if (method === 'POST' && path === '/federation/v1/receipts') return this.#receipt(request, response)
    if (method === 'POST' && path === '/federation/v1/revocations') return this.#revocation(request, response)
    return this.#problem(response, 'CW_ERR_NOT_FOUND', 'no such endpoint', method, path)
  }

  #chunk(request: IncomingMessage, response: ServerResponse, shareId: string, digest: string): void {
    const share = this.#served.get(shareId)
    const bytes = share?.chunks.get(digest)
    const range = request.headers.range
    const at = Date.now()
    if (share === undefined || bytes === undefined) {
      this.#record({ kind: 'pull', at, shareId, digest, range, status: 404, corrupted: false })
      return this.#problem(response, 'CW_ERR_NOT_FOUND', 'no such chunk', 'GET', request.url ?? '')
    }
    if (share.throttleOnce?.has(digest) === true && !share.throttled.has(digest)) {
      share.throttled.add(digest)
      this.#record({ kind: 'pull', at, shareId, digest, range, status: 429, corrupted: false })
      response.setHeader('retry-after', '1')
      return this.#problem(response, 'CW_ERR_RATE_LIMITED', 'too many requests', 'GET', request.url ?? '', false)
    }
    let body = bytes
    let corrupted = false
    if (share.corruptOnce?.has(digest) === true && !share.corrupted.has(digest)) {
      share.corrupted.add(digest)
      corrupted = true
      body = Buffer.from(bytes)
      body[0] = body[0]! ^ 0xff
    }
    let status = 200
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' }
    const match = range === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(range)
    if (match !== null) {
      const first = Number(match[1])
      const last = match[2] === '' ? body.length - 1 : Math.min(Number(match[2]), body.length - 1)
      if (first > last || first >= body.length) {
        this.#record({ kind: 'pull', at, shareId, digest, range, status: 416, corrupted: false })
        response.setHeader('content-range', `bytes */${body.length}`)
        return this.#problem(response, 'CW_ERR_RANGE_INVALID', 'range not satisfiable', 'GET', request.url ?? '')
      }
      headers['content-range'] = `bytes ${first}-${last}/${body.length}`
      body = body.subarray(first, last + 1)
      status = 206
    }
    headers['content-length'] = body.length
    this.#record({ kind: 'pull', at, shareId, digest, range, status, corrupted })
    response.writeHead(status, headers).end(body)
  }

  async #offer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const jws = await this.#body(request, response, OFFER_LIMIT)
    if (jws === undefined) return
    const event: EventOf<'offer'> = { kind: 'offer', at: Date.now(), jws, status: 0 }
    try {
      const verified = await verifyManifest(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
      if (verified.manifest.iss !== this.#target.org) throw Object.assign(new Error('manifest iss is not the peer'), { code: 'CW_ERR_PEER_MISMATCH' })
      event.manifest = verified.manifest
      event.digest = verified.digest
    } catch (error) {
      event.code = codeOf(error)
    }
    if (this.#custom(response, event, this.answerOffer?.(event))) return
    if (event.manifest === undefined) {
      event.status = PROBLEMS[event.code as ProblemCode]?.status ?? 422
      this.#record(event)
      return this.#problem(response, (event.code as ProblemCode) ?? 'CW_ERR_SCHEMA_INVALID', 'manifest refused by the harness', 'POST', '/federation/v1/offers', false)
    }
    const needed = [...new Set(event.manifest.evidence.flatMap((item) => item.chunks))]
    event.status = 202
    this.#record(event)
    this.#send(response, 202, { share: event.manifest.share.id, revision: event.manifest.share.revision, status: needed.length === 0 ? 'complete' : 'receiving', needed })
  }

  async #receipt(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const jws = await this.#body(request, response, BODY_LIMIT)
    if (jws === undefined) return
    const event: EventOf<'receipt'> = { kind: 'receipt', at: Date.now(), jws, status: 0 }
    try {
      const verified = await verifyReceipt(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
      if (verified.receipt.iss !== this.#target.org) throw Object.assign(new Error('receipt iss is not the peer'), { code: 'CW_ERR_PEER_MISMATCH' })
      event.receipt = verified.receipt
      event.digest = verified.digest
    } catch (error) {
      event.code = codeOf(error)
    }
    if (this.#custom(response, event, this.answerReceipt?.(event))) return
    if (event.receipt === undefined) {
      event.status = PROBLEMS[event.code as ProblemCode]?.status ?? 422
      this.#record(event)
      return this.#problem(response, (event.code as ProblemCode) ?? 'CW_ERR_SCHEMA_INVALID', 'receipt refused by the harness', 'POST', '/federation/v1/receipts', false)
    }
    event.status = 200
    this.#record(event)
    this.#send(response, 200, { share: event.receipt.share, revision: event.receipt.revision, status: event.receipt.status })
  }

  async #revocation(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const jws = await this.#body(request, response, BODY_LIMIT)
    if (jws === undefined) return
    const event: EventOf<'revocation'> = { kind: 'revocation', at: Date.now(), jws, status: 0 }
    try {
      const verified = await verifyRevocation(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
      if (verified.revocation.iss !== this.#target.org) throw Object.assign(new Error('revocation iss is not the peer'), { code: 'CW_ERR_PEER_MISMATCH' })
      event.revocation = verified.revocation
    } catch (error) {
      event.code = codeOf(error)
    }
    if (this.#custom(response, event, this.answerRevocation?.(event))) return
    if (event.revocation === undefined) {
      event.status = PROBLEMS[event.code as ProblemCode]?.status ?? 422
      this.#record(event)
      return this.#problem(response, (event.code as ProblemCode) ?? 'CW_ERR_SCHEMA_INVALID', 'revocation refused by the harness', 'POST', '/federation/v1/revocations', false)
    }
    this.revokedByTarget.add(event.revocation.share)
    event.status = 200
    this.#record(event)
    this.#send(response, 200, { share: event.revocation.share, status: 'revoked' })
  }

  /** Trust anchors for objects the target signs: its own CA (and, for onward shares, ours). */
  #anchors() {
    return [this.#target.anchor, ...[this.#harness.main, ...this.#harness.aux].map((party) => party.anchor)]
  }

  /** Reads an `application/jose` body up to `limit`; answers the refusal itself and returns undefined otherwise. */
  async #body(request: IncomingMessage, response: ServerResponse, limit: number): Promise<string | undefined> {
    const path = request.url ?? ''
    if ((request.headers['content-type'] ?? '').split(';')[0]!.trim() !== 'application/jose') {
      request.resume()
      this.#problem(response, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', 'body must be application/jose', 'POST', path)
      return undefined
    }
    const pieces: Buffer[] = []
    let size = 0
    for await (const piece of request as AsyncIterable<Buffer>) {
      size += piece.length
      if (size > limit) {
        this.#problem(response, 'CW_ERR_TOO_LARGE', 'body too large', 'POST', path)
        request.destroy()
        return undefined
      }
      pieces.push(piece)
    }
    return Buffer.concat(pieces).toString('utf8')
  }

  /** Sends a test's own answer to a signed object, if it gave one. */
  #custom(response: ServerResponse, event: EventOf<'offer' | 'receipt' | 'revocation'>, answer: ReturnType<Answerer<'offer'>>): boolean {
    if (answer === undefined) return false
    event.status = answer.status
    this.#record(event)
    for (const [name, value] of Object.entries(answer.headers ?? {})) response.setHeader(name, value)
    this.#send(response, answer.status, answer.body, answer.status >= 400 ? 'application/problem+json' : 'application/json')
    return true
  }

  #json(response: ServerResponse, status: number, body: unknown, method: string, path: string): void {
    this.#record({ kind: 'request', at: Date.now(), method, path, status })
    this.#send(response, status, body)
  }

  #problem(response: ServerResponse, code: ProblemCode, detail: string, method: string, path: string, record = true): void {
    const { status, title } = PROBLEMS[code]
    if (record) this.#record({ kind: 'request', at: Date.now(), method, path, status })
    this.#send(response, status, { type: problemType(code), title, status, detail, code }, 'application/problem+json')
  }

  #send(response: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
    if (response.headersSent) return
    const text = JSON.stringify(body)
    response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text)
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code
  return typeof code === 'string' ? code : 'CW_ERR_INTERNAL'
}
