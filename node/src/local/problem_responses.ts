/**
 * The problems the framework answers on a route, whatever its handler does: documented on
 * every route of the local API by an `onRoute` hook, so the OpenAPI document lists each
 * status a route can answer without every route repeating them.
 *
 * - 500 always;
 * - 401 unless the route is public; 403 when it needs the admin role;
 * - 429 unless the route opts out of rate limiting (`config.rateLimit: false`);
 * - 400 when anything of the request is validated or the path has parameters (a malformed or
 *   overlong one is refused by the router); 400, 413 and 415 when it takes a body.
 *
 * A status the route documents itself is left as it is.
 *
 * @module
 */
import type { RouteOptions } from 'fastify'
import { problems } from './schemas.ts'

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** The statuses fastify, authentication and rate limiting may answer on `route`. */
export function frameworkStatuses(route: Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>): number[] {
  const statuses = [500]
  const config = (route.config ?? {}) as { public?: boolean; role?: string; rateLimit?: unknown }
  if (config.public !== true) statuses.push(401)
  if (config.role === 'admin') statuses.push(403)
  if (config.rateLimit !== false) statuses.push(429)
  const schema = route.schema ?? {}
  const takesBody = [route.method].flat().some((method) => BODY_METHODS.has(method))
  if (takesBody) statuses.push(400, 413, 415)
  else if (route.url.includes(':') || schema.params !== undefined || schema.querystring !== undefined || schema.headers !== undefined) statuses.push(400)
  return statuses
}

/** `onRoute` hook: adds the missing framework problems to a documented route's responses. */
export function documentProblems(route: RouteOptions): void {
  const schema = route.schema
  if (schema?.response === undefined || (schema as { hide?: boolean }).hide === true) return
  const response = { ...(schema.response as Record<string, unknown>) }
  for (const status of frameworkStatuses(route)) {
    response[String(status)] ??= problems(status)[status]
  }
  route.schema = { ...schema, response }
}
