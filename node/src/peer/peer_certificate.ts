/**
 * The organization behind a TLS peer certificate (CW-TLS-002, CW-TLS-003, CW-TLS-004): the
 * chain the TLS stack presents is checked again with the protocol's own path validation, so
 * that the TLS profile (CW-ID-003) and the organization binding of the anchors (CW-TRUST-005:
 * a partner's CA speaks only for its own org) hold for connections as they do for signatures.
 *
 * @module
 */
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls'
import { verifyChain, x5cOfPeerCertificate, type TrustAnchor, type VerifiedCertificate } from '#protocol'

/**
 * Validates a TLS peer certificate chain against `anchors` with the TLS profile and returns
 * the organization it names. Throws `VerificationError` (`CW_ERR_CHAIN_UNTRUSTED`,
 * `CW_ERR_CERT_USAGE`, `CW_ERR_CERT_ORG_INVALID`, `CW_ERR_CERT_EXPIRED`, …).
 */
export function verifyPeerCertificate(certificate: PeerCertificate | DetailedPeerCertificate, anchors: readonly TrustAnchor[], now: Date): VerifiedCertificate {
  return verifyChain(x5cOfPeerCertificate(certificate), anchors, { usage: 'tls', currentDate: now })
}
