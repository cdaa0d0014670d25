/**
 * The Federation API (SPEC.md §16, EP-1..EP-5, and EP-10..EP-12 of §22) as a fastify plugin. It is the whole
 * partner-facing application: it owns the instance's content-type parsers, error handling and
 * peer identification, so register it on a dedicated instance (`server.ts` does).
 *
 * Every request is identified by its verified client certificate first (`authenticate.ts`).
 * Only `application/jose` bodies are parsed, bounded per endpoint (CW-FED-002, CW-FED-011).
 * Answers are serialized with the protocol's schemas (`answers.ts`). The handlers only
 * translate between HTTP and the services, which hold the rules. The conformance control
 * endpoints EP-6..EP-9 (§21, `control.ts`) are added only when the configuration enables them.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
  CHUNK_BATCH_FEATURE,
  CHUNK_BATCH_LIMITS,
  CHUNK_BATCH_MEDIA_TYPE,
  FEATURES_HEADER,
  FEDERATION_PATHS,
  JOSE_MEDIA_TYPE,
  RequestError,
  VERSIONS_HEADER,
  type HealthAnswer,
  type OfferAnswer,
  type ReceiptAnswer,
  type RevocationAnswer,
} from '#protocol'
import type { NodeContext } from '../context.ts'
import { installProblemHandler } from '../http/problem_handler.ts'
import { installRateLimit } from '../http/rate_limit.ts'
import { countChunkServed, openChunk, type OpenChunk } from '../sending/serve_chunk.ts'
import { chunkBatchRequestOf, openChunkBatch } from '../sending/serve_chunk_batch.ts'
import { acceptOffer } from '../receiving/accept_offer.ts'
import { prepareVerifier } from '../receiving/verification/verify_off_loop.ts'
import { QuotaExceededError } from '../receiving/quotas.ts'
import { SIGNED_OBJECT_MAX_BYTES } from '../limits.ts'
import { acceptReceipt } from '../sending/accept_receipt.ts'
import { ServedTally } from '../sending/served_tally.ts'
import { acceptRevocation } from '../revocation/accept_revocation.ts'
import { addProtocolSchemas, answer, problems } from './answers.ts'
import { identifyPeer, peerOf } from './authenticate.ts'
import { conformanceControl } from './control.ts'
import { PACKAGE_ANSWER_SCHEMAS, packageRoutes } from './packages.ts'
import { crashPoint } from '../operations/crash_points.ts'
import { PooledBuffers } from '../store/pooled_buffers.ts'

export interface FederationAppOptions {
  ctx: NodeContext
  /** Told what the listener did (metrics); optional. */
  observer?: FederationObserver
}

/** What the listener reports: the node's metrics implement it. */
export interface FederationObserver {
  /** EP-2 sent `bytes` of a chunk to `peerOrg` in full. */
  chunkServed(peerOrg: string, bytes: number): void
  /** A request from `peerOrg` was answered with success. */
  peerSucceeded(peerOrg: string): void
  /** A problem with `code` was answered (to anyone). */
  problemAnswered(code: string): void
}

/**
 * The protocol's schemas of the answers (SPEC.md §16, `protocol/schemas/`), and the common
 * definitions they refer to, registered once on the instance by their `$id`.
 */
const ANSWER_SCHEMAS = ['common', 'problem', 'offer-answer', 'receipt-answer', 'revocation-answer', 'health-answer', ...PACKAGE_ANSWER_SCHEMAS] as const

/** The compact JWS body of a request; anything else is an unsupported media type (CW-FED-002). */
function joseBody(request: FastifyRequest): string {
  if (typeof request.body !== 'string') throw new RequestError('CW_ERR_UNSUPPORTED_MEDIA_TYPE', `body must be ${JOSE_MEDIA_TYPE}`)
  return request.body
}

