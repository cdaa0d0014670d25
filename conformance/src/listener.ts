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
  CasewayError,
  CHUNK_BATCH_FEATURE,
  CHUNK_BATCH_LIMITS,
  FEATURES_HEADER,
  FEDERATION_PATHS,
  JOSE_MEDIA_TYPE,
  PROBLEMS,
  SUPPORTED_VERSIONS,
  toProblem,
  VERSIONS_HEADER,
  VerificationError,
  verifyChain,
  verifyManifest,
  verifyReceipt,
  verifyPackageOffer,
  verifyRevocation,
  x5cOfPeerCertificate,
  type CaseManifest,
  type DeliveryReceipt,
  type HealthAnswer,
  type OfferAnswer,
  type PackageOffer,
  type PackageOfferAnswer,
  type ProblemCode,
  type ReceiptAnswer,
  type Revocation,
  type RevocationAnswer,
} from '#protocol'
import { fail } from './check.ts'
import type { Harness } from './harness_dir.ts'
import type { Target } from './target.ts'

const OFFER_LIMIT = 32 * 1024 * 1024
const BODY_LIMIT = 1024 * 1024

/** What the target did. `code` is the problem code the harness answered with, if any. */
export type ListenerEvent =
  | {
      kind: 'pull'
      at: number
      shareId: string
      digest: string
      range: string | undefined
      status: number
      corrupted: boolean
      /** The digest's path segment as the target sent it (CW-FED-014: literal `sha256:<hex>`). */
      segment?: string
      /** Pulled in an EP-20 batch (CW-BAT-001), with these many chunks. */
      batch?: number
    }
  | { kind: 'receipt'; at: number; jws: string; receipt?: DeliveryReceipt; digest?: string; code?: string; status: number }
  | { kind: 'offer'; at: number; jws: string; manifest?: CaseManifest; digest?: string; code?: string; status: number }
  | { kind: 'revocation'; at: number; jws: string; revocation?: Revocation; code?: string; status: number }
  | { kind: 'package-offer'; at: number; jws: string; offer?: PackageOffer; code?: string; status: number }
  | { kind: 'package-revocation'; at: number; jws: string; revocation?: Revocation; code?: string; status: number }
  | { kind: 'package-pull'; at: number; packageId: string; range: string | undefined; status: number }
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
  /** Every pull answered `429` with `Retry-After: 1` (keeps the target pulling, e.g. while a revocation arrives). */
  throttleAll?: boolean
}

/**
 * How the harness answers a signed object from the target, after verifying it (the event says
 * how that went); sender-role tests may override the default answer. `undefined` = default.
 */
type SignedKind = 'offer' | 'receipt' | 'revocation' | 'package-offer' | 'package-revocation'

export interface Answer {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export type Answerer<K extends SignedKind> = (event: EventOf<K>) => Answer | undefined

/** A refusal as an {@link Answer}: the problem document the protocol maps `code` to. */
export function problemAnswer(code: ProblemCode, detail: string, headers?: Record<string, string>): Answer {
  const body = toProblem(new CasewayError(code, detail))
  return { status: body.status, body, ...(headers === undefined ? {} : { headers }) }
}

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
  /**
   * The versions the harness lists in `Caseway-Versions` on every answer (CW-VER-003); a test
   * lists fewer to play a v0.1 partner (`undefined`: no header at all, as a v0.1 partner).
   */
  versions: readonly string[] | undefined = SUPPORTED_VERSIONS
  /**
   * The optional features the harness lists in `Caseway-Features` and serves (CW-VER-007): none by
   * default, as a node without them; a test lists `chunk-batch` to be pulled from on EP-20.
   */
  features: readonly string[] = []
  answerOffer: Answerer<'offer'> | undefined
  answerReceipt: Answerer<'receipt'> | undefined
  answerRevocation: Answerer<'revocation'> | undefined
  answerPackageOffer: Answerer<'package-offer'> | undefined
  /** Packages the harness offers the target, served on its EP-11 (SPEC.md CW-PKG-013). */
  readonly #packages = new Map<string, Buffer>()
  /** Package ids the target revoked on the harness's EP-12 (CW-PKG-015). */
  readonly packagesRevokedByTarget = new Set<string>()

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
    server.on('tlsClientError', (error: Error & { code?: string }) =>
      listener.#record({ kind: 'tls-error', at: Date.now(), code: error.code ?? 'TLS', message: error.message }),
    )
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

