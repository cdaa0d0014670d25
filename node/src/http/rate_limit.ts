/**
 * Request rate limits for both listeners, with `@fastify/rate-limit`: a fixed one-minute
 * window per key, or a one-second window (`Retry-After: 1`) where a per-second limit is set. The federation listener keys by the verified peer organization
 * (CW-FED-012), the local listener by bearer token (or client address without one).
 *
 * The limiter is an instance-wide `onRequest` hook added where the caller calls
 * {@link installRateLimit}, so the caller decides what runs before it (the federation
 * listener identifies the peer first; the local listener limits before authenticating, so
 * that guessing tokens is limited too). A route opts out with `config: { rateLimit: false }`
 * (the monitoring endpoints). A limited request is answered through the problem handler:
 * `429 CW_ERR_RATE_LIMITED` with `Retry-After` (seconds).
 *
 * @module
 */
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RequestError } from '#protocol'

export interface RateLimitOptions {
  /** Requests per key and minute; 0 = no limit. */
  perMinute: number
  /** Requests per key and second instead (a one-second window, `Retry-After: 1`); 0 or absent = use `perMinute`. */
  perSecond?: number
  /** The key of a request (the hook runs after the `onRequest` hooks added before it). */
  key(request: FastifyRequest): string
}

export async function installRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  // One limiter per request: @fastify/rate-limit runs only the first of several on a request.
  const window = (options.perSecond ?? 0) > 0 ? { max: options.perSecond!, ms: 1_000, unit: 'second' } : { max: options.perMinute, ms: 60_000, unit: 'minute' }
  if (window.max === 0) return
  await app.register(rateLimit, {
    global: false,
    // Only Retry-After: the other x-ratelimit-* headers would tell a client the budget of its key.
    addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': true },
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
  })
  const limit = app.rateLimit({
    max: window.max,
    timeWindow: window.ms,
    keyGenerator: options.key,
    errorResponseBuilder: (_request, context) =>
      new RequestError('CW_ERR_RATE_LIMITED', `more than ${context.max} requests per ${window.unit}; retry in ${context.after}`),
  })
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.rateLimit === false) return
    await limit.call(app, request, reply)
  })
}
