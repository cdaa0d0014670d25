/**
 * The optional ops listener (`ops: {host, port}` in caseway.json, CW-LOC-022): plain HTTP with
 * `/healthz`, `/readyz` and `/metrics` only, so that kubelet and Prometheus reach them without
 * the local (admin) API being exposed. Its `/readyz` does not name partners. Anything else
 * answers 404 `CW_ERR_NOT_FOUND`.
 *
 * @module
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { NodeContext } from '../context.ts'
import { installObservability, observabilityOptions } from '../http/observability.ts'
import { installProblemHandler, problemFrameworkErrors } from '../http/problem_handler.ts'
import { DEADLINE_CHECK_MS, HEADERS_TIMEOUT_MS } from '../limits.ts'
import { operationsRoutes } from '../local/routes/operations.ts'
import { SHARED_SCHEMAS } from '../local/schemas.ts'
import type { NodeMetrics } from './metrics.ts'

export async function createOpsServer(ctx: NodeContext, logger: FastifyBaseLogger, metrics: NodeMetrics): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    connectionTimeout: ctx.config.limits.requestTimeoutMs,
    requestTimeout: ctx.config.limits.requestTimeoutMs,
    http: { headersTimeout: Math.min(HEADERS_TIMEOUT_MS, ctx.config.limits.requestTimeoutMs), connectionsCheckingInterval: DEADLINE_CHECK_MS },
    return503OnClosing: true,
    trustProxy: false,
    frameworkErrors: problemFrameworkErrors(),
    ...observabilityOptions(),
  })
  // The routes' answers are described with the local API's shared schemas (the problem document).
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  installObservability(app, 'ops', metrics)
  installProblemHandler(app)
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' as const }))
  operationsRoutes(app, ctx, metrics, { partners: false })
  return app
}
