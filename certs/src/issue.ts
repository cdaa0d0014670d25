/**
 * Issuing the certificates of an organization: its CA, the node's TLS certificate and the
 * signing certificate (SPEC.md, Identities and certificates). ECDSA P-256 with SHA-256.
 *
 * The high-level functions build exactly the profiles SPEC.md requires; `issueCertificate`
 * takes overrides so tests and vectors can build the wrong certificates too.
 *
 * @module
 */
import { webcrypto } from 'node:crypto'
import { x509 } from '#protocol/x509'

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair
import { OID, orgUri } from '#protocol'

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const
const DAY_MS = 86_400_000

/** A certificate together with its private key. */
export interface KeyedCertificate {
  readonly certificate: x509.X509Certificate
  readonly privateKey: CryptoKey
}

/** Validity window; `now` defaults to the current time (injectable for tests and vectors). */
export interface ValidityOptions {
  now?: Date
  validityDays?: number
  notBefore?: Date
  notAfter?: Date
}

export interface CaOptions extends ValidityOptions {
  org: string
  name: string
}

export interface LeafOptions extends ValidityOptions {
  org: string
  name: string
}

export interface NodeCertificateOptions extends LeafOptions {
  /** DNS names (and IP addresses) the node's TLS listener answers on. */
  hosts: readonly string[]
}

/** Low-level options: every field of the profile can be overridden. */
export interface CertificateOptions extends ValidityOptions {
  subject: string
  /** URI SANs; the profiles put exactly one organization URI here. */
  uris: readonly string[]
  hosts?: readonly string[]
  ca?: boolean
  keyUsage: x509.KeyUsageFlags
  extendedKeyUsage?: readonly string[]
  /** Key pair to certify; a fresh P-256 pair when absent. */
  keys?: CryptoKeyPair
}

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])
}

function window(options: ValidityOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const now = options.now ?? new Date()
  // Back-date by a minute so a partner whose clock is slightly behind accepts a fresh certificate.
  const notBefore = options.notBefore ?? new Date(now.getTime() - 60_000)
  const notAfter = options.notAfter ?? new Date(now.getTime() + (options.validityDays ?? defaultDays) * DAY_MS)
  return { notBefore, notAfter }
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16))
  bytes[0] = bytes[0]! & 0x7f // positive INTEGER (RFC 5280 §4.1.2.2)
  return Buffer.from(bytes).toString('hex')
}

function distinguishedName(commonName: string, organization: string): string {
  const escape = (value: string) => value.replace(/([,+"\\<>;=#])/g, '\\$1')
  return `CN=${escape(commonName)}, O=${escape(organization)}`
}

function altNames(uris: readonly string[], hosts: readonly string[]): x509.JsonGeneralName[] {
  const ip = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i
  return [
    ...uris.map((value) => ({ type: 'url' as const, value })),
    ...hosts.map((value) => ({ type: ip.test(value) ? ('ip' as const) : ('dns' as const), value })),
  ]
}

/** Creates a self-signed organization CA (basicConstraints CA:TRUE, pathLen 0; keyCertSign, cRLSign). */
export async function createOrgCa(options: CaOptions): Promise<KeyedCertificate> {
  const keys = await generateKeyPair()
  const { notBefore, notAfter } = window(options, 3650)
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(`${options.name} Caseway CA`, options.name),
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension(altNames([orgUri(options.org)], []), false),
    ],
  })
  return { certificate, privateKey: keys.privateKey }
}

/** Issues a certificate from `issuer` with the given profile fields. */
export async function issueCertificate(issuer: KeyedCertificate, options: CertificateOptions): Promise<KeyedCertificate> {
  const keys = options.keys ?? (await generateKeyPair())
  const { notBefore, notAfter } = window(options, 397)
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
    new x509.KeyUsagesExtension(options.keyUsage, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate.publicKey),
    new x509.SubjectAlternativeNameExtension(altNames(options.uris, options.hosts ?? []), false),
  ]
  if (options.extendedKeyUsage !== undefined) {
    extensions.push(new x509.ExtendedKeyUsageExtension([...options.extendedKeyUsage], false))
  }
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: options.subject,
    issuer: issuer.certificate.subject,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: issuer.privateKey,
    extensions,
  })
  return { certificate, privateKey: keys.privateKey }
}

/** The node's TLS certificate: serverAuth and clientAuth, the host names, the organization URI. */
export async function issueNodeCertificate(ca: KeyedCertificate, options: NodeCertificateOptions): Promise<KeyedCertificate> {
  if (options.hosts.length === 0) throw new TypeError('a node certificate needs at least one host name')
  return issueCertificate(ca, {
    ...options,
    subject: distinguishedName(options.hosts[0]!, options.name),
    uris: [orgUri(options.org)],
    hosts: options.hosts,
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsage: [OID.serverAuth, OID.clientAuth],
  })
}

/** The signing certificate: digitalSignature and documentSigning only; never a TLS certificate. */
export async function issueSigningCertificate(ca: KeyedCertificate, options: LeafOptions): Promise<KeyedCertificate> {
  return issueCertificate(ca, {
    ...options,
    subject: distinguishedName(`${options.name} Caseway signing`, options.name),
    uris: [orgUri(options.org)],
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsage: [OID.documentSigning],
  })
}

/** PEM of a PKCS#8 private key. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key)
  return x509.PemConverter.encode(der, 'PRIVATE KEY')
}

/** Imports a PKCS#8 P-256 private key from PEM. */
export async function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0]
  if (der === undefined) throw new TypeError('no PEM block found')
  return webcrypto.subtle.importKey('pkcs8', der, EC_P256, true, ['sign'])
}
