/**
 * What every listener does for the operator, whatever it serves (CW-LOC-022):
 * - a request id per request: the caller's `X-Request-Id` when it is a sane token (so one id
 *   follows a request through a proxy and into our log), else a random UUID — unique across
 *   listeners and restarts, unlike Fastify's per-listener counter; echoed in `X-Request-Id`
 *   and logged with every line of the request (`reqId`);
 * - `caseway_http_request_duration_seconds{listener,method,route,status}`;
 * - probes and scrapes (`/healthz`, `/readyz`, `/metrics`) logged at debug, not two info
 *   lines every few seconds;
 * - chunk pulls (EP-2, thousands per share; EP-20 batches, by their route) logged at debug when they succeed — one line each,
 *   with the response time — and at info when refused; the transfer as a whole gets one info
 *   summary per side instead (`chunks served` on the sender, `chunks stored` on the receiver);
 * - every other request keeps Fastify's info lines.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { LogController, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { NodeMetrics } from '../operations/metrics.ts'

export const REQUEST_ID_HEADER = 'x-request-id'
/** A caller's request id is kept only when it is short and printable without escaping. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/
/** Paths polled by orchestrators and Prometheus. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics'])

/** EP-2, `/federation/v1/shares/{id}/chunks/{digest}` (either digest form). */
const CHUNK_PATH = /^\/federation\/v1\/shares\/[^/]+\/chunks\/[^/]+$/
/** EP-20, `/federation/v1/shares/{id}/chunk-batches`: its route logs one line per batch, with the digests. */
const CHUNK_BATCH_PATH = /^\/federation\/v1\/shares\/[^/]+\/chunk-batches$/

function pathOf(url: string | undefined): string {
  return (url ?? '').split('?')[0]!
}

function isProbe(url: string | undefined): boolean {
  return PROBE_PATHS.has(pathOf(url))
}

/** A chunk pull: one of thousands in a transfer, summarised per transfer at info. */
export function isChunkRequest(url: string | undefined): boolean {
  return CHUNK_PATH.test(pathOf(url))
}

/**
 * Fastify server options: request ids as above, probe requests out of the info log. With
 * `requestLines: false`, none of Fastify's request lines (the listener logs its own).
 */
export function observabilityOptions(options: { requestLines?: false } = {}) {
  const quiet = (request: FastifyRequest) => isProbe(request.raw.url) || isChunkRequest(request.raw.url) || CHUNK_BATCH_PATH.test(pathOf(request.raw.url))
  return {
    requestIdHeader: false as const,
    genReqId(request: IncomingMessage): string {
      const given = request.headers[REQUEST_ID_HEADER]
      return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID()
    },
    logController: new LogController({ requestIdLogLabel: 'reqId', disableRequestLogging: options.requestLines === false ? true : quiet }),
  }
}

/** Hooks: echo the request id, time each request, log probes and chunk pulls at debug (a refused chunk pull at info). */
export function installObservability(app: FastifyInstance, listener: string, metrics: Pick<NodeMetrics, 'requestAnswered'> | undefined): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id)
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(no route)'
    metrics?.requestAnswered(listener, request.method, route, reply.statusCode, reply.elapsedTime / 1000)
    if (isProbe(request.url)) {
      request.log.debug({ method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime }, 'probe answered')
    } else if (isChunkRequest(request.url)) {
      const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime }
      if (reply.statusCode < 400) request.log.debug(line, 'chunk request answered')
      else request.log.info(line, 'chunk request refused')
    }
  })
}
