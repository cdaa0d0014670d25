/**
 * Bearer authentication and roles of the local API, in an `onRequest` hook (before the body is
 * read). Every route needs a valid token unless its config says `public: true`; a route with
 * `role: 'admin'` needs an administrator's.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { Role } from '../store/metadata_store.ts'
import { authenticate, type Principal } from '../access/tokens.ts'
import { FailedAuthLimiter } from './auth_failures.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No authentication (health, the OpenAPI document). */
    public?: boolean
    /** The role a route needs; any authenticated caller when absent. */
    role?: Role
  }
  interface FastifyRequest {
    /** The authenticated caller of a local API route; null on public routes. */
    principal: Principal | null
  }
}

const BEARER = /^Bearer +(\S+) *$/i

/** The token of an `Authorization: Bearer …` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1]
}

export function installAuth(app: FastifyInstance, ctx: NodeContext): void {
  const failures = new FailedAuthLimiter(ctx.config.limits.rateLimit.failedAuthPerMinute, ctx.clock)
  app.decorateRequest('principal', null)
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config
    if (config.public === true) return
    // An address that failed too often is not heard, whatever it presents now (CW-LOC-012).
    const wait = failures.retryAfter(request.ip)
    if (wait > 0) {
      void reply.header('retry-after', String(wait))
      throw new RequestError('CW_ERR_RATE_LIMITED', `too many failed authentications from this address; retry in ${wait} seconds`)
    }
    let principal: Principal
    try {
      principal = await authenticate(ctx, bearerToken(request.headers.authorization))
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 'CW_ERR_UNAUTHENTICATED') {
        failures.fail(request.ip)
        request.log.warn({ ip: request.ip, url: request.routeOptions.url }, 'authentication failed')
      }
      throw err
    }
    request.principal = principal
    if (config.role === 'admin' && principal.role !== 'admin') {
      request.log.warn({ userId: principal.userId, url: request.routeOptions.url }, 'role refused')
      throw new RequestError('CW_ERR_FORBIDDEN', 'this operation needs the admin role')
    }
  })
}

/** The caller of an authenticated route. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new RequestError('CW_ERR_UNAUTHENTICATED', 'missing or invalid bearer token')
  return request.principal
}
