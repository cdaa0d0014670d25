/**
 * Certificate path validation for Caseway (SPEC.md CW-SIG-006, CW-SIG-007, CW-ID-003,
 * CW-ID-004, CW-ID-006, CW-TRUST-004, CW-TRUST-005).
 *
 * Only the configured trust anchors are trusted (pinned partner CAs and, optionally, bridge
 * CAs); never system roots. The `x5c` order is fixed (RFC 7515 §4.1.6): each certificate is
 * certified by the next one, and the path ends at an anchor.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto'
import { x509 } from '#protocol/x509'
import { VerificationError } from '../errors.ts'
import { orgOfCertificate } from './org.ts'
import { OID } from './org_uri.ts'
import { parseCertificates, pemToX509 } from './parse.ts'

/** A certificate authority Caseway trusts. */
export interface TrustAnchor {
  /** The CA certificate, PEM. */
  certificate: string
  /** The organization the CA speaks for; absent for a federation bridge CA. */
  org?: string
}

/** The outcome of a successful {@link verifyChain}. */
export interface VerifiedCertificate {
  /** The organization of the leaf (its one org URI SAN), bound to the anchor. */
  org: string
  /** The leaf certificate. */
  certificate: X509Certificate
  /** The validated path: the leaf, the intermediates, and the anchor's certificate last. */
  chain: X509Certificate[]
}

export interface VerifyChainOptions {
  /** What the leaf is used for: signing a Caseway object, or mutual TLS. */
  usage: 'signing' | 'tls'
  /** Verification time; defaults to now. */
  currentDate?: Date
}

const OID_ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0'
/** Critical extensions this validator processes; any other critical extension is refused. */
const UNDERSTOOD_CRITICAL = new Set([
  '2.5.29.19', // basicConstraints
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
])

interface Profile {
  ca: boolean
  pathLength: number | undefined
  keyUsage: number | undefined
  extendedKeyUsage: readonly string[] | undefined
}

interface Anchor {
  certificate: X509Certificate
  org: string | undefined
}

/** Reads the extensions the path checks need; `undefined` when the certificate cannot be read. */
function profileOf(certificate: X509Certificate): Profile | undefined {
  try {
    const parsed = new x509.X509Certificate(certificate.raw)
    for (const extension of parsed.extensions) {
      if (extension.critical && !UNDERSTOOD_CRITICAL.has(extension.type)) return undefined
    }
    const basic = parsed.getExtensions(x509.BasicConstraintsExtension)
    const keyUsage = parsed.getExtensions(x509.KeyUsagesExtension)
    const extendedKeyUsage = parsed.getExtensions(x509.ExtendedKeyUsageExtension)
    if (basic.length > 1 || keyUsage.length > 1 || extendedKeyUsage.length > 1) return undefined
    return {
      ca: basic[0]?.ca === true,
      pathLength: basic[0]?.pathLength,
      keyUsage: keyUsage[0]?.usages,
      extendedKeyUsage: extendedKeyUsage[0]?.usages.map(String),
    }
  } catch {
    return undefined
  }
}

function checkValidity(certificate: X509Certificate, now: Date, at: string): void {
  if (now.getTime() < certificate.validFromDate.getTime()) {
    throw new VerificationError('CW_ERR_CERT_NOT_YET_VALID', 'certificate is not yet valid', { at })
  }
  if (now.getTime() > certificate.validToDate.getTime()) {
    throw new VerificationError('CW_ERR_CERT_EXPIRED', 'certificate has expired', { at })
  }
}

function hasKeyUsage(profile: Profile, flag: number): boolean {
  return profile.keyUsage !== undefined && (profile.keyUsage & flag) !== 0
}

function checkLeafKey(leaf: X509Certificate): void {
  const key = leaf.publicKey
  const p256 = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  if (!p256 && key.asymmetricKeyType !== 'ed25519') {
    throw new VerificationError('CW_ERR_CERT_USAGE', 'leaf key is neither ECDSA P-256 nor Ed25519', { at: 'header.x5c[0]' })
  }
}

