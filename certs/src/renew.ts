/**
 * Renewing the node's TLS certificate or the signing certificate from the organization CA
 * already on disk (`ca.crt`, `ca.key`): a new key and a new certificate, same org and name.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { x509 } from '#protocol/x509'
import { certificateFingerprint } from '#protocol'
import { issueNodeCertificate, issueSigningCertificate, privateKeyToPem, type KeyedCertificate } from './issue.ts'
import { exists, ORG_FILES, readOrgDir, writeKeyFile, writePublicFile, type OrgCa } from './files.ts'
import { leafValidity } from './leaf_validity.ts'
import { CertsError } from './errors.ts'
import { assertValidityDays, DEFAULT_LEAF_VALIDITY_DAYS, normalizeHosts } from './options.ts'

/** A certificate with more than this many days left is only replaced with `force`. */
export const RENEWAL_WINDOW_DAYS = 30
const DAY_MS = 86_400_000

interface RenewOptions {
  /** The organization directory holding `ca.crt` and `ca.key`. */
  dir: string
  /** Validity of the new certificate (default 397 days, never past the CA's expiry). */
  validityDays?: number
  /** Replace a certificate that is still valid for more than 30 days. */
  force?: boolean
  now?: Date
}

export interface RenewNodeOptions extends RenewOptions {
  /** Host names; default: the DNS and IP SANs of the current `node.crt`. */
  hosts?: readonly string[]
}

export type RenewSigningOptions = RenewOptions

export interface RenewResult {
  certificatePath: string
  keyPath: string
  certificate: x509.X509Certificate
  /** `sha256:` fingerprint of the new certificate. */
  fingerprint: string
  /** The certificate that was replaced, when there was a readable one. */
  previous: x509.X509Certificate | undefined
}

/** Issues a new `node.crt` / `node.key` from the directory's CA. */
export async function renewNodeCertificate(options: RenewNodeOptions): Promise<RenewResult> {
  const context = await prepare(options, ORG_FILES.nodeCertificate, ORG_FILES.nodeKey)
  const hosts = normalizeHosts(options.hosts ?? (context.previous === undefined ? [] : hostsOf(context.previous)))
  const issued = await issueNodeCertificate(context.orgCa.ca, {
    org: context.orgCa.org,
    name: context.orgCa.name,
    hosts,
    ...context.window,
  })
  return write(context, issued)
}

/** Issues a new `signing.crt` / `signing.key` from the directory's CA. */
export async function renewSigningCertificate(options: RenewSigningOptions): Promise<RenewResult> {
  const context = await prepare(options, ORG_FILES.signingCertificate, ORG_FILES.signingKey)
  const issued = await issueSigningCertificate(context.orgCa.ca, {
    org: context.orgCa.org,
    name: context.orgCa.name,
    ...context.window,
  })
  return write(context, issued)
}

interface Context {
  orgCa: OrgCa
  certificatePath: string
  keyPath: string
  previous: x509.X509Certificate | undefined
  window: { notBefore: Date; notAfter: Date }
}

async function prepare(options: RenewOptions, certificateFile: string, keyFile: string): Promise<Context> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  if (typeof options.dir !== 'string' || options.dir.length === 0) throw new TypeError('"dir" must be a directory path')
  const validityDays = options.validityDays ?? DEFAULT_LEAF_VALIDITY_DAYS
  assertValidityDays(validityDays, 'certificate')
  const now = options.now ?? new Date()
  const dir = resolve(options.dir)
  const orgCa = await readOrgDir(dir)
  const certificatePath = join(dir, certificateFile)
  const keyPath = join(dir, keyFile)

  let previous: x509.X509Certificate | undefined
  if (await exists(certificatePath)) {
    try {
      previous = new x509.X509Certificate(await readFile(certificatePath, 'utf8'))
    } catch {
      if (options.force !== true) {
        throw new CertsError('CW_CERTS_FILE_EXISTS', `${certificatePath} exists and is not a certificate (use --force to replace it)`)
      }
    }
  }
  if (previous !== undefined && options.force !== true) {
    const daysLeft = Math.floor((previous.notAfter.getTime() - now.getTime()) / DAY_MS)
    if (daysLeft > RENEWAL_WINDOW_DAYS) {
      throw new CertsError(
        'CW_CERTS_STILL_VALID',
        `${certificatePath} is valid for ${daysLeft} more days (until ${previous.notAfter.toISOString()}); use --force to replace it now`,
      )
    }
  }
  return { orgCa, certificatePath, keyPath, previous, window: leafValidity(orgCa.ca.certificate, now, validityDays) }
}

async function write(context: Context, issued: KeyedCertificate): Promise<RenewResult> {
  // Each file is replaced atomically; a crash between the two leaves a pair that does not
  // match, which the node refuses at start, and rerunning with --force repairs it.
  await writeKeyFile(context.keyPath, await privateKeyToPem(issued.privateKey))
  await writePublicFile(context.certificatePath, issued.certificate.toString('pem') + '\n')
  return {
    certificatePath: context.certificatePath,
    keyPath: context.keyPath,
    certificate: issued.certificate,
    fingerprint: certificateFingerprint(new Uint8Array(issued.certificate.rawData)),
    previous: context.previous,
  }
}

function hostsOf(certificate: x509.X509Certificate): string[] {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension)
  if (san === null) return []
  return san.names.items.filter((name) => name.type === 'dns' || name.type === 'ip').map((name) => name.value)
}
