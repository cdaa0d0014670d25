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
import type { FastifyInstance } from 'fastify'
import type { NodeContext } from '../context.ts'
import { installProblemHandler } from '../http/problem_handler.ts'
import { installAuth } from './auth.ts'
import { caseRoutes } from './routes/cases.ts'
import { evidenceRoutes } from './routes/evidence.ts'
import { externalCaseRoutes } from './routes/external_cases.ts'
import { partnerRoutes } from './routes/partners.ts'
import { policyRoutes } from './routes/policies.ts'
import { shareRoutes } from './routes/shares.ts'
import { tokenRoutes } from './routes/tokens.ts'
import { SHARED_SCHEMAS, problems } from './schemas.ts'
import { localValidatorCompiler } from './validation.ts'

export interface LocalAppOptions {
  ctx: NodeContext
}

export const API_PREFIX = '/api/v1'

export async function localApp(app: FastifyInstance, options: LocalAppOptions): Promise<void> {
  const { ctx } = options
  installProblemHandler(app)
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  app.setValidatorCompiler(localValidatorCompiler(SHARED_SCHEMAS))
  // Every route reads JSON bodies up to the configured limit unless it sets its own.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= ctx.config.limits.jsonBodyBytes
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Caseway local API',
        version: '0.1.0',
        description: "The agency's own systems and administrators. Errors are RFC 9457 problem documents (application/problem+json) with stable codes.",
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token from POST /api/v1/tokens (cw_…).' } } },
      security: [{ bearerAuth: [] }],
    },
    refResolver: {
      // Shared schemas appear under their own names in components.schemas.
      buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${index}`),
    },
  })

  installAuth(app, ctx)

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        security: [],
        response: { 200: { description: 'The node is up', type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }, 500: problems()[500]! },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger())

  await app.register(
    async (api) => {
      tokenRoutes(api, ctx)
      partnerRoutes(api, ctx)
      policyRoutes(api, ctx)
      caseRoutes(api, ctx)
      evidenceRoutes(api, ctx)
      shareRoutes(api, ctx)
      externalCaseRoutes(api, ctx)
    },
    { prefix: API_PREFIX },
  )
}