function checkLeafProfile(profile: Profile | undefined, usage: 'signing' | 'tls'): void {
  const at = 'header.x5c[0]'
  if (profile === undefined) {
    throw new VerificationError('CW_ERR_CERT_USAGE', 'leaf certificate extensions unreadable or unsupported', { at })
  }
  if (profile.ca) throw new VerificationError('CW_ERR_CERT_USAGE', 'leaf certificate is a CA', { at })
  if (!hasKeyUsage(profile, x509.KeyUsageFlags.digitalSignature)) {
    throw new VerificationError('CW_ERR_CERT_USAGE', 'leaf certificate lacks keyUsage digitalSignature', { at })
  }
  const eku = profile.extendedKeyUsage ?? []
  if (usage === 'signing') {
    if (!eku.includes(OID.documentSigning)) {
      throw new VerificationError('CW_ERR_CERT_USAGE', 'leaf certificate lacks extKeyUsage documentSigning', { at })
    }
    if (eku.includes(OID.serverAuth) || eku.includes(OID.clientAuth) || eku.includes(OID_ANY_EXTENDED_KEY_USAGE)) {
      throw new VerificationError('CW_ERR_CERT_USAGE', 'a TLS certificate cannot sign', { at })
    }
  } else if (!eku.includes(OID.serverAuth) || !eku.includes(OID.clientAuth)) {
    throw new VerificationError('CW_ERR_CERT_USAGE', 'leaf certificate lacks extKeyUsage serverAuth and clientAuth', { at })
  }
}

/** `issuer` is a CA allowed to certify `below` further non-leaf CAs, and signed `subject`. */
function issued(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey)
  } catch {
    return false
  }
}

function checkIssuerProfile(issuer: X509Certificate, intermediatesBelow: number, at: string): void {
  const profile = profileOf(issuer)
  if (profile === undefined) {
    throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'issuer certificate extensions unreadable or unsupported', { at })
  }
  if (!profile.ca || !issuer.ca) throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'issuer is not a CA', { at })
  if (!hasKeyUsage(profile, x509.KeyUsageFlags.keyCertSign)) {
    throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'issuer lacks keyUsage keyCertSign', { at })
  }
  if (profile.pathLength !== undefined && intermediatesBelow > profile.pathLength) {
    throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'issuer path length constraint exceeded', { at })
  }
}

function caOrg(certificate: X509Certificate): string | undefined {
  try {
    return orgOfCertificate(certificate)
  } catch {
    return undefined
  }
}

function readAnchors(anchors: readonly TrustAnchor[]): Anchor[] {
  if (!Array.isArray(anchors)) throw new TypeError('trust anchors must be an array')
  return anchors.map((anchor: TrustAnchor) => {
    if (typeof anchor !== 'object' || anchor === null) throw new TypeError('trust anchor must be an object')
    if (anchor.org !== undefined && typeof anchor.org !== 'string') throw new TypeError('trust anchor org must be a string')
    return { certificate: pemToX509(anchor.certificate), org: anchor.org }
  })
}

/** The leaf's key, validity and usage profile (CW-ID-003, CW-ID-004). */
function checkLeaf(leaf: X509Certificate, now: Date, usage: 'signing' | 'tls'): void {
  checkLeafKey(leaf)
  checkValidity(leaf, now, 'header.x5c[0]')
  checkLeafProfile(profileOf(leaf), usage)
}

/**
 * Builds the path upwards, in x5c order, until an anchor certifies the current certificate,
 * and checks every issuer on it. The path is the leaf, the intermediates, and the anchor's
 * certificate last. Nothing here reads or binds an organization.
 */
