/**
 * The download listener (`links.downloadListener`, SPEC.md CW-LOC-039): a third listener, HTTPS
 * with the node's TLS certificate, off by default, that serves nothing but `GET` and `HEAD
 * /download/{token}` — the packages of link shares for e-mail recipients — with Range and
 * If-Range, rate limited per client address. A wrong, expired or revoked token gets one and the
 * same 404, so a token cannot be probed; every download is on the case's audit trail with its
 * time and the client address.
 *
 * @module
 */
import type { Server } from 'node:https'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR } from '../events.ts'
import { installObservability, observabilityOptions } from '../http/observability.ts'
import { installProblemHandler, problemFrameworkErrors } from '../http/problem_handler.ts'
import { installRateLimit } from '../http/rate_limit.ts'
import { DEADLINE_CHECK_MS, HEADERS_TIMEOUT_MS } from '../limits.ts'
import { SHARED_SCHEMAS } from '../local/schemas.ts'
import type { NodeMetrics } from '../operations/metrics.ts'
import { TOKEN_PATTERN, tokenHash } from './link_email.ts'
import { requireDownloadable } from './link_shares.ts'
import { servePackage } from './serve_package.ts'

/** The listener's key and certificate: the node's TLS identity, renewed on SIGHUP (`reloadIdentity`). */
export function downloadTls(ctx: NodeContext): { key: string; cert: string } {
  return { key: ctx.identity.tls.key, cert: ctx.identity.tls.cert }
}

export async function createDownloadServer(
  ctx: NodeContext,
  listener: NonNullable<NodeContext['config']['links']['downloadListener']>,
  logger: FastifyBaseLogger,
  metrics?: NodeMetrics,
): Promise<FastifyInstance<Server>> {
  const app = Fastify({
    loggerInstance: logger,
    https: {
      ...downloadTls(ctx),
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, ctx.config.limits.requestTimeoutMs),
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    },
    // A 50 GB download lasts as long as it lasts; a stalled connection is cut by the socket timeout.
    requestTimeout: 0,
    connectionTimeout: ctx.config.limits.requestTimeoutMs,
    return503OnClosing: true,
    exposeHeadRoutes: true,
    trustProxy: false,
    frameworkErrors: problemFrameworkErrors(),
    // The path holds the capability token: Fastify's request lines (which log the URL) are off,
    // and the line below names the route instead.
    ...observabilityOptions({ requestLines: false }),
  })
  app.addHook('onResponse', async (request, reply) => {
    const line = { method: request.method, route: request.routeOptions.url ?? '(no route)', statusCode: reply.statusCode, responseTime: reply.elapsedTime }
    request.log.info(line, 'download request answered')
  })
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  installObservability(app, 'download', metrics)
  installProblemHandler(app)
  await installRateLimit(app, { perMinute: listener.perMinute, key: (request) => `ip:${request.ip}` })
  const gone = () => new RequestError('CW_ERR_NOT_FOUND', 'no such download')

  app.get<{ Params: { token: string } }>('/download/:token', async (request, reply) => {
    const { token } = request.params
    if (!TOKEN_PATTERN.test(token)) throw gone()
    const link = await ctx.store.linkShares.findByTokenHash(tokenHash(token))
    if (link === undefined || link.recipient.kind !== 'email') throw gone()
    try {
      requireDownloadable(ctx, link)
    } catch {
      // Revoked, expired or not ready: the same answer as a wrong token.
      throw gone()
    }
    return servePackage(ctx, request, reply, link, SYSTEM_ACTOR, 'download-listener')
  })
  return app
}
