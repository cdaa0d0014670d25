/**
 * The local API: the agency's own systems and administrators (never the partner-facing port).
 * A fastify plugin; `server.ts` gives it its own HTTP listener.
 *
 * Order matters: the problem handler, validation and the OpenAPI generator are installed
 * before any route, so every route is documented and answers problems the same way.
 *
 * @module
 */
import swagger from '@fastify/swagger'
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { NodeContext } from '../context.ts'
import { installProblemHandler } from '../http/problem_handler.ts'
import { installRateLimit } from '../http/rate_limit.ts'
import { RouteMethods } from '../http/route_methods.ts'
import { allowedHostNames, requireAllowedHost } from '../http/host_check.ts'
import { createMetrics, type NodeMetrics } from '../operations/metrics.ts'
import { bearerToken, installAuth } from './auth.ts'
import { nameOperation } from './operation_ids.ts'
import { documentProblems } from './problem_responses.ts'
import { auditRoutes } from './routes/audit.ts'
import { caseAccessRoutes } from './routes/case_access.ts'
import { caseRoutes } from './routes/cases.ts'
import { blobRoutes } from './routes/blobs.ts'
import { operationsRoutes } from './routes/operations.ts'
import { evidenceRoutes } from './routes/evidence.ts'
import { externalCaseRoutes } from './routes/external_cases.ts'
import { jobRoutes } from './routes/jobs.ts'
import { linkShareRoutes } from './routes/link_shares.ts'
import { inboundPackageRoutes } from '../inbound_packages/routes.ts'
import { partnerRoutes } from './routes/partners.ts'
import { policyRoutes } from './routes/policies.ts'
import { principalRoutes } from './routes/principals.ts'
import { revisionRoutes } from './routes/revisions.ts'
import { shareRoutes } from './routes/shares.ts'
import { tokenRoutes } from './routes/tokens.ts'
import { SHARED_SCHEMAS, problems, type LocalTypeProvider } from './schemas.ts'
import { localValidatorCompiler } from './validation.ts'

export interface LocalAppOptions {
  ctx: NodeContext
  /**
   * The node's metrics, served at /metrics when `metrics.enabled`. Without them the app makes
   * its own (store and certificate gauges, process metrics; nothing it is not told about).
   */
  metrics?: NodeMetrics
}

/** Rate-limit key of a local request: its bearer token (hashed; never kept as such), else its address. */
function localRateKey(request: FastifyRequest): string {
  const token = bearerToken(request.headers.authorization)
  return token === undefined ? `ip:${request.ip}` : `token:${createHash('sha256').update(token).digest('hex')}`
}

export const API_PREFIX = '/api/v1'

export async function localApp(app: FastifyInstance, options: LocalAppOptions): Promise<void> {
  const { ctx } = options
  // spec: CW-LOC-029 — every route registered from here on is known to the not-found handler.
  const routeMethods = new RouteMethods()
  app.addHook('onRoute', routeMethods.onRoute)
  installProblemHandler(app, undefined, routeMethods)
  // spec: CW-LOC-014 — before everything else: a request for another host is answered nothing but 421.
  app.addHook('onRequest', requireAllowedHost(allowedHostNames(ctx.config.local.host, ctx.config.local.allowedHosts)))
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  app.setValidatorCompiler(localValidatorCompiler(SHARED_SCHEMAS))
  // Every route reads JSON bodies up to the configured limit unless it sets its own.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= ctx.config.limits.jsonBodyBytes
  })
  // Every documented route lists the problems authentication, validation and limits may answer.
  app.addHook('onRoute', documentProblems)
  app.addHook('onRoute', nameOperation)

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Caseway local API',
        version: '0.1.0',
        description: "The agency's own systems and administrators. Errors are RFC 9457 problem documents (application/problem+json) with stable codes.",
      },
      // spec: CW-LOC-024 — first the listener that serves this document (a relative URL, right
      // behind a proxy too), then the configured address with the host and port as variables.
      servers: [
        { url: '/', description: 'The local listener that served this document' },
        {
          url: 'http://{host}:{port}',
          description: "This node's configured local listener (local.host, local.port)",
          variables: {
            host: { default: ctx.config.local.host.includes(':') ? `[${ctx.config.local.host}]` : ctx.config.local.host },
            port: { default: String(ctx.config.local.port) },
          },
        },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token from POST /api/v1/tokens (cw_…).' } } },
      security: [{ bearerAuth: [] }],
    },
    refResolver: {
      // Shared schemas appear under their own names in components.schemas.
      buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${index}`),
    },
  })

  // Before authentication, so that guessing tokens is limited too.
  await installRateLimit(app, { perMinute: ctx.config.limits.rateLimit.localPerMinute, key: localRateKey })
  installAuth(app, ctx)
  // spec: CW-LOC-023 — a 401 says how to authenticate (RFC 9110 §11.6.1).
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="caseway"')
    return payload
  })
  // spec: CW-LOC-023 — JSON routes take JSON: a text/plain body is 415, not a 400 from the schema.
  app.removeContentTypeParser('text/plain')

  app.get(
    '/healthz',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        security: [],
        response: {
          200: { description: 'The node is up', type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
          500: problems()[500]!,
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger())
  operationsRoutes(app, ctx, options.metrics ?? (ctx.config.metrics.enabled ? createMetrics(ctx) : undefined))

  await app.register(
    async (untyped) => {
      const api = untyped.withTypeProvider<LocalTypeProvider>()
      tokenRoutes(api, ctx)
      principalRoutes(api, ctx)
      partnerRoutes(api, ctx)
      policyRoutes(api, ctx)
      caseRoutes(api, ctx)
      caseAccessRoutes(api, ctx)
      evidenceRoutes(api, ctx)
      shareRoutes(api, ctx)
      linkShareRoutes(api, ctx)
      inboundPackageRoutes(api, ctx)
      externalCaseRoutes(api, ctx)
      revisionRoutes(api, ctx)
      auditRoutes(api, ctx)
      jobRoutes(api, ctx)
      blobRoutes(api, ctx)
    },
    { prefix: API_PREFIX },
  )
}
