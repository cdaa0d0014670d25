/**
 * The conformance control endpoints EP-6..EP-9 and EP-13 (SPEC.md §21) as an encapsulated fastify
 * plugin under the federation application. `app.ts` registers it only when the operator
 * enabled `conformance.control` (CW-CTL-001); otherwise these paths are unknown (404).
 *
 * Requests are identified like every federation request (the application's `onRequest` hook:
 * verified client certificate, enabled partner) and rate-limited per partner. Only here are
 * `application/json` bodies parsed, at most 64 KiB; the handlers translate between HTTP and
 * `sending/conformance_control.ts`, which holds the rules.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  FEDERATION_PATHS,
  RequestError,
  type ControlPackageAnswer,
  type ControlRevisionAnswer,
  type ControlShareAnswer,
  type RevocationAnswer,
} from '#protocol'
import type { NodeContext } from '../context.ts'
import { controlEvidence, controlRevoke, controlShare, controlShareOnward } from '../sending/conformance_control.ts'
import { controlPackage, controlRevokePackage } from '../links/control_packages.ts'
import { CONTROL_BODY_MAX_BYTES } from '../limits.ts'
import { addProtocolSchemas, answer, problems } from './answers.ts'
import { peerOf } from './authenticate.ts'

export interface ConformanceControlOptions {
  ctx: NodeContext
}

const JSON_MEDIA_TYPE = 'application/json'

/** A parsed JSON body; any other body (application/jose) reaches a handler as a string. */
class JsonBody {
  readonly value: unknown
  constructor(value: unknown) {
    this.value = value
  }
}

/** The JSON body of a request; none at all is `{}` when `optional`. */
function jsonBody(request: FastifyRequest, optional = false): unknown {
  const { body } = request
  if (body instanceof JsonBody) return body.value
  if (body === undefined || body === null) {
    if (optional) return {}
    throw new RequestError('CW_ERR_BAD_REQUEST', `a ${JSON_MEDIA_TYPE} body is required`)
  }
  throw new RequestError('CW_ERR_UNSUPPORTED_MEDIA_TYPE', `body must be ${JSON_MEDIA_TYPE}`)
}

/** A body that is empty or `{}` (EP-7, EP-9); anything else is a bad request naming the field. */
function emptyBody(request: FastifyRequest): void {
  const body = jsonBody(request, true)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError('CW_ERR_BAD_REQUEST', 'the body is empty or {}', { at: '' })
  const extra = Object.keys(body)[0]
  if (extra !== undefined)
    throw new RequestError('CW_ERR_BAD_REQUEST', `unknown property "${extra}": the body is empty or {}`, {
      at: `/${extra.replaceAll('~', '~0').replaceAll('/', '~1')}`,
    })
}

/**
 * The plugin. Encapsulated (no fastify-plugin): its JSON parser and schemas stay inside, while
 * the federation application's hooks (peer identification, rate limit) and handlers still apply.
 */
export async function conformanceControl(app: FastifyInstance, { ctx }: ConformanceControlOptions): Promise<void> {
  addProtocolSchemas(app, ['control-share-answer', 'control-revision-answer', 'control-package-answer'])
  // spec: CW-CTL-001 — JSON bodies up to 64 KiB, in this scope only.
  app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string', bodyLimit: CONTROL_BODY_MAX_BYTES }, (_request, text, done) => {
    if (text === '') return done(null, undefined)
    try {
      done(null, new JsonBody(JSON.parse(text as string)))
    } catch {
      done(new RequestError('CW_ERR_BAD_REQUEST', 'body is not JSON'), undefined)
    }
  })

  // EP-6 — spec: CW-CTL-002, CW-CTL-003
  app.post(
    FEDERATION_PATHS.controlShares,
    { bodyLimit: CONTROL_BODY_MAX_BYTES, schema: { response: { 201: answer('control-share-answer'), ...problems } } },
    async (request, reply): Promise<ControlShareAnswer> => {
      const created = await controlShare(ctx, peerOf(request).org, jsonBody(request))
      reply.code(201)
      return created
    },
  )

  // EP-7 — spec: CW-CTL-002, CW-CTL-003
  app.post<{ Params: { shareId: string } }>(
    '/federation/v1/conformance/shares/:shareId/revoke',
    { bodyLimit: CONTROL_BODY_MAX_BYTES, schema: { response: { 200: answer('revocation-answer'), ...problems } } },
    async (request): Promise<RevocationAnswer> => {
      emptyBody(request)
      // A package EP-13 offered the caller is revoked here too (SPEC.md §21, EP-13).
      const revoked = await controlRevokePackage(ctx, peerOf(request).org, request.params.shareId)
      return revoked ?? controlRevoke(ctx, peerOf(request).org, request.params.shareId)
    },
  )

  // EP-8 — spec: CW-CTL-002, CW-CTL-003
  app.post<{ Params: { shareId: string } }>(
    '/federation/v1/conformance/shares/:shareId/evidence',
    { bodyLimit: CONTROL_BODY_MAX_BYTES, schema: { response: { 200: answer('control-revision-answer'), ...problems } } },
    async (request): Promise<ControlRevisionAnswer> => controlEvidence(ctx, peerOf(request).org, request.params.shareId, jsonBody(request)),
  )

  // EP-13 — spec: CW-CTL-002, CW-CTL-003
  app.post(
    FEDERATION_PATHS.controlPackages,
    { bodyLimit: CONTROL_BODY_MAX_BYTES, schema: { response: { 201: answer('control-package-answer'), ...problems } } },
    async (request, reply): Promise<ControlPackageAnswer> => {
      const created = await controlPackage(ctx, peerOf(request).org, jsonBody(request))
      reply.code(201)
      return created
    },
  )

  // EP-9 — spec: CW-CTL-002, CW-CTL-003
  app.post<{ Params: { shareId: string } }>(
    '/federation/v1/conformance/received-shares/:shareId/share-onward',
    { bodyLimit: CONTROL_BODY_MAX_BYTES, schema: { response: { 201: answer('control-share-answer'), ...problems } } },
    async (request, reply): Promise<ControlShareAnswer> => {
      emptyBody(request)
      const created = await controlShareOnward(ctx, peerOf(request).org, request.params.shareId)
      reply.code(201)
      return created
    },
  )
}
