/**
 * Client identities for the transport tests, made at run time from the harness's CAs (the
 * target pins only the harness CA and, trust-only, the auxiliary CAs): each is wrong in one
 * way.
 *
 * @module
 */
import { createOrgCa, issueCertificate, issueNodeCertificate, privateKeyToPem, type KeyedCertificate } from '#certs'
import { OID, orgUri } from '#protocol'
import { x509 } from '#protocol/x509'
import type { ClientIdentity } from './client.ts'
import type { Harness } from './harness_dir.ts'

const DAY_MS = 86_400_000

export interface WrongIdentities {
  /** No client certificate at all. */
  noCertificate: ClientIdentity
  /** The harness's org, but from a CA the target never pinned. */
  unknownCa: ClientIdentity
  /** The harness's CA and org, expired yesterday. */
  expired: ClientIdentity
  /** Issued by the harness's CA but naming the target's organization (CW-TRUST-005: an org CA speaks only for its org). */
  otherOrg: ClientIdentity
  /** An auxiliary org the target pins trust-only (never for TLS, CW-PROV-008). */
  trustOnly: ClientIdentity
  /** The harness's signing certificate used as a TLS client certificate (no clientAuth, CW-ID-003/004). */
  signingAsTls: ClientIdentity
  /** The harness's own certificate, but TLS 1.2 at most (CW-TLS-001). */
  tls12: ClientIdentity
}

async function identity(name: string, certificate: KeyedCertificate, ...issuers: KeyedCertificate[]): Promise<ClientIdentity> {
  return {
    name,
    cert: [certificate, ...issuers].map((one) => one.certificate.toString('pem')).join('\n'),
    key: await privateKeyToPem(certificate.privateKey),
  }
}

export async function wrongIdentities(harness: Harness, targetOrg: string, hosts: readonly string[]): Promise<WrongIdentities> {
  const { main } = harness
  const aux = harness.aux[0]!
  const now = Date.now()
  const rogueCa = await createOrgCa({ org: main.org, name: main.name })
  const rogue = await issueNodeCertificate(rogueCa, { org: main.org, name: main.name, hosts })
  const expired = await issueNodeCertificate(main.ca, {
    org: main.org,
    name: main.name,
    hosts,
    notBefore: new Date(now - 30 * DAY_MS),
    notAfter: new Date(now - DAY_MS),
  })
  const otherOrg = await issueCertificate(main.ca, {
    subject: `CN=${hosts[0]}, O=${main.name}`,
    uris: [orgUri(targetOrg)],
    hosts,
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsage: [OID.serverAuth, OID.clientAuth],
  })
  const trustOnly = await issueNodeCertificate(aux.ca, { org: aux.org, name: aux.name, hosts })
  return {
    noCertificate: { name: 'no client certificate' },
    unknownCa: await identity(`${main.org} from an unpinned CA`, rogue),
    expired: await identity(`${main.org}, expired certificate`, expired),
    otherOrg: await identity(`harness CA certificate naming ${targetOrg}`, otherOrg),
    trustOnly: await identity(`${aux.org} (pinned trust-only)`, trustOnly),
    signingAsTls: {
      name: `${main.org} signing certificate as TLS client`,
      cert: main.signing.certificate.toString('pem'),
      key: await privateKeyToPem(main.signing.privateKey),
    },
    tls12: { name: `${main.org}, TLS 1.2 only`, cert: main.tls.cert, key: main.tls.key, maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' },
  }
}
