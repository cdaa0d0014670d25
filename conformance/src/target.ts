/**
 * The implementation under test, as the harness knows it: its partner bundle (org id, CA)
 * and the URL of its federation listener.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { checkPartnerBundle, type PartnerBundle, type TrustAnchor } from '#protocol'

export interface Target {
  org: string
  name: string
  /** Base URL of the federation listener (no trailing slash). */
  url: string
  bundle: PartnerBundle
  caPem: string
  anchor: TrustAnchor
}

/**
 * Reads the target's partner bundle and checks it as an importer would (CW-TRUST-001,
 * CW-TRUST-003). `url` overrides the bundle's endpoint.
 */
export async function loadTarget(bundleFile: string, url?: string): Promise<Target> {
  const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as PartnerBundle
  checkPartnerBundle(bundle, { fingerprint: bundle.caFingerprint })
  const base = new URL(url ?? bundle.endpoint)
  if (base.protocol !== 'https:') throw new TypeError(`target URL must be https: ${base.href}`)
  return {
    org: bundle.org,
    name: bundle.name,
    url: base.href.replace(/\/$/, ''),
    bundle,
    caPem: bundle.caCertificate,
    anchor: { certificate: bundle.caCertificate, org: bundle.org },
  }
}