async function federationRoutes(app: FastifyInstance, { ctx, observer }: FederationAppOptions): Promise<void> {
  installProblemHandler(app, observer && ((code) => observer.problemAnswered(code)))
  addProtocolSchemas(app, ANSWER_SCHEMAS)
  app.decorateRequest('peer', null)
  // spec: CW-VER-003 — every answer, refusals included, lists the versions this node supports;
  // set first so that no early answer (unknown peer, rate limit, too large) goes without it.
  // spec: CW-VER-007 — and, next to them, the optional features it serves.
  const batches = ctx.config.federation.chunkBatches
  app.addHook('onRequest', async (_request, reply) => {
    reply.header(VERSIONS_HEADER, ctx.config.federation.protocolVersions.join(', '))
    if (batches) reply.header(FEATURES_HEADER, CHUNK_BATCH_FEATURE)
  })
  app.addHook('onRequest', identifyPeer(ctx))
  // spec: CW-FED-012 — per partner organization, after the peer is identified.
  const { federationPerMinute, federationPerSecond } = ctx.config.limits.rateLimit
  await installRateLimit(app, { perMinute: federationPerMinute, perSecond: federationPerSecond, key: (request) => `peer:${peerOf(request).org}` })
  if (observer !== undefined) {
    app.addHook('onResponse', async (request, reply) => {
      if (request.peer !== null && reply.statusCode < 400 && reply.raw.writableFinished) observer.peerSucceeded(request.peer.org)
    })
  }

  // spec: CW-FED-002, CW-FED-011 — application/jose only, as text, bounded (1 MiB unless a route says more).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(JOSE_MEDIA_TYPE, { parseAs: 'string', bodyLimit: SIGNED_OBJECT_MAX_BYTES }, (_request, body, done) => done(null, body))

  // EP-1 — spec: CW-FED-001, CW-FED-003, CW-FED-004, CW-QUO-001
  app.post(
    FEDERATION_PATHS.offers,
    {
      bodyLimit: ctx.config.limits.manifestBytes,
      schema: { response: { 200: answer('offer-answer'), 202: answer('offer-answer'), ...problems } },
      // From an identified partner (the hooks above ran), a large offer's verifier starts while its body arrives.
      onRequest: async (request) => {
        const length = Number(request.headers['content-length'])
        if (length <= ctx.config.limits.manifestBytes) prepareVerifier(length)
      },
    },
    async (request, reply): Promise<OfferAnswer> => {
      let accepted: Awaited<ReturnType<typeof acceptOffer>>
      try {
        accepted = await acceptOffer(ctx, peerOf(request).org, joseBody(request))
      } catch (error) {
        // spec: CW-QUO-002, CW-QUO-003 — a quota that frees with time says when.
        if (error instanceof QuotaExceededError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
        throw error
      }
      const { created, answer } = accepted
      reply.code(created ? 202 : 200)
      return answer
    },
  )

  // Each chunk pull is logged at debug (`http/observability.ts`); the transfer gets one info line
  // when its receipt is recorded (EP-3 below).
  const served = new ServedTally()

  // EP-2 — spec: CW-FED-005, CW-FED-006
  app.get<{ Params: { shareId: string; digest: string } }>(
    '/federation/v1/shares/:shareId/chunks/:digest',
    // Chunk pulls are not counted against the request-rate limit: a multi-gigabyte transfer
    // is thousands of them, each authorized against a live share addressed to this peer.
    {
      schema: { response: problems },
      config: { rateLimit: false },
      onResponse: async (request, reply) => {
        if (request.peer === null) return
        const refused = reply.statusCode >= 400
        const bytes = !refused && reply.raw.writableFinished ? Number(reply.getHeader('content-length') ?? 0) : 0
        served.note(ctx.log, request.params.shareId, request.peer.org, bytes, reply.elapsedTime, refused)
      },
    },
    async (request, reply) => {
      const { shareId, digest } = request.params
      const buffers = answerBuffers(reply)
      let chunk: OpenChunk
      try {
        chunk = await openChunk(ctx, peerOf(request).org, shareId, digest, request.headers.range, buffers)
      } catch (error) {
        const size = (error as { code?: unknown; size?: unknown }).code === 'CW_ERR_RANGE_INVALID' ? (error as { size?: unknown }).size : undefined
        if (typeof size === 'number') reply.header('content-range', `bytes */${size}`)
        throw error
      }
      const { stream, size, range, partial } = chunk
      crashPoint('chunk.opened')
      // Once the whole body is handed to the connection ('finish' does not fire on an abort).
      reply.raw.once('finish', () => crashPoint('chunk.served'))
      request.log.debug({ shareId, digest, start: range.start, end: range.end }, 'serving chunk')
      if (request.method === 'GET' && range.end === size - 1) {
        reply.raw.once('finish', () => void countChunkServed(ctx, shareId, digest))
      }
      if (observer !== undefined && request.method === 'GET') {
        // Counted once the whole body has been handed to the connection ('finish' does not fire on an abort).
        const peerOrg = peerOf(request).org
        reply.raw.once('finish', () => observer.chunkServed(peerOrg, range.end - range.start + 1))
      }
      reply
        .header('content-type', 'application/octet-stream')
        .header('accept-ranges', 'bytes')
        .header('content-length', range.end - range.start + 1)
      if (partial) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`)
      return reply.send(stream)
    },
  )

  // EP-20 — spec: CW-BAT-001..003 — many chunks of one share in one answer; only when enabled
  // (otherwise the path is unknown, as on a node without the feature).
  if (batches) await app.register(chunkBatchRoute, { ctx, observer, served })

  // EP-3 — spec: CW-FED-009
  app.post(
    FEDERATION_PATHS.receipts,
    { bodyLimit: SIGNED_OBJECT_MAX_BYTES, schema: { response: { 200: answer('receipt-answer'), ...problems } } },
    async (request): Promise<ReceiptAnswer> => {
      const { answer } = await acceptReceipt(ctx, peerOf(request).org, joseBody(request))
      served.finish(ctx.log, answer.share, { revision: answer.revision, status: answer.status })
      return answer
    },
  )

  // EP-5 — spec: CW-REV-004, CW-REV-003
  app.post(
    FEDERATION_PATHS.revocations,
    { bodyLimit: SIGNED_OBJECT_MAX_BYTES, schema: { response: { 200: answer('revocation-answer'), ...problems } } },
    async (request): Promise<RevocationAnswer> => {
      const { answer } = await acceptRevocation(ctx, peerOf(request).org, joseBody(request))
      return answer
    },
  )

  // EP-10..EP-12 — spec: CW-PKG-012, CW-PKG-013, CW-PKG-015
  packageRoutes(app, ctx, joseBody)

  // EP-4 — spec: CW-FED-010 (only an identified partner gets here)
  app.get(FEDERATION_PATHS.healthz, { schema: { response: { 200: answer('health-answer'), ...problems } } }, async (): Promise<HealthAnswer> => ({
    status: 'ok',
    org: ctx.identity.org,
  }))

  // EP-6..EP-9 — spec: CW-CTL-001 — only when the operator enabled them; otherwise unknown paths.
  if (ctx.config.conformance.control) {
    app.log.warn({ conformanceControl: true }, 'conformance control endpoints enabled — test deployments only')
    await app.register(conformanceControl, { ctx })
  }
}

/** A JSON request body, parsed by the route that accepts it (EP-20), so that no other route takes JSON. */
class JsonBody {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/**
 * EP-20 in its own encapsulated context, the one place that parses `application/json`: every
 * other route still refuses it as an unsupported media type (CW-FED-002).
 */
async function chunkBatchRoute(app: FastifyInstance, { ctx, observer, served }: FederationAppOptions & { served: ServedTally }): Promise<void> {
  // The digests each request asked for, for its log line.
  const asked = new WeakMap<FastifyRequest, readonly string[]>()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: CHUNK_BATCH_LIMITS.bodyBytes }, (_request, body, done) =>
    done(null, new JsonBody(body as string)),
  )
  app.post<{ Params: { shareId: string } }>(
    '/federation/v1/shares/:shareId/chunk-batches',
    {
      bodyLimit: CHUNK_BATCH_LIMITS.bodyBytes,
      schema: { response: problems },
      // As EP-2: chunk pulls are not counted against the request-rate limit.
      config: { rateLimit: false },
      onResponse: async (request, reply) => {
        // One line per batch, naming its chunks: at debug when answered, at info when refused (as EP-2's, `http/observability.ts`).
        const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime, digests: asked.get(request) }
        if (reply.statusCode < 400) request.log.debug(line, 'chunk batch answered')
        else request.log.info(line, 'chunk batch refused')
        if (request.peer === null) return
        const refused = reply.statusCode >= 400
        const bytes = !refused && reply.raw.writableFinished ? Number(reply.getHeader('content-length') ?? 0) : 0
        served.note(ctx.log, request.params.shareId, request.peer.org, bytes, reply.elapsedTime, refused, asked.get(request)?.length ?? 1)
      },
    },
    async (request, reply) => {
      if (!(request.body instanceof JsonBody)) throw new RequestError('CW_ERR_UNSUPPORTED_MEDIA_TYPE', 'body must be application/json')
      let parsed: unknown
      try {
        parsed = JSON.parse(request.body.text)
      } catch {
        throw new RequestError('CW_ERR_BAD_REQUEST', 'body is not JSON')
      }
      const { digests } = chunkBatchRequestOf(parsed)
      asked.set(request, digests)
      const { shareId } = request.params
      const peerOrg = peerOf(request).org
      const batch = await openChunkBatch(ctx, peerOrg, shareId, digests, answerBuffers(reply))
      request.log.debug({ shareId, chunks: batch.chunks.length, bytes: batch.totalBytes }, 'serving chunk batch')
      // Once the whole body is handed to the connection ('finish' does not fire on an abort).
      reply.raw.once('finish', () => {
        // Counted all at once, so that the store commits them together: awaited one after
        // another, a batch of 64 small chunks cost 64 commits in turn.
        for (const { digest, size } of batch.chunks) {
          crashPoint('chunk.served')
          observer?.chunkServed(peerOrg, size)
          void countChunkServed(ctx, shareId, digest)
        }
      })
      reply.header('content-type', CHUNK_BATCH_MEDIA_TYPE).header('content-length', batch.totalBytes)
      return reply.send(batch.stream())
    },
  )
}

/**
 * Buffers for the chunk bytes of one answer (`store/pooled_buffers.ts`), reused by later answers
 * once this one has closed: by then the connection has written every byte, or dropped them.
 */
function answerBuffers(reply: FastifyReply): PooledBuffers {
  const buffers = new PooledBuffers()
  reply.raw.once('close', () => buffers.ended())
  return buffers
}

/**
 * The federation application. Not encapsulated (fastify-plugin), so its peer identification,
 * parsers and problem handler cover the whole instance, not-found answers included.
 */
export const federationApp = fp(federationRoutes, { name: 'caseway-federation', fastify: '5.x' })
