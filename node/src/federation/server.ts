/**
 * The partner-facing listener: HTTPS with mutual TLS 1.3 (CW-TLS-001, CW-TLS-002), serving the
 * federation application and nothing else. TLS asks for a client certificate but is given no
 * CA list, so the CertificateRequest names no CA (CW-TLS-005); the connection gate checks the
 * chain against the pinned CAs right after the handshake and closes the connection when it
 * reaches none (`connection_gate.ts`), and every request is then bound to an enabled partner
 * (`authenticate.ts`, CW-TLS-006). The caller listens and closes; `reloadTrust` swaps the
 * pinned CAs in place for new connections when partners change.
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
import { pinnedCaAnchors } from '../partners/trust_anchors.ts'
import { federationApp, type FederationObserver } from './app.ts'
import { installConnectionGate } from './connection_gate.ts'

export interface FederationServer {
  /** Not listening yet: `await app.listen({ host, port })`, `await app.close()`. */
  app: FastifyInstance<Server>
  /**
   * Admits exactly the currently pinned CAs, and presents this node's current certificate
   * (`ctx.identity`, renewed on SIGHUP), from the next connection on (wire it to
   * `ctx.trustChanged`). Resolves to the number of CAs pinned.
   */
  reloadTrust(): Promise<number>
  /**
   * Re-reads the pinned CAs and swaps them in only if they changed (quietly otherwise): how a
   * replica learns of a partner another replica imported into the shared store (CW-LOC-053).
   */
  refreshTrust(): Promise<void>
}

export interface FederationServerOptions {
  /** Logger of the listener's requests; default `ctx.log`. */
  logger?: Logger
  /** Told what the listener did (the node's metrics). */
  observer?: FederationObserver
  /** Times each request (`caseway_http_request_duration_seconds`). */
  requestMetrics?: Pick<NodeMetrics, 'requestAnswered'>
}

export async function createFederationServer(ctx: NodeContext, options: FederationServerOptions = {}): Promise<FederationServer> {
  // spec: CW-TLS-001 (TLS 1.3 only), CW-TLS-002 (client certificate required, verified by the gate).
  const tls = () => ({ key: ctx.identity.tls.key, cert: ctx.identity.tls.cert, minVersion: 'TLSv1.3' }) as const
  const log = options.logger ?? ctx.log
  const { requestTimeoutMs } = ctx.config.limits
  const app = fastify({
    loggerInstance: log as FastifyBaseLogger,
    https: {
      ...tls(),
      // spec: CW-TLS-005 — no `ca`: TLS names no CA in its CertificateRequest, and Node's own
      // verdict (against its default roots, CW-TRUST-004) is ignored; the gate decides.
      requestCert: true,
      rejectUnauthorized: false,
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
  const initial = await pinnedCaAnchors(ctx.store)
  const gate = installConnectionGate(app.server, initial, log, () => ctx.clock.now())
  const anchorsKey = (anchors: Awaited<ReturnType<typeof pinnedCaAnchors>>) => JSON.stringify(anchors.map((a) => JSON.stringify([a.org, a.certificate])).sort())
  let pinned = anchorsKey(initial)
  installObservability(app, 'federation', options.requestMetrics)
  await app.register(federationApp, options.observer === undefined ? { ctx } : { ctx, observer: options.observer })
  return {
    app,
    async reloadTrust() {
      const anchors = await pinnedCaAnchors(ctx.store)
      gate.setAnchors(anchors)
      pinned = anchorsKey(anchors)
      app.server.setSecureContext(tls())
      ctx.log.info({ pinnedCas: anchors.length }, 'federation listener trust reloaded')
      return anchors.length
    },
    async refreshTrust() {
      const anchors = await pinnedCaAnchors(ctx.store)
      const key = anchorsKey(anchors)
      if (key === pinned) return
      gate.setAnchors(anchors)
      pinned = key
      ctx.log.info({ pinnedCas: anchors.length }, 'federation listener trust refreshed from the shared store')
    },
  }
}
