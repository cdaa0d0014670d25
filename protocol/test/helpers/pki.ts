/**
 * Test PKI: organization CAs, signing and TLS certificates, a federation bridge, and the
 * Signer / TrustAnchor values the protocol API takes. Real keys and certificates, no mocks.
 */
import { webcrypto } from 'node:crypto'
import { issueCertificate, type KeyedCertificate } from '#certs'
import { x509 } from '#protocol/x509'
import { OID, orgUri } from '../../src/x509/org_uri.ts'
import type { Signer } from '../../src/jws/sign.ts'
import type { TrustAnchor } from '../../src/x509/chain.ts'

export type { KeyedCertificate }

/** PEM of a keyed certificate. */
export function pem(cert: KeyedCertificate): string {
  return cert.certificate.toString('pem')
}

/** Standard base64 DER, as in `x5c`. */
export function der64(cert: KeyedCertificate): string {
  return Buffer.from(cert.certificate.rawData).toString('base64')
}

/** A signer from a leaf and its issuers (leaf first). */
export function signerOf(leaf: KeyedCertificate, ...issuers: KeyedCertificate[]): Signer {
  return { privateKey: leaf.privateKey, chain: [leaf, ...issuers].map(pem) }
}

/** The org-bound trust anchor of an org CA. */
export function anchorOf(ca: KeyedCertificate, org: string): TrustAnchor {
  return { certificate: pem(ca), org }
}

/** A self-signed federation bridge CA: no organization URI, pathLen absent. */
export async function createBridgeCa(options: { now?: Date; uris?: string[] } = {}): Promise<KeyedCertificate> {
  const now = options.now ?? new Date()
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ]
  if (options.uris !== undefined) {
    extensions.push(new x509.SubjectAlternativeNameExtension(options.uris.map((value) => ({ type: 'url' as const, value }))))
  }
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test Federation Bridge, O=Bridge',
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + 365 * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions,
  })
  return { certificate, privateKey: keys.privateKey }
}

/** An organization CA certified by `issuer` (a bridge), naming `org`. */
export async function issueOrgCa(issuer: KeyedCertificate, org: string, options: { now?: Date } = {}): Promise<KeyedCertificate> {
  return issueCertificate(issuer, {
    subject: `CN=Org ${org} Caseway CA, O=Org ${org}`,
    uris: [orgUri(org)],
    ca: true,
    keyUsage: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    ...(options.now === undefined ? {} : { now: options.now }),
  })
}

/** A signing certificate with an Ed25519 subject key (certified by a P-256 CA). */
export async function issueEd25519SigningCertificate(ca: KeyedCertificate, org: string): Promise<KeyedCertificate> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair
  return issueCertificate(ca, {
    subject: `CN=Org ${org} Caseway signing Ed25519, O=Org ${org}`,
    uris: [orgUri(org)],
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsage: [OID.documentSigning],
    keys,
  })
}

/** Claims every signed object carries, valid around `now`. */
export function claims(iss: string, aud: string, now: Date = new Date(), lifetimeSeconds = 3600): Record<string, unknown> {
  const iat = Math.floor(now.getTime() / 1000)
  return { cwv: '0.1', iss, aud, iat, exp: iat + lifetimeSeconds, jti: `jti-${webcrypto.randomUUID()}` }
}
