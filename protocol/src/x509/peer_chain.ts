/**
 * The chain a TLS stack presents for a peer (`getPeerCertificate(true)` in Node.js) as `x5c`,
 * so that a TLS peer goes through the same path validation as a signed object's signer
 * (CW-TLS-002, CW-TLS-003, CW-TLS-004).
 *
 * @module
 */
import { MAX_X5C_CERTIFICATES } from './parse.ts'

/** The part of a peer certificate this reads (Node's `DetailedPeerCertificate` has it). */
export interface PeerCertificateLike {
  raw?: Uint8Array
  issuerCertificate?: PeerCertificateLike
}

/**
 * Standard base64 DER, leaf first, following `issuerCertificate` links up to the self-issued
 * anchor. Stops one past the protocol's limit, so an over-long chain still fails validation.
 */
export function x5cOfPeerCertificate(certificate: PeerCertificateLike): string[] {
  const x5c: string[] = []
  let current: PeerCertificateLike | undefined = certificate
  while (current?.raw !== undefined && x5c.length <= MAX_X5C_CERTIFICATES) {
    const der = Buffer.from(current.raw).toString('base64')
    if (x5c.includes(der)) break
    x5c.push(der)
    current = current.issuerCertificate
  }
  return x5c
}
