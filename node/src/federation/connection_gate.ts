/**
 * The federation listener's first check, right after the TLS handshake (CW-TLS-005).
 *
 * The listener does not give TLS a list of client CAs: with one, every TLS 1.3
 * CertificateRequest would carry the names of all partner CAs (`certificate_authorities`) to
 * anyone who connects. It asks for a certificate and lets the handshake complete whatever the
 * client sent; this gate then validates the chain, with the TLS profile, against the pinned CAs
 * and closes the connection before any HTTP is read when it does not reach one. Which partner
 * a connection speaks for is decided per request (`authenticate.ts`, CW-TLS-006).
 *
 * @module
 */
import type { Server } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { CasewayError, verifyChainToAnchor, x5cOfPeerCertificate, type TrustAnchor } from '#protocol'
import type { Logger } from 'pino'

/** Emitted on the listener's server with `(reason, socket)` when the gate closes a connection. */
export const CONNECTION_REFUSED_EVENT = 'federationConnectionRefused'

/** Connections whose chain reached a pinned CA (only those reach the HTTP layer). */
const admitted = new WeakSet<TLSSocket>()

/** The gate passed `socket`: its client chain reached a pinned CA when it connected. */
export function isAdmitted(socket: TLSSocket): boolean {
  return admitted.has(socket)
}

/** Why `socket`'s client chain does not reach one of `anchors`, or `undefined` when it does. */
function refusalOf(socket: TLSSocket, anchors: readonly TrustAnchor[], now: Date): string | undefined {
  const certificate = socket.getPeerCertificate(true)
  if (certificate === null || typeof certificate !== 'object' || certificate.raw === undefined) return 'no client certificate'
  try {
    verifyChainToAnchor(x5cOfPeerCertificate(certificate), anchors, { usage: 'tls', currentDate: now })
    return undefined
  } catch (error) {
    if (error instanceof CasewayError) return error.code
    return error instanceof Error ? error.message : 'unreadable client certificate'
  }
}

export interface ConnectionGate {
  /** Replaces the pinned CAs for the next connections. */
  setAnchors(anchors: readonly TrustAnchor[]): void
}

/**
 * Installs the gate on `server`: on every `secureConnection`, synchronously (in the same event
 * as the HTTP layer's own listener, before any byte of a request is read), the client chain is
 * validated against `anchors`; a connection that fails is destroyed and reported with
 * {@link CONNECTION_REFUSED_EVENT}.
 */
export function installConnectionGate(server: Server, anchors: readonly TrustAnchor[], log: Pick<Logger, 'warn'>, now: () => Date): ConnectionGate {
  let current = anchors
  server.on('secureConnection', (socket: TLSSocket) => {
    const reason = refusalOf(socket, current, now())
    if (reason === undefined) {
      admitted.add(socket)
      return
    }
    log.warn({ reason, remoteAddress: socket.remoteAddress }, 'federation connection closed: client certificate reaches no pinned CA')
    socket.destroy()
    server.emit(CONNECTION_REFUSED_EVENT, reason, socket)
  })
  return {
    setAnchors(anchors) {
      current = anchors
    },
  }
}
