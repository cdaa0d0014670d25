/**
 * Describing certificates for operators: what `caseway certs inspect` prints. Reads any
 * certificate, including ones that break the Caseway profiles, and reports what it finds.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { x509 } from '#protocol/x509'
import { certificateFingerprint, OID, orgOfCertificate } from '#protocol'
import { exists, ORG_FILES } from './files.ts'
import { CertsError } from './errors.ts'

const DAY_MS = 86_400_000

/** What `inspect` reports about one certificate. Dates are ISO 8601. */
export interface CertificateInfo {
  subject: string
  issuer: string
  selfSigned: boolean
  /** The organization id of the org URI SAN, or `null` with `orgError` (CW-ID-006). */
  org: string | null
  orgError?: string
  serial: string
  /** `sha256:` + hex SHA-256 of the DER (CW-TRUST-001). */
  fingerprint: string
  /** `EC P-256`, `Ed25519`, `RSA 2048`, … */
  keyAlgorithm: string
  subjectAltNames: { uris: string[]; dns: string[]; ips: string[]; other: string[] }
  keyUsage: { critical: boolean; usages: string[] } | null
  extendedKeyUsage: { critical: boolean; usages: string[] } | null
  basicConstraints: { critical: boolean; ca: boolean; pathLength?: number } | null
  notBefore: string
  notAfter: string
  /** Whole days until `notAfter`; negative once expired. */
  daysLeft: number
  status: 'valid' | 'expired' | 'not yet valid'
}

export interface InspectedFile {
  path: string
  certificates: CertificateInfo[]
}

const KEY_USAGE_NAMES: readonly [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
  [x509.KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [x509.KeyUsageFlags.decipherOnly, 'decipherOnly'],
]

const EXTENDED_KEY_USAGE_NAMES: Readonly<Record<string, string>> = {
  [OID.serverAuth]: 'serverAuth',
  [OID.clientAuth]: 'clientAuth',
  [OID.documentSigning]: 'documentSigning',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
}

const CURVE_NAMES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

/** Describes one certificate (PEM with exactly one certificate, or DER). */
export function inspectCertificate(input: string | Uint8Array, options: { now?: Date } = {}): CertificateInfo {
  const now = options.now ?? new Date()
  let cert: X509Certificate
  try {
    cert = new X509Certificate(input)
  } catch (error) {
    throw new CertsError('CW_CERTS_NO_CERTIFICATE', 'not a certificate', { cause: error })
  }
  const parsed = new x509.X509Certificate(cert.raw)

  let org: string | null = null
  let orgError: string | undefined
  try {
    org = orgOfCertificate(cert)
  } catch (error) {
    orgError = `${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`
  }

  const subjectAltNames = { uris: [] as string[], dns: [] as string[], ips: [] as string[], other: [] as string[] }
  for (const san of parsed.getExtensions(x509.SubjectAlternativeNameExtension)) {
    for (const name of san.names.items) {
      if (name.type === 'url') subjectAltNames.uris.push(name.value)
      else if (name.type === 'dns') subjectAltNames.dns.push(name.value)
      else if (name.type === 'ip') subjectAltNames.ips.push(name.value)
      else subjectAltNames.other.push(`${name.type}:${name.value}`)
    }
  }

  const keyUsageExtension = parsed.getExtension(x509.KeyUsagesExtension)
  const keyUsage =
    keyUsageExtension === null
      ? null
      : {
          critical: keyUsageExtension.critical,
          usages: KEY_USAGE_NAMES.filter(([flag]) => (keyUsageExtension.usages & flag) !== 0).map(([, name]) => name),
        }
  const ekuExtension = parsed.getExtension(x509.ExtendedKeyUsageExtension)
  const extendedKeyUsage =
    ekuExtension === null
      ? null
      : { critical: ekuExtension.critical, usages: ekuExtension.usages.map((oid) => EXTENDED_KEY_USAGE_NAMES[String(oid)] ?? String(oid)) }
  const bcExtension = parsed.getExtension(x509.BasicConstraintsExtension)
  const basicConstraints =
    bcExtension === null
      ? null
      : {
          critical: bcExtension.critical,
          ca: bcExtension.ca,
          ...(bcExtension.pathLength === undefined ? {} : { pathLength: bcExtension.pathLength }),
        }

  const notBefore = parsed.notBefore
  const notAfter = parsed.notAfter
  const status = now < notBefore ? 'not yet valid' : now > notAfter ? 'expired' : 'valid'
  let selfSigned: boolean
  try {
    selfSigned = cert.checkIssued(cert) && cert.verify(cert.publicKey)
  } catch {
    selfSigned = false
  }

  const info: CertificateInfo = {
    subject: parsed.subject,
    issuer: parsed.issuer,
    selfSigned,
    org,
    serial: parsed.serialNumber,
    fingerprint: certificateFingerprint(cert.raw),
    keyAlgorithm: keyAlgorithm(cert),
    subjectAltNames,
    keyUsage,
    extendedKeyUsage,
    basicConstraints,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    status,
  }
  if (orgError !== undefined) info.orgError = orgError
  return info
}

function keyAlgorithm(cert: X509Certificate): string {
  const key = cert.publicKey
  const details = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `EC ${CURVE_NAMES[details.namedCurve ?? ''] ?? details.namedCurve ?? 'unknown curve'}`
    case 'ed25519':
      return 'Ed25519'
    case 'ed448':
      return 'Ed448'
    case 'rsa':
    case 'rsa-pss':
      return `${key.asymmetricKeyType.toUpperCase()} ${details.modulusLength ?? '?'}`
    default:
      return key.asymmetricKeyType ?? 'unknown'
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** Describes every certificate in a file (PEM, possibly several, or DER). */
export async function inspectFile(path: string, options: { now?: Date } = {}): Promise<InspectedFile> {
  const bytes = await readFile(path)
  const text = bytes.toString('latin1')
  const blocks = text.match(PEM_CERTIFICATE)
  if (blocks !== null) return { path, certificates: blocks.map((pem) => inspectCertificate(pem, options)) }
  if (text.includes('-----BEGIN ')) throw new CertsError('CW_CERTS_NO_CERTIFICATE', `${path} holds no PEM certificate`)
  try {
    return { path, certificates: [inspectCertificate(new Uint8Array(bytes), options)] }
  } catch (error) {
    if (error instanceof CertsError) throw new CertsError('CW_CERTS_NO_CERTIFICATE', `${path} is not a certificate`, { cause: error })
    throw error
  }
}

/**
 * Describes a certificate file, or the `ca.crt`, `node.crt` and `signing.crt` present in an
 * organization directory.
 */
export async function inspectPath(path: string, options: { now?: Date } = {}): Promise<InspectedFile[]> {
  if (!(await stat(path)).isDirectory()) return [await inspectFile(path, options)]
  const files: InspectedFile[] = []
  for (const name of [ORG_FILES.caCertificate, ORG_FILES.nodeCertificate, ORG_FILES.signingCertificate]) {
    const file = join(path, name)
    if (await exists(file)) files.push(await inspectFile(file, options))
  }
  if (files.length === 0) throw new CertsError('CW_CERTS_NO_CERTIFICATE', `${path} holds none of ca.crt, node.crt, signing.crt`)
  return files
}