  /** Serves package `id`'s bytes on the harness's EP-11 (whole or one range). */
  servePackage(id: string, bytes: Buffer): void {
    this.#packages.set(id, bytes)
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
    if (this.versions !== undefined) response.setHeader(VERSIONS_HEADER, this.versions.join(', '))
    if (this.features.length > 0) response.setHeader(FEATURES_HEADER, this.features.join(', '))
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
    if (method === 'GET' && chunk !== null) return this.#chunk(request, response, decodeURIComponent(chunk[1]!), decodeURIComponent(chunk[2]!), chunk[2]!)
    const batch = /^\/federation\/v1\/shares\/([^/]+)\/chunk-batches$/.exec(path)
    if (method === 'POST' && batch !== null && this.features.includes(CHUNK_BATCH_FEATURE))
      return this.#chunkBatch(request, response, decodeURIComponent(batch[1]!))
    if (method === 'GET' && path === FEDERATION_PATHS.healthz)
      return this.#json(response, 200, { status: 'ok', org: this.#harness.main.org } satisfies HealthAnswer, method, path)
    if (method === 'POST' && path === FEDERATION_PATHS.offers) return this.#offer(request, response)
    if (method === 'POST' && path === FEDERATION_PATHS.receipts) return this.#receipt(request, response)
    if (method === 'POST' && path === FEDERATION_PATHS.revocations) return this.#revocation(request, response)
    if (method === 'POST' && path === FEDERATION_PATHS.packageOffers) return this.#packageOffer(request, response)
    if (method === 'POST' && path === FEDERATION_PATHS.packageRevocations) return this.#packageRevocation(request, response)
    const pulled = /^\/federation\/v1\/packages\/([^/]+)$/.exec(path)
    if (method === 'GET' && pulled !== null) return this.#package(request, response, decodeURIComponent(pulled[1]!))
    return this.#problem(response, 'CW_ERR_NOT_FOUND', 'no such endpoint', method, path)
  }

