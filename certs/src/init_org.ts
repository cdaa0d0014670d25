/**
 * Creating an organization directory: the org CA, the node's TLS certificate, the signing
 * certificate, their keys (0600, SPEC.md CW-ID-005) and the partner bundle.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { buildPartnerBundle, checkPartnerBundle, type PartnerBundle } from '#protocol'
import { createOrgCa, issueNodeCertificate, issueSigningCertificate, privateKeyToPem } from './issue.ts'
import { ensureOrgDir, exists, ORG_FILES, writeKeyFile, writePublicFile } from './files.ts'
import { leafValidity } from './leaf_validity.ts'
import { CertsError } from './errors.ts'
import {
  assertDisplayName,
  assertEndpoint,
  assertOrgId,
  assertValidityDays,
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_LEAF_VALIDITY_DAYS,
  defaultEndpoint,
  normalizeHosts,
} from './options.ts'

export interface InitOrgOptions {
  /** Organization id (`ORG_ID_PATTERN`). */
  org: string
  /** Display name; becomes the O attribute of every certificate. */
  name: string
  /** DNS names or IP addresses of the node's federation listener; the first is its CN. */
  hosts: readonly string[]
  /** Federation endpoint for the partner bundle; default `https://<first host>:8443`. */
  endpoint?: string
  /** Validity of the node and signing certificates (default 397 days). */
  validityDays?: number
  /** Validity of the CA (default 3650 days). */
  caValidityDays?: number
  /** Directory to write; created with mode 0700 when new. */
  out: string
  /** Replace existing files. */
  force?: boolean
  now?: Date
}

export interface InitOrgResult {
  dir: string
  /** Absolute paths of the files written. */
  files: string[]
  bundle: PartnerBundle
}

/** The files `initOrg` writes, in the order it writes them. */
export const INIT_ORG_FILES = [
  ORG_FILES.caKey,
  ORG_FILES.caCertificate,
  ORG_FILES.nodeKey,
  ORG_FILES.nodeCertificate,
  ORG_FILES.signingKey,
  ORG_FILES.signingCertificate,
  ORG_FILES.partnerBundle,
] as const

/**
 * Creates the organization's CA, node and signing certificates in `out`.
 *
 * Everything is generated and checked before the first file is written. Existing files are
 * refused with `CW_CERTS_FILE_EXISTS` unless `force` is set.
 */
export async function initOrg(options: InitOrgOptions): Promise<InitOrgResult> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const { org, name } = options
  assertOrgId(org)
  assertDisplayName(name)
  const hosts = normalizeHosts(options.hosts)
  const endpoint = options.endpoint ?? defaultEndpoint(hosts[0]!)
  assertEndpoint(endpoint)
  const validityDays = options.validityDays ?? DEFAULT_LEAF_VALIDITY_DAYS
  assertValidityDays(validityDays, 'certificate')
  const caValidityDays = options.caValidityDays ?? DEFAULT_CA_VALIDITY_DAYS
  assertValidityDays(caValidityDays, 'CA')
  if (typeof options.out !== 'string' || options.out.length === 0) throw new TypeError('"out" must be a directory path')
  const now = options.now ?? new Date()
  const dir = resolve(options.out)

  if (options.force !== true) {
    for (const file of INIT_ORG_FILES) {
      const path = join(dir, file)
      if (await exists(path)) throw new CertsError('CW_CERTS_FILE_EXISTS', `${path} exists (use --force to replace the organization's keys)`)
    }
  }

  const ca = await createOrgCa({ org, name, now, validityDays: caValidityDays })
  const window = leafValidity(ca.certificate, now, validityDays)
  const node = await issueNodeCertificate(ca, { org, name, hosts, ...window })
  const signing = await issueSigningCertificate(ca, { org, name, ...window })
  const caCertificatePem = ca.certificate.toString('pem') + '\n'
  const bundle = buildPartnerBundle({ org, name, endpoint, caCertificatePem })
  // What we hand partners must pass the very check they will run.
  checkPartnerBundle(bundle, { fingerprint: bundle.caFingerprint, currentDate: now })

  const contents: Record<(typeof INIT_ORG_FILES)[number], string> = {
    [ORG_FILES.caKey]: await privateKeyToPem(ca.privateKey),
    [ORG_FILES.caCertificate]: caCertificatePem,
    [ORG_FILES.nodeKey]: await privateKeyToPem(node.privateKey),
    [ORG_FILES.nodeCertificate]: node.certificate.toString('pem') + '\n',
    [ORG_FILES.signingKey]: await privateKeyToPem(signing.privateKey),
    [ORG_FILES.signingCertificate]: signing.certificate.toString('pem') + '\n',
    [ORG_FILES.partnerBundle]: JSON.stringify(bundle, null, 2) + '\n',
  }
  await ensureOrgDir(dir)
  const files: string[] = []
  for (const file of INIT_ORG_FILES) {
    const path = join(dir, file)
    if (file.endsWith('.key')) await writeKeyFile(path, ensureNewline(contents[file]))
    else await writePublicFile(path, contents[file])
    files.push(path)
  }
  return { dir, files, bundle }
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : text + '\n'
}
