/**
 * How long this node's own certificates remain valid: `node.crt` (TLS), `signing.crt` and
 * `ca.crt`, read from the identity loaded at start-up. Readiness and the
 * `caseway_certificate_expiry_days` gauge both use it.
 *
 * @module
 */
import { pemToX509 } from '#protocol'
import type { Identity } from '../context.ts'

export type CertificateName = 'node' | 'signing' | 'ca'

export interface CertificateLifetime {
  certificate: CertificateName
  notBefore: Date
  notAfter: Date
}

const DAY_MS = 86_400_000

/** The validity periods of the node, signing and CA certificates of `identity`. */
export function certificateLifetimes(identity: Identity): CertificateLifetime[] {
  const pems: Record<CertificateName, string | undefined> = {
    node: identity.tls.cert,
    signing: identity.signer.chain[0],
    ca: identity.caCertificate,
  }
  return (Object.keys(pems) as CertificateName[]).map((certificate) => {
    const pem = pems[certificate]
    if (pem === undefined) throw new TypeError(`identity has no ${certificate} certificate`)
    const parsed = pemToX509(pem)
    return { certificate, notBefore: parsed.validFromDate, notAfter: parsed.validToDate }
  })
}

/** Days (fractional) from `now` until `notAfter`; negative once expired. */
export function daysLeft(lifetime: CertificateLifetime, now: Date): number {
  return (lifetime.notAfter.getTime() - now.getTime()) / DAY_MS
}