  #chunk(request: IncomingMessage, response: ServerResponse, shareId: string, digest: string, segment: string): void {
    const share = this.#served.get(shareId)
    const bytes = share?.chunks.get(digest)
    const range = request.headers.range
    const at = Date.now()
    if (share === undefined || bytes === undefined) {
      this.#record({ kind: 'pull', at, shareId, digest, range, status: 404, corrupted: false, segment })
      return this.#problem(response, 'CW_ERR_NOT_FOUND', 'no such chunk', 'GET', request.url ?? '')
    }
    if (share.throttleAll === true || (share.throttleOnce?.has(digest) === true && !share.throttled.has(digest))) {
      share.throttled.add(digest)
      this.#record({ kind: 'pull', at, shareId, digest, range, status: 429, corrupted: false, segment })
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
        this.#record({ kind: 'pull', at, shareId, digest, range, status: 416, corrupted: false, segment })
        response.setHeader('content-range', `bytes */${body.length}`)
        return this.#problem(response, 'CW_ERR_RANGE_INVALID', 'range not satisfiable', 'GET', request.url ?? '')
      }
      headers['content-range'] = `bytes ${first}-${last}/${body.length}`
      body = body.subarray(first, last + 1)
      status = 206
    }
    headers['content-length'] = body.length
    this.#record({ kind: 'pull', at, shareId, digest, range, status, corrupted, segment })
    response.writeHead(status, headers).end(body)
  }

  /** EP-11 of the harness: a package it offered the target, whole or one range (CW-PKG-013). */
  #package(request: IncomingMessage, response: ServerResponse, packageId: string): void {
    const bytes = this.#packages.get(packageId)
    const range = request.headers.range
    const at = Date.now()
    if (bytes === undefined) {
      this.#record({ kind: 'package-pull', at, packageId, range, status: 404 })
      return this.#problem(response, 'CW_ERR_NOT_FOUND', 'no such package', 'GET', request.url ?? '', false)
    }
    const match = range === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(range)
    const first = match === null ? 0 : Number(match[1])
    const last = match === null || match[2] === '' ? bytes.length - 1 : Math.min(Number(match[2]), bytes.length - 1)
    if (first > last) {
      this.#record({ kind: 'package-pull', at, packageId, range, status: 416 })
      response.setHeader('content-range', `bytes */${bytes.length}`)
      return this.#problem(response, 'CW_ERR_RANGE_INVALID', 'range not satisfiable', 'GET', request.url ?? '', false)
    }
    const status = match === null ? 200 : 206
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-length': last - first + 1,
    }
    if (status === 206) headers['content-range'] = `bytes ${first}-${last}/${bytes.length}`
    this.#record({ kind: 'package-pull', at, packageId, range, status })
    response.writeHead(status, headers).end(bytes.subarray(first, last + 1))
  }

  #packageOffer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    return this.#signedObject(
      request,
      response,
      'package-offer',
      BODY_LIMIT,
      this.answerPackageOffer,
      async (jws) => {
        const { offer } = await verifyPackageOffer(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
        return { iss: offer.iss, fields: { offer } }
      },
      ({ offer }) => {
        const answer: PackageOfferAnswer = { package: offer!.package, status: 'receiving' }
        return { status: 202, body: answer }
      },
    )
  }

  #packageRevocation(request: IncomingMessage, response: ServerResponse): Promise<void> {
    return this.#signedObject(
      request,
      response,
      'package-revocation',
      BODY_LIMIT,
      undefined,
      async (jws) => {
        const { revocation } = await verifyRevocation(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
        return { iss: revocation.iss, fields: { revocation } }
      },
      ({ revocation }) => {
        this.packagesRevokedByTarget.add(revocation!.share)
        const answer: RevocationAnswer = { share: revocation!.share, status: 'revoked' }
        return { status: 200, body: answer }
      },
    )
  }

  /** EP-20 (CW-BAT-001..003): the chunks asked for, concatenated; each recorded as a pull (corruptOnce applies to each). */
  async #chunkBatch(request: IncomingMessage, response: ServerResponse, shareId: string): Promise<void> {
    const path = request.url ?? ''
    if ((request.headers['content-type'] ?? '').split(';')[0]!.trim() !== 'application/json') {
      request.resume()
      return this.#problem(response, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', 'body must be application/json', 'POST', path)
    }
    const pieces: Buffer[] = []
    let size = 0
    for await (const piece of request as AsyncIterable<Buffer>) {
      size += piece.length
      if (size > CHUNK_BATCH_LIMITS.bodyBytes) {
        this.#problem(response, 'CW_ERR_TOO_LARGE', 'body too large', 'POST', path)
        request.destroy()
        return
      }
      pieces.push(piece)
    }
    let digests: unknown
    try {
      digests = (JSON.parse(Buffer.concat(pieces).toString('utf8')) as { digests?: unknown }).digests
    } catch {
      digests = undefined
    }
    if (!Array.isArray(digests) || digests.length === 0 || digests.length > CHUNK_BATCH_LIMITS.maxChunks || !digests.every((d) => typeof d === 'string')) {
      return this.#problem(response, 'CW_ERR_BAD_REQUEST', 'body must be {"digests": [...]}', 'POST', path)
    }
    const share = this.#served.get(shareId)
    const at = Date.now()
    const asked = digests as string[]
    if (share === undefined || asked.some((digest) => !share.chunks.has(digest))) {
      return this.#problem(response, 'CW_ERR_NOT_FOUND', 'no such chunk', 'POST', path)
    }
    const bodies = asked.map((digest) => {
      const bytes = share.chunks.get(digest)!
      let corrupted = false
      let body = bytes
      if (share.corruptOnce?.has(digest) === true && !share.corrupted.has(digest)) {
        share.corrupted.add(digest)
        corrupted = true
        body = Buffer.from(bytes)
        body[0] = body[0]! ^ 0xff
      }
      this.#record({ kind: 'pull', at, shareId, digest, range: undefined, status: 200, corrupted, batch: asked.length })
      return body
    })
    const whole = Buffer.concat(bodies)
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': whole.length }).end(whole)
  }

  #offer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    return this.#signedObject(
      request,
      response,
      'offer',
      OFFER_LIMIT,
      this.answerOffer,
      async (jws) => {
        const { manifest, digest } = await verifyManifest(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
        return { iss: manifest.iss, fields: { manifest, digest } }
      },
      ({ manifest }) => {
        const needed = [...new Set(manifest!.evidence.flatMap((item) => item.chunks))]
        const answer: OfferAnswer = {
          share: manifest!.share.id,
          revision: manifest!.share.revision,
          status: needed.length === 0 ? 'complete' : 'receiving',
          needed,
        }
        return { status: 202, body: answer }
      },
    )
  }

  #receipt(request: IncomingMessage, response: ServerResponse): Promise<void> {
    return this.#signedObject(
      request,
      response,
      'receipt',
      BODY_LIMIT,
      this.answerReceipt,
      async (jws) => {
        const { receipt, digest } = await verifyReceipt(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
        return { iss: receipt.iss, fields: { receipt, digest } }
      },
      ({ receipt }) => {
        const answer: ReceiptAnswer = { share: receipt!.share, revision: receipt!.revision, status: receipt!.status }
        return { status: 200, body: answer }
      },
    )
  }

  #revocation(request: IncomingMessage, response: ServerResponse): Promise<void> {
    return this.#signedObject(
      request,
      response,
      'revocation',
      BODY_LIMIT,
      this.answerRevocation,
      async (jws) => {
        const { revocation } = await verifyRevocation(jws, { trustAnchors: this.#anchors(), audience: this.#harness.main.org })
        return { iss: revocation.iss, fields: { revocation } }
      },
      ({ revocation }) => {
        this.revokedByTarget.add(revocation!.share)
        const answer: RevocationAnswer = { share: revocation!.share, status: 'revoked' }
        return { status: 200, body: answer }
      },
    )
  }

  /**
   * EP-1, EP-3 and EP-5 of the harness: reads the signed object, verifies it as a receiver
   * must (§8, issuer = the peer), records the event, then answers — a test's own answer if it
   * gave one, else `accept`'s answer, else the refusal with the verification's code.
   */
  async #signedObject<K extends SignedKind>(
    request: IncomingMessage,
    response: ServerResponse,
    kind: K,
    limit: number,
    answerer: Answerer<K> | undefined,
    verify: (jws: string) => Promise<{ iss: string; fields: Partial<EventOf<K>> }>,
    accept: (event: EventOf<K>) => Answer,
  ): Promise<void> {
    const jws = await this.#body(request, response, limit)
    if (jws === undefined) return
    const event: EventOf<SignedKind> = { kind, at: Date.now(), jws, status: 0 }
    let verified = false
    try {
      const { iss, fields } = await verify(jws)
      if (iss !== this.#target.org) throw new VerificationError('CW_ERR_PEER_MISMATCH', `${kind} iss is not the peer`)
      Object.assign(event, fields)
      verified = true
    } catch (error) {
      event.code = error instanceof CasewayError ? error.code : 'CW_ERR_INTERNAL'
    }
    const answer = answerer?.(event as EventOf<K>) ?? (verified ? accept(event as EventOf<K>) : undefined)
    if (answer === undefined) {
      const code = event.code as ProblemCode
      event.status = PROBLEMS[code].status
      this.#record(event)
      return this.#sendProblem(response, new CasewayError(code, `${kind} refused by the harness`))
    }
    event.status = answer.status
    this.#record(event)
    for (const [name, value] of Object.entries(answer.headers ?? {})) response.setHeader(name, value)
    this.#send(response, answer.status, answer.body, answer.status >= 400 ? 'application/problem+json' : 'application/json')
  }

  /** Trust anchors for objects the target signs: its own CA (and, for onward shares, ours). */
  #anchors() {
    return [this.#target.anchor, ...[this.#harness.main, ...this.#harness.aux].map((party) => party.anchor)]
  }

  /** Reads an `application/jose` body up to `limit`; answers the refusal itself and returns undefined otherwise. */
  async #body(request: IncomingMessage, response: ServerResponse, limit: number): Promise<string | undefined> {
    const path = request.url ?? ''
    if ((request.headers['content-type'] ?? '').split(';')[0]!.trim() !== JOSE_MEDIA_TYPE) {
      request.resume()
      this.#problem(response, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', `body must be ${JOSE_MEDIA_TYPE}`, 'POST', path)
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

  #json(response: ServerResponse, status: number, body: unknown, method: string, path: string): void {
    this.#record({ kind: 'request', at: Date.now(), method, path, status })
    this.#send(response, status, body)
  }

  #problem(response: ServerResponse, code: ProblemCode, detail: string, method: string, path: string, record = true): void {
    if (record) this.#record({ kind: 'request', at: Date.now(), method, path, status: PROBLEMS[code].status })
    this.#sendProblem(response, new CasewayError(code, detail))
  }

  #sendProblem(response: ServerResponse, error: CasewayError): void {
    const problem = toProblem(error)
    this.#send(response, problem.status, problem, 'application/problem+json')
  }

  #send(response: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
    if (response.headersSent) return
    const text = JSON.stringify(body)
    response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text)
  }
}
