/**
 * What an operator's monitoring reads on the local listener (public, never rate limited):
 * `GET /readyz` (readiness, `operations/readiness.ts`) and `GET /metrics` (Prometheus text,
 * `metrics/metrics.ts`; only when `metrics.enabled`). Liveness, `/healthz`, is in `app.ts`.
 * `metrics` also keeps the last successful exchange per partner, which readiness reports.
 *
 * `/readyz` answers `application/json` both ways — 200 `{status: "ready", checks}` or 503
 * `{status: "not-ready", checks}` — not a problem document: a probe reads the status code,
 * an operator the checks.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { NodeContext } from '../../context.ts'
import type { NodeMetrics } from '../../operations/metrics.ts'
import { CERTIFICATE_WARN_DAYS, checkReadiness } from '../../operations/readiness.ts'
import { problems } from '../schemas.ts'

const check = {
  type: 'object',
  required: ['status', 'detail'],
  properties: {
    status: { enum: ['pass', 'fail', 'info'], description: 'pass/fail decide readiness; info never does.' },
    detail: { type: 'string' },
  },
} as const

const certificate = {
  type: 'object',
  required: ['notBefore', 'notAfter', 'daysLeft'],
  properties: {
    notBefore: { type: 'string', format: 'date-time' },
    notAfter: { type: 'string', format: 'date-time' },
    daysLeft: { type: 'integer', description: 'Whole days until notAfter; negative once expired.' },
  },
} as const

const readinessSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { enum: ['ready', 'not-ready'] },
    checks: {
      type: 'object',
      required: ['metadataStore', 'blobStore', 'certificates', 'partners'],
      properties: {
        metadataStore: { ...check, description: 'The metadata store answers a trivial query.' },
        blobStore: { ...check, description: 'The blob store writes, reads back and deletes a probe.' },
        certificates: {
          type: 'object',
          description: `node.crt, signing.crt and ca.crt are valid now; one expiring within ${CERTIFICATE_WARN_DAYS} days is named in warnings but keeps the node ready.`,
          required: ['status', 'detail', 'certificates'],
          properties: {
            ...check.properties,
            certificates: { type: 'object', properties: { node: certificate, signing: certificate, ca: certificate } },
            warnings: { type: 'array', items: { type: 'string' } },
          },
        },
        partners: {
          type: 'object',
          description: 'Informative (never fails readiness): the last successful exchange with each partner, kept across restarts.',
          required: ['status', 'detail', 'partners'],
          properties: {
            ...check.properties,
            partners: {
              type: 'array',
              items: {
                type: 'object',
                required: ['org', 'name', 'enabled', 'lastSuccess'],
                properties: {
                  org: { type: 'string' },
                  name: { type: 'string' },
                  enabled: { type: 'boolean' },
                  lastSuccess: { type: ['string', 'null'], format: 'date-time' },
                },
              },
            },
          },
        },
      },
    },
  },
} as const

export interface OperationsRoutesOptions {
  /** Whether /readyz lists partners (names, last contact): not on the ops listener, which is reachable beyond loopback. */
  partners?: boolean
}

export function operationsRoutes(app: FastifyInstance, ctx: NodeContext, metrics: NodeMetrics | undefined, options: OperationsRoutesOptions = {}): void {
  const showPartners = options.partners ?? true
  app.get(
    '/readyz',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: metadata store, blob store, certificate expiry (and partner contacts, informative)',
        security: [],
        response: {
          200: { ...readinessSchema, description: 'Ready: every check passes (application/json)' },
          503: { ...readinessSchema, description: 'Not ready: at least one check fails (application/json, not a problem document)' },
          500: problems()[500]!,
        },
      },
    },
    async (request, reply) => {
      const readiness = await checkReadiness(ctx, metrics === undefined ? {} : { lastSuccess: metrics.lastSuccess })
      if (!showPartners) {
        const { partners } = readiness.checks
        readiness.checks.partners = {
          status: partners.status,
          detail: `${partners.partners.length} partners (listed on the local listener only)`,
          partners: [],
        }
      }
      for (const warning of readiness.checks.certificates.warnings ?? []) request.log.warn({ warning }, 'certificate expires soon')
      return reply.code(readiness.status === 'ready' ? 200 : 503).send(readiness)
    },
  )

  if (metrics === undefined || !ctx.config.metrics.enabled) return
  app.get(
    '/metrics',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        security: [],
        response: {
          200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          500: problems()[500]!,
        },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.expose()),
  )
}
