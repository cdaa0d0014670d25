/**
 * The partner-facing listener: HTTPS with mutual TLS 1.3, trusting only the CAs of enabled
 * partners (CW-TLS-001, CW-TLS-002, CW-TRUST-004), serving the federation application and
 * nothing else. The caller listens and closes; `reloadTrust` swaps the trusted CAs in place
 * for new connections when partners change.
 *
 * @module
 */
import type { Server } from 'node:https'
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { NodeContext } from '../context.ts'
import { installObservability, observabilityOptions } from '../http/observability.ts'
import { problemFrameworkErrors } from '../http/problem_handler.ts'
import type { NodeMetrics } from '../operations/metrics.ts'
import { DEADLINE_CHECK_MS, HANDSHAKE_TIMEOUT_MS, HEADERS_TIMEOUT_MS, MAX_PARAM_LENGTH } from '../limits.ts'
import { federationApp, type FederationObserver } from './app.ts'

export interface FederationServer {
  /** Not listening yet: `await app.listen({ host, port })`, `await app.close()`. */
  app: FastifyInstance<Server>
  /**
   * Trusts exactly the current partners' CAs, and presents this node's current certificate
   * (`ctx.identity`, renewed on SIGHUP), from the next handshake on (wire it to `ctx.trustChanged`).
   * Resolves to the number of CAs trusted.
   */
  reloadTrust(): Promise<number>
}

export interface FederationServerOptions {
  /** Logger of the listener's requests; default `ctx.log`. */
  logger?: Logger
  /** Told what the listener did (the node's metrics). */
  observer?: FederationObserver
  /** Times each request (`caseway_http_request_duration_seconds`). */
  requestMetrics?: Pick<NodeMetrics, 'requestAnswered'>
}

/**
 * The CA certificates a client certificate may chain to: the enabled partners' that are not
 * trust-only (the TLS anchors, CW-PROV-008). With none, this organization's own CA stands in: an empty list would make
 * Node fall back to its default roots, which CW-TRUST-004 forbids.
 */
async function clientCas(ctx: NodeContext): Promise<string[]> {
  const anchors = await ctx.tlsAnchors()
  return anchors.length > 0 ? anchors.map((anchor) => anchor.certificate) : [ctx.identity.caCertificate]
}

export async function createFederationServer(ctx: NodeContext, options: FederationServerOptions = {}): Promise<FederationServer> {
  // spec: CW-TLS-001 (TLS 1.3 only), CW-TLS-002 (client certificate required and verified).
  const tls = () => ({ key: ctx.identity.tls.key, cert: ctx.identity.tls.cert, minVersion: 'TLSv1.3' }) as const
  const { requestTimeoutMs } = ctx.config.limits
  const app = fastify({
    loggerInstance: (options.logger ?? ctx.log) as FastifyBaseLogger,
    https: {
      ...tls(),
      ca: await clientCas(ctx),
      requestCert: true,
      rejectUnauthorized: true,
      // spec: CW-FED-011 — slow clients are timed out (bodies are bounded per route).
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs),
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    },
    connectionTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    bodyLimit: ctx.config.limits.jsonBodyBytes,
    trustProxy: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: problemFrameworkErrors(options.observer && ((code) => options.observer!.problemAnswered(code))),
    ...observabilityOptions(),
  })
  installObservability(app, 'federation', options.requestMetrics)
  await app.register(federationApp, options.observer === undefined ? { ctx } : { ctx, observer: options.observer })
  return {
    app,
    async reloadTrust() {
      const ca = await clientCas(ctx)
      app.server.setSecureContext({ ...tls(), ca })
      ctx.log.info({ trustedCas: ca.length }, 'federation listener trust reloaded')
      return ca.length
    },
  }
}
