/**
 * The local listener: plain HTTP, bound by the caller to `config.local.host` (loopback unless a
 * proxy fronts it). Only process-level options live here; the routes are `localApp`.
 *
 * @module
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { NodeContext } from '../context.ts'
import { installObservability, observabilityOptions } from '../http/observability.ts'
import { problemFrameworkErrors } from '../http/problem_handler.ts'
import { DEADLINE_CHECK_MS, HEADERS_TIMEOUT_MS, MAX_PARAM_LENGTH } from '../limits.ts'
import type { NodeMetrics } from '../operations/metrics.ts'
import { localApp } from './app.ts'

export interface LocalServerOptions {
  /** The node's pino logger (or `false` for none). */
  logger: FastifyBaseLogger | false
  /** The node's metrics, served at /metrics (default: a registry of this listener's own). */
  metrics?: NodeMetrics
}

export async function createLocalServer(ctx: NodeContext, options: LocalServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: ctx.config.limits.jsonBodyBytes,
    // Uploads and downloads of large evidence last as long as they last; a stalled connection
    // is cut by the socket timeout instead, and headers must arrive within the headers timeout.
    requestTimeout: 0,
    connectionTimeout: ctx.config.limits.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, ctx.config.limits.requestTimeoutMs),
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    },
    return503OnClosing: true,
    exposeHeadRoutes: true,
    // Never trust X-Forwarded-* unless a deployment configures a proxy explicitly.
    trustProxy: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: problemFrameworkErrors(),
    ...observabilityOptions(),
  })
  installObservability(app, 'local', options.metrics)
  await app.register(localApp, options.metrics === undefined ? { ctx } : { ctx, metrics: options.metrics })
  return app
}
