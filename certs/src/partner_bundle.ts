/**
 * Partner bundles on disk: exporting the organization's own bundle from its directory and
 * reading and checking a partner's (SPEC.md CW-TRUST-001 … CW-TRUST-003).
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { x509 } from '#protocol/x509'
import { buildPartnerBundle, checkPartnerBundle, VerificationError, type PartnerBundle } from '#protocol'
import { exists, ORG_FILES, readOrgCertificate } from './files.ts'
import { assertEndpoint, defaultEndpoint } from './options.ts'

/** A partner bundle file larger than this is refused unread (the CA PEM is at most 16 KiB). */
export const MAX_BUNDLE_FILE_BYTES = 65_536

export interface ExportPartnerBundleOptions {
  /** The organization directory; only `ca.crt` is needed, the CA key may be offline. */
  dir: string
  /**
   * Federation endpoint. Default: the one in the directory's `partner-bundle.json`, else
   * `https://<first host of node.crt>:8443`.
   */
  endpoint?: string
  now?: Date
}

/** Builds the organization's bundle and checks it as a partner will. */
export async function exportPartnerBundle(options: ExportPartnerBundleOptions): Promise<PartnerBundle> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  if (typeof options.dir !== 'string' || options.dir.length === 0) throw new TypeError('"dir" must be a directory path')
  const dir = resolve(options.dir)
  const orgCertificate = await readOrgCertificate(dir)
  const endpoint = options.endpoint ?? (await knownEndpoint(dir, orgCertificate.org))
  assertEndpoint(endpoint)
  const bundle = buildPartnerBundle({
    org: orgCertificate.org,
    name: orgCertificate.name,
    endpoint,
    caCertificatePem: orgCertificate.caCertificatePem,
  })
  const currentDate = options.now ?? new Date()
  return checkPartnerBundle(bundle, { fingerprint: bundle.caFingerprint, currentDate })
}

async function knownEndpoint(dir: string, org: string): Promise<string> {
  const bundlePath = join(dir, ORG_FILES.partnerBundle)
  if (await exists(bundlePath)) {
    try {
      const previous = JSON.parse(await readFile(bundlePath, 'utf8')) as Partial<PartnerBundle>
      if (previous.org === org && typeof previous.endpoint === 'string') return previous.endpoint
    } catch {
      // An unreadable old bundle only loses its endpoint; fall through to node.crt.
    }
  }
  const nodePath = join(dir, ORG_FILES.nodeCertificate)
  if (await exists(nodePath)) {
    const node = new x509.X509Certificate(await readFile(nodePath, 'utf8'))
    const host = node.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.find((name) => name.type === 'dns' || name.type === 'ip')?.value
    if (host !== undefined) return defaultEndpoint(host)
  }
  throw new TypeError(`no endpoint known for ${dir}: pass an endpoint`)
}

/**
 * Reads a partner bundle file as JSON. Larger than 64 KiB → `CW_ERR_TOO_LARGE`; not JSON →
 * `CW_ERR_MALFORMED`. The result is unchecked: pass it to `checkPartnerBundle`.
 */
export async function readPartnerBundleFile(path: string): Promise<unknown> {
  if ((await stat(path)).size > MAX_BUNDLE_FILE_BYTES) {
    throw new VerificationError('CW_ERR_TOO_LARGE', `partner bundle is larger than ${MAX_BUNDLE_FILE_BYTES} bytes`)
  }
  return parsePartnerBundleText(await readFile(path, 'utf8'))
}

/** Parses bundle text as JSON (`CW_ERR_MALFORMED` when it is not). */
export function parsePartnerBundleText(text: string): unknown {
  if (text.length > MAX_BUNDLE_FILE_BYTES) {
    throw new VerificationError('CW_ERR_TOO_LARGE', `partner bundle is larger than ${MAX_BUNDLE_FILE_BYTES} bytes`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new VerificationError('CW_ERR_MALFORMED', 'partner bundle is not JSON')
  }
}
