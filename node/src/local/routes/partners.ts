/**
 * Partner administration: import a partner bundle, list, enable or disable, assign the sharing
 * policy of new shares.
 *
 * @module
 */
import type { NodeContext } from '../../context.ts'
import { assignPolicy, importPartner, listPartners, setPartnerEnabled } from '../../partners/partners.ts'
import { inputSchemas, paramsSchemas, problems, ref, type LocalApi } from '../schemas.ts'

const ADMIN = { role: 'admin' } as const

export function partnerRoutes(app: LocalApi, ctx: NodeContext): void {
  app.post(
    '/partners',
    {
      config: ADMIN,
      schema: {
        tags: ['partners'],
        summary: 'Import (or re-import) a partner from its bundle and the CA fingerprint exchanged out of band',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['bundle', 'fingerprint'],
          properties: {
            bundle: { type: 'object', description: 'The partner bundle (partner-bundle.json), checked as SPEC.md CW-TRUST-001..003 say.' },
            fingerprint: { type: 'string', maxLength: 200, description: 'sha256:<hex>, bare hex or OpenSSL colon form, from the partner directly.' },
            trustOnly: {
              type: 'boolean',
              default: false,
              description:
                'Pin the CA only as a trust anchor for signed objects (an originator of onward-shared cases, SPEC.md CW-PROV-008): never trusted for TLS, never shared with.',
            },
          },
        },
        response: { 201: ref('Partner', 'The pinned partner'), ...problems(400, 403, 422) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await importPartner(ctx, request.body.bundle, request.body.fingerprint, { trustOnly: request.body.trustOnly === true })),
  )

  app.get(
    '/partners',
    {
      config: ADMIN,
      schema: {
        tags: ['partners'],
        summary: 'List partners',
        response: {
          200: { description: 'The partners', type: 'object', required: ['partners'], properties: { partners: { type: 'array', items: ref('Partner') } } },
          ...problems(403),
        },
      },
    },
    async () => ({ partners: await listPartners(ctx) }),
  )

  for (const action of ['enable', 'disable'] as const) {
    app.post(
      `/partners/:org/${action}`,
      {
        config: ADMIN,
        schema: {
          tags: ['partners'],
          summary: action === 'enable' ? 'Enable a partner' : 'Disable a partner: its CA is no longer trusted and no share can be made with it',
          params: paramsSchemas.org,
          response: { 200: ref('Partner', 'The partner as changed'), ...problems(400, 403, 404) },
        },
      },
      async (request) => setPartnerEnabled(ctx, request.params.org, action === 'enable'),
    )
  }

  app.put(
    '/partners/:org/policy',
    {
      config: ADMIN,
      schema: {
        tags: ['partners'],
        summary: "Assign the policy version of the partner's future shares (latest version when omitted)",
        params: paramsSchemas.org,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['policyId'],
          properties: { policyId: inputSchemas.id, version: { type: 'integer', minimum: 1 } },
        },
        response: { 200: ref('Partner', 'The partner with its policy'), ...problems(400, 403, 404) },
      },
    },
    async (request) => assignPolicy(ctx, request.params.org, request.body.policyId, request.body.version),
  )
}
