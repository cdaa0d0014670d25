/**
 * The harness's own test organizations on disk (`caseway conformance init`): the partner org
 * the implementation under test pairs with, and a few auxiliary orgs that sign the earlier
 * hops of onward chains (the target pins them *trust-only*, CW-PROV-008).
 *
 * Layout of the harness directory:
 *
 * ```
 * harness.json            org ids, endpoint and listen address
 * <org>/                  one organization directory per org (ca, node, signing keys; partner-bundle.json)
 * ```
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ensureOrgDir, initOrg, ORG_FILES, privateKeyFromPem, readOrgDir, writeFileAtomic, type KeyedCertificate } from '#certs'
import { checkPartnerBundle, type PartnerBundle, type Signer, type TrustAnchor } from '#protocol'
import { x509 } from '#protocol/x509'

export const HARNESS_FILE = 'harness.json'
export const DEFAULT_HARNESS_ORG = 'cw-conformance'
export const DEFAULT_HARNESS_ENDPOINT = 'https://127.0.0.1:9443'
/** Trust-only orgs for chains of depth 1..AUX_ORGS + 1. */
export const AUX_ORGS = 3

/** `harness.json`. */
export interface HarnessFile {
  org: string
  name: string
  /** The federation endpoint in the harness's partner bundle (where the target reaches it). */
  endpoint: string
  /** Orgs that only sign earlier hops of chains; pinned trust-only by the target. */
  aux: string[]
}

/** One of the harness's organizations, loaded. */
export interface HarnessOrg {
  org: string
  name: string
  dir: string
  ca: KeyedCertificate
  caPem: string
  anchor: TrustAnchor
  signing: KeyedCertificate
  /** Signs protocol objects with the signing certificate (x5c = signing certificate only). */
  signer: Signer
  /** The node TLS certificate and key, PEM. */
  tls: { cert: string; key: string }
  bundle: PartnerBundle
}

export interface Harness {
  dir: string
  file: HarnessFile
  main: HarnessOrg
  aux: HarnessOrg[]
}

export interface InitHarnessOptions {
  dir: string
  org?: string
  name?: string
  endpoint?: string
  force?: boolean
  now?: Date
}

/** Creates the harness's organizations in `dir` and returns them with their bundles. */
export async function initHarness(options: InitHarnessOptions): Promise<Harness> {
  const dir = resolve(options.dir)
  const org = options.org ?? DEFAULT_HARNESS_ORG
  const name = options.name ?? 'Caseway Conformance Harness'
  const endpoint = options.endpoint ?? DEFAULT_HARNESS_ENDPOINT
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '')
  const aux = Array.from({ length: AUX_ORGS }, (_, index) => `${org.slice(0, 59)}-o${index + 1}`)
  await ensureOrgDir(dir)
  const common = { hosts: [host], endpoint, ...(options.force === true ? { force: true } : {}), ...(options.now ? { now: options.now } : {}) }
  await initOrg({ org, name, out: join(dir, org), ...common })
  for (const [index, auxOrg] of aux.entries()) {
    await initOrg({ org: auxOrg, name: `${name} auxiliary ${index + 1}`, out: join(dir, auxOrg), ...common })
  }
  const file: HarnessFile = { org, name, endpoint, aux }
  await writeFileAtomic(join(dir, HARNESS_FILE), JSON.stringify(file, null, 2) + '\n', 0o644)
  return loadHarness(dir)
}

/** Reads a harness directory made by {@link initHarness}. */
export async function loadHarness(dir: string): Promise<Harness> {
  const root = resolve(dir)
  const text = await readFile(join(root, HARNESS_FILE), 'utf8').catch(() => {
    throw new TypeError(`${root} is not a harness directory (create one with caseway conformance init --dir ${dir})`)
  })
  const file = JSON.parse(text) as HarnessFile
  if (typeof file.org !== 'string' || typeof file.endpoint !== 'string' || !Array.isArray(file.aux)) {
    throw new TypeError(`${join(root, HARNESS_FILE)} is not a harness file (run caseway conformance init)`)
  }
  const main = await loadOrg(join(root, file.org))
  const aux = await Promise.all(file.aux.map((org) => loadOrg(join(root, org))))
  return { dir: root, file, main, aux }
}

async function loadOrg(dir: string): Promise<HarnessOrg> {
  const { org, name, ca, caCertificatePem } = await readOrgDir(dir)
  const read = (file: string) => readFile(join(dir, file), 'utf8')
  const signingPem = await read(ORG_FILES.signingCertificate)
  const signing: KeyedCertificate = {
    certificate: new x509.X509Certificate(signingPem),
    privateKey: await privateKeyFromPem(await read(ORG_FILES.signingKey)),
  }
  const bundle = JSON.parse(await read(ORG_FILES.partnerBundle)) as PartnerBundle
  checkPartnerBundle(bundle, { fingerprint: bundle.caFingerprint })
  return {
    org,
    name,
    dir,
    ca,
    caPem: caCertificatePem,
    anchor: { certificate: caCertificatePem, org },
    signing,
    signer: { privateKey: signing.privateKey, chain: [signingPem] },
    tls: { cert: await read(ORG_FILES.nodeCertificate), key: await read(ORG_FILES.nodeKey) },
    bundle,
  }
}
