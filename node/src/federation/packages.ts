/**
 * EP-10..EP-12 (SPEC.md §22, "Carrying a package to a partner"): a partner offers our users a
 * package (EP-10) and revokes it (EP-12); a partner we offered a package pulls it (EP-11). The
 * handlers translate between HTTP and `inbound_packages/accept.ts` (receiver) and
 * `links/` (sender), which hold the rules.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { FEDERATION_PATHS, type PackageOfferAnswer, type RevocationAnswer } from '#protocol'
import type { NodeContext } from '../context.ts'
import { partnerActor } from '../events.ts'
import { SIGNED_OBJECT_MAX_BYTES } from '../limits.ts'
import { acceptPackageOffer, acceptPackageRevocation } from '../inbound_packages/accept.ts'
import { QuotaExceededError } from '../receiving/quotas.ts'
import { requireOfferedPackage } from '../links/package_offer.ts'
import { servePackage } from '../links/serve_package.ts'
import { answer, problems } from './answers.ts'
import { peerOf } from './authenticate.ts'

/** The protocol schemas of these answers, registered by the federation application. */
export const PACKAGE_ANSWER_SCHEMAS = ['package-offer-answer'] as const

export function packageRoutes(app: FastifyInstance, ctx: NodeContext, joseBody: (request: FastifyRequest) => string): void {
  // EP-10 — spec: CW-PKG-012
  app.post(
    FEDERATION_PATHS.packageOffers,
    { bodyLimit: SIGNED_OBJECT_MAX_BYTES, schema: { response: { 200: answer('package-offer-answer'), 202: answer('package-offer-answer'), ...problems } } },
    async (request, reply): Promise<PackageOfferAnswer> => {
      try {
        const { created, answer: accepted } = await acceptPackageOffer(ctx, peerOf(request).org, joseBody(request))
        reply.code(created ? 202 : 200)
        return accepted
      } catch (error) {
        if (error instanceof QuotaExceededError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
        throw error
      }
    },
  )

  // EP-11 — spec: CW-PKG-013 (GET, and fastify's HEAD twin)
  app.get<{ Params: { packageId: string } }>('/federation/v1/packages/:packageId', { schema: { response: problems } }, async (request, reply) => {
    const peerOrg = peerOf(request).org
    const link = await requireOfferedPackage(ctx, peerOrg, request.params.packageId)
    return servePackage(ctx, request, reply, link, partnerActor(peerOrg), 'federation')
  })

  // EP-12 — spec: CW-PKG-015
  app.post(
    FEDERATION_PATHS.packageRevocations,
    { bodyLimit: SIGNED_OBJECT_MAX_BYTES, schema: { response: { 200: answer('revocation-answer'), ...problems } } },
    async (request): Promise<RevocationAnswer> => acceptPackageRevocation(ctx, peerOf(request).org, joseBody(request)),
  )
}