function pathToAnchor(certificates: readonly X509Certificate[], trusted: readonly Anchor[], now: Date): { path: X509Certificate[]; anchor: Anchor } {
  const path: X509Certificate[] = [certificates[0]!]
  let anchor: Anchor | undefined
  for (let index = 0; anchor === undefined; index++) {
    const current = certificates[index]!
    anchor = trusted.find((candidate) => issued(candidate.certificate, current))
    if (anchor !== undefined) {
      const rest = certificates.slice(index + 1)
      // An anchor may be repeated as the last x5c element, byte for byte; nothing may follow it.
      if (rest.length > 1 || (rest.length === 1 && !rest[0]!.raw.equals(anchor.certificate.raw))) {
        throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'x5c continues past its trust anchor', { at: `header.x5c[${index + 1}]` })
      }
      break
    }
    const next = certificates[index + 1]
    if (next === undefined) {
      throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'certificate chain does not lead to a trust anchor', { at: 'header.x5c' })
    }
    if (!issued(next, current)) {
      throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'x5c certificate is not certified by the next one', { at: `header.x5c[${index}]` })
    }
    path.push(next)
  }
  path.push(anchor.certificate)

  // Every issuer: valid now, a CA with keyCertSign, within its path length.
  for (let index = 1; index < path.length; index++) {
    const at = index < path.length - 1 ? `header.x5c[${index}]` : 'trustAnchor'
    checkValidity(path[index]!, now, at)
    checkIssuerProfile(path[index]!, index - 1, at)
  }
  if (anchor.org === undefined && path.length < 3) {
    // A bridge vouches for the org CAs it issued (CW-TRUST-005), never directly for a leaf.
    throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'a bridge CA must certify an organization CA, not a leaf', { at: 'trustAnchor' })
  }
  return { path, anchor }
}

function readOptions(options: VerifyChainOptions): { usage: 'signing' | 'tls'; now: Date } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const { usage } = options
  if (usage !== 'signing' && usage !== 'tls') throw new TypeError('"usage" option must be "signing" or "tls"')
  const now = options.currentDate ?? new Date()
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('"currentDate" option must be a valid Date')
  return { usage, now }
}

/**
 * Validates `x5c` against the anchors like {@link verifyChain}, but without the organization:
 * the leaf's org is neither read nor bound to the anchor (CW-TRUST-005 is not checked). A
 * federation listener uses it to decide whether a connection is worth an HTTP answer at all
 * (CW-TLS-005) before {@link verifyChain} decides which partner it is (CW-TLS-006). Throws
 * `VerificationError` as {@link verifyChain} does, never `CW_ERR_CERT_ORG_INVALID`.
 */
export function verifyChainToAnchor(x5c: readonly string[], anchors: readonly TrustAnchor[], options: VerifyChainOptions): Omit<VerifiedCertificate, 'org'> {
  const { usage, now } = readOptions(options)
  const trusted = readAnchors(anchors)
  const certificates = parseCertificates(x5c)
  const leaf = certificates[0]!
  checkLeaf(leaf, now, usage)
  return { certificate: leaf, chain: pathToAnchor(certificates, trusted, now).path }
}

/**
 * Validates `x5c` (base64 DER, leaf first) against the trust anchors and returns the leaf's
 * organization. Throws `VerificationError` with `CW_ERR_X5C_INVALID`, `CW_ERR_CERT_USAGE`,
 * `CW_ERR_CERT_EXPIRED`, `CW_ERR_CERT_NOT_YET_VALID`, `CW_ERR_CERT_ORG_INVALID` or
 * `CW_ERR_CHAIN_UNTRUSTED`; `TypeError` for bad options or unreadable anchors (configuration).
 */
export function verifyChain(x5c: readonly string[], anchors: readonly TrustAnchor[], options: VerifyChainOptions): VerifiedCertificate {
  const { usage, now } = readOptions(options)
  const trusted = readAnchors(anchors)

  const certificates = parseCertificates(x5c)
  const leaf = certificates[0]!

  // The leaf first: key type, validity, profile, organization.
  checkLeaf(leaf, now, usage)
  const org = orgOfCertificate(leaf)

  const { path, anchor } = pathToAnchor(certificates, trusted, now)

  // Organization binding: every CA below a bridge, and an org-bound anchor, names the leaf's org.
  for (let index = 1; index < path.length - 1; index++) {
    if (caOrg(path[index]!) !== org) {
      throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', 'intermediate CA names another organization', { at: `header.x5c[${index}]` })
    }
  }
  if (anchor.org !== undefined && (anchor.org !== org || caOrg(anchor.certificate) !== org)) {
    throw new VerificationError('CW_ERR_CHAIN_UNTRUSTED', "trust anchor does not speak for the leaf's organization", { at: 'trustAnchor' })
  }

  return { org, certificate: leaf, chain: path }
}
