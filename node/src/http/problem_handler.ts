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
  FST_ERR_RATE_LIMITED: 'CW_ERR_RATE_LIMITED',
}

/** Maps any error to a Caseway error; unknown errors become CW_ERR_INTERNAL. */
export function asCasewayError(error: unknown): { error: CasewayError; internal: boolean } {
  if (error instanceof CasewayError) return { error, internal: false }
  const fastifyError = error as Partial<FastifyError> | undefined
  const mapped = fastifyError?.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code]
  if (mapped !== undefined) {
    const at = fastifyError?.validation?.[0]?.instancePath
    const detail = fastifyError?.code === 'FST_ERR_VALIDATION' ? `${fastifyError.validationContext ?? 'request'}${at ?? ''} ${fastifyError.validation?.[0]?.message ?? 'is invalid'}` : (fastifyError?.message ?? 'invalid request')
    return { error: new CasewayError(mapped, detail, at ? { at } : undefined), internal: false }
  }
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode === 413) {
    return { error: new RequestError('CW_ERR_BAD_REQUEST', 'request too large'), internal: false }
  }
  return { error: new RequestError('CW_ERR_INTERNAL', 'internal error'), internal: true }
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: CasewayError): FastifyReply {
  const problem = toProblem(error, request.url.split('?')[0])
  return reply.code(problem.status).type(PROBLEM_MEDIA_TYPE).send(problem)
}

/** Installs the error and not-found handlers on an instance. */
export function installProblemHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { error: mapped, internal } = asCasewayError(error)
    if (internal) request.log.error({ err: error }, 'unhandled error')
    else request.log.info({ code: mapped.code, at: mapped.at }, 'request refused')
    return sendProblem(reply, request, mapped)
  })
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new RequestError('CW_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  )
}
