/**
 * Who is calling: the federation listener's `onRequest` hook (CW-TLS-002, CW-TLS-003).
 *
 * The connection gate has already closed every connection whose client chain reaches no pinned
 * CA (CW-TLS-005, `connection_gate.ts`). This hook validates the chain again against the
 * enabled partners' CAs with the organization binding, so that a partner's CA vouches only for
 * certificates naming that partner's org (CW-TRUST-005), and requires the org to be an enabled
 * partner that is not trust-only. Every failure here is one answer, 403
 * `CW_ERR_PARTNER_UNKNOWN`, logged with the same code (CW-TLS-006). Nothing else — no header,
 * host name or payload claim — names the peer.
 *
 * @module
 */
import { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'
import { CasewayError, RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { verifyPeerCertificate } from '../peer/peer_certificate.ts'
import { isAdmitted } from './connection_gate.ts'

/** The partner on the other end of a federation request. */
export interface FederationPeer {
  org: string
  name: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified partner; set on every request of the federation listener, null elsewhere. */
    peer: FederationPeer | null
  }
}

/**
 * A connection's verified peer. The client certificate cannot change within a TLS 1.3
 * connection, so the path validation runs once per connection; every request still checks
 * that the partner is enabled, that its pinned CA is the one that validated, and the time.
 */
interface VerifiedConnection {
  org: string
  caFingerprint: string
  notAfterMs: number
}

/** The `onRequest` hook that sets `request.peer`, or refuses with `CW_ERR_PARTNER_UNKNOWN`. */
export function identifyPeer(ctx: NodeContext): (request: FastifyRequest) => Promise<void> {
  const connections = new WeakMap<TLSSocket, VerifiedConnection>()
  return async function identify(request: FastifyRequest): Promise<void> {
    const socket = request.raw.socket
    // spec: CW-TLS-002, CW-TLS-005 — unreachable behind the connection gate; kept so a listener without it fails closed.
    if (!(socket instanceof TLSSocket) || !isAdmitted(socket)) {
      throw new RequestError('CW_ERR_UNAUTHENTICATED', 'a verified client certificate is required')
    }
    const now = ctx.clock.now()
    let verified = connections.get(socket)
    if (verified === undefined || now.getTime() >= verified.notAfterMs) {
      const certificate = socket.getPeerCertificate(true)
      let org: string
      try {
        org = verifyPeerCertificate(certificate, await ctx.tlsAnchors(), now).org
      } catch (error) {
        if (!(error instanceof CasewayError)) throw error
        // spec: CW-TLS-006 — one code on the wire and in the log; the chain's own reason is a detail.
        request.log.warn({ code: 'CW_ERR_PARTNER_UNKNOWN', reason: error.code, at: error.at }, 'client certificate does not identify an enabled partner')
        throw new RequestError('CW_ERR_PARTNER_UNKNOWN', 'client certificate does not identify an enabled partner')
      }
      const partner = await ctx.store.partners.get(org)
      const notAfterMs = Date.parse(certificate.valid_to)
      verified = { org, caFingerprint: partner?.caFingerprint ?? '', notAfterMs: Number.isNaN(notAfterMs) ? 0 : notAfterMs }
      connections.set(socket, verified)
    }
    const { org } = verified
    // spec: CW-TLS-003
    const partner = await ctx.store.partners.get(org)
    // spec: CW-PROV-008 — a trust-only partner vouches for signed objects, never for a connection.
    if (partner === undefined || !partner.enabled || partner.trustOnly) {
      request.log.warn({ code: 'CW_ERR_PARTNER_UNKNOWN', peerOrg: org }, 'request from an organization that is not an enabled partner')
      throw new RequestError('CW_ERR_PARTNER_UNKNOWN', 'peer is not an enabled partner')
    }
    if (partner.caFingerprint !== verified.caFingerprint) {
      // The partner was re-imported with another CA: validate this connection again.
      connections.delete(socket)
      return identify(request)
    }
    request.peer = { org, name: partner.name }
    request.log = request.log.child({ peerOrg: org })
  }
}

/** The verified peer of a federation request (the hook ran before any handler). */
export function peerOf(request: FastifyRequest): FederationPeer {
  if (request.peer === null) throw new RequestError('CW_ERR_UNAUTHENTICATED', 'peer not identified')
  return request.peer
}
