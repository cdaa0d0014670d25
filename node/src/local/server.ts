/**
 * The local listener: plain HTTP, bound by the caller to `config.local.host` (loopback unless a
 * proxy fronts it). Only process-level options live here; the routes are `localApp`.
 *
 * @module
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { NodeContext } from '../context.ts'
import { localApp } from './app.ts'

export interface LocalServerOptions {
  /** The node's pino logger (or `false` for none). */
  logger: FastifyBaseLogger | false
}

export async function createLocalServer(ctx: NodeContext, options: LocalServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: ctx.config.limits.jsonBodyBytes,
    // Uploads and downloads of large evidence last as long as they last; a stalled connection
    // is cut by the socket timeout instead.
    requestTimeout: 0,
    connectionTimeout: ctx.config.limits.requestTimeoutMs,
    return503OnClosing: true,
    exposeHeadRoutes: true,
    // Never trust X-Forwarded-* unless a deployment configures a proxy explicitly.
    trustProxy: false,
  })
  await app.register(localApp, { ctx })
  return app
}
