/**
 * The one place where errors become wire responses, for both listeners: RFC 9457 problem
 * documents with stable codes (SPEC.md §14). Only Caseway errors and fastify's own client
 * errors reveal detail; anything else is logged with its stack and answered with a bare
 * `CW_ERR_INTERNAL`.
 *
 * @module
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CasewayError, RequestError, toProblem, type ProblemCode } from '#protocol'
import type { RouteMethods } from './route_methods.ts'

export const PROBLEM_MEDIA_TYPE = 'application/problem+json'

/** fastify's client-error codes and the problem code each becomes. */
const FASTIFY_CODES: Readonly<Record<string, ProblemCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'CW_ERR_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'CW_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'CW_ERR_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'CW_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'CW_ERR_BAD_REQUEST',
  FST_ERR_VALIDATION: 'CW_ERR_BAD_REQUEST',
  FST_ERR_BAD_URL: 'CW_ERR_BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'CW_ERR_BAD_REQUEST',
  FST_ERR_RATE_LIMITED: 'CW_ERR_RATE_LIMITED',
  // @fastify/multipart (batch upload): a JSON part that is not JSON, a body that is not multipart.
  FST_INVALID_JSON_FIELD_ERROR: 'CW_ERR_BAD_REQUEST',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'CW_ERR_UNSUPPORTED_MEDIA_TYPE',
}

/**
 * A client error that carries no code of the table above (fastify's others, a plugin's, an
 * `http-errors` error): mapped by its status, with a fixed detail since its message is unknown.
 */
const CLIENT_STATUSES: Readonly<Record<number, { code: ProblemCode; detail: string }>> = {
  400: { code: 'CW_ERR_BAD_REQUEST', detail: 'bad request' },
  413: { code: 'CW_ERR_TOO_LARGE', detail: 'request too large' },
  414: { code: 'CW_ERR_BAD_REQUEST', detail: 'request URL too long' },
  415: { code: 'CW_ERR_UNSUPPORTED_MEDIA_TYPE', detail: 'unsupported media type' },
}

/** Maps any error to a Caseway error; unknown errors become CW_ERR_INTERNAL. */
export function asCasewayError(error: unknown): { error: CasewayError; internal: boolean } {
  if (error instanceof CasewayError) return { error, internal: false }
  const fastifyError = error as Partial<FastifyError> | undefined
  const mapped = fastifyError?.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code]
  if (mapped !== undefined) {
    const at = fastifyError?.validation?.[0]?.instancePath
    const detail =
      fastifyError?.code === 'FST_ERR_VALIDATION'
        ? `${fastifyError.validationContext ?? 'request'}${at ?? ''} ${fastifyError.validation?.[0]?.message ?? 'is invalid'}`
        : (fastifyError?.message ?? 'invalid request')
    return { error: new CasewayError(mapped, detail, at ? { at } : undefined), internal: false }
  }
  const byStatus = typeof fastifyError?.statusCode === 'number' ? CLIENT_STATUSES[fastifyError.statusCode] : undefined
  if (byStatus !== undefined) return { error: new CasewayError(byStatus.code, byStatus.detail), internal: false }
  return { error: new RequestError('CW_ERR_INTERNAL', 'internal error'), internal: true }
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: CasewayError): FastifyReply {
  const problem = toProblem(error, request.url.split('?')[0])
  if (error.code === 'CW_ERR_TOO_LARGE' && !request.raw.complete) drainAfterAnswer(reply, request)
  return reply.code(problem.status).type(PROBLEM_MEDIA_TYPE).send(problem)
}

/**
 * spec: CW-FED-013 — a body over the limit is answered 413 while the client may still be
 * sending. fastify marks that answer `Connection: close`, and closing a socket with unread
 * bytes arriving resets it, which can destroy the answer before the client reads it. Instead
 * the connection is kept: the rest of the body is read and discarded (the request stream keeps
 * flowing with no listener; Node's HTTP parser keeps the framing) and the connection serves
 * the next request, or is closed by the request deadline (`requestTimeoutMs`, CW-FED-011).
 */
function drainAfterAnswer(reply: FastifyReply, request: FastifyRequest): void {
  reply.removeHeader('connection')
  request.raw.resume()
}

/**
 * Installs the error and not-found handlers on an instance. `onProblem` (metrics) hears of
 * every problem answered, with its code. With `routeMethods`, a known path asked with another
 * method is answered `405` with `Allow` instead of `404`.
 */
export function installProblemHandler(
  app: FastifyInstance,
  onProblem?: (code: ProblemCode, request: FastifyRequest) => void,
  routeMethods?: RouteMethods,
): void {
  const answer = (reply: FastifyReply, request: FastifyRequest, error: CasewayError) => {
    onProblem?.(error.code, request)
    return sendProblem(reply, request, error)
  }
  app.setErrorHandler((error, request, reply) => {
    const { error: mapped, internal } = asCasewayError(error)
    if (internal) request.log.error({ err: error }, 'unhandled error')
    else request.log.info({ code: mapped.code, at: mapped.at }, 'request refused')
    return answer(reply, request, mapped)
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    // spec: CW-LOC-029 — a path that exists, asked with a method it does not have.
    const allowed = routeMethods?.allowed(path) ?? []
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '))
      return answer(
        reply,
        request,
        new RequestError('CW_ERR_METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`),
      )
    }
    return answer(reply, request, new RequestError('CW_ERR_NOT_FOUND', `no route ${request.method} ${path}`))
  })
}

/**
 * fastify's `frameworkErrors` option. A malformed URL or an overlong path parameter is refused
 * by the router before any hook or handler runs, and would otherwise be answered with fastify's
 * own JSON: with this, it is a problem document too (CW-ERR-001).
 */
export function problemFrameworkErrors(onProblem?: (code: ProblemCode, request: FastifyRequest) => void) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const { error: mapped } = asCasewayError(error)
    request.log.info({ code: mapped.code, fastifyCode: error.code }, 'request refused by the router')
    onProblem?.(mapped.code, request)
    void sendProblem(reply, request, mapped)
  }
}
