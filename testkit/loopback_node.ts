/**
 * A node directory for a node that lives on loopback only: `initNode` with host `127.0.0.1`
 * and two free ports, then `caseway.json` adjusted so that the federation listener binds
 * 127.0.0.1 (not every interface) and with any transfer or log settings the caller wants.
 * Used by `caseway demo` and the integration tests.
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { certificateFingerprint, type PartnerBundle } from '#protocol'
import { CONFIG_FILE, loadConfig } from '../node/src/config/load.ts'
import type { NodeConfig } from '../node/src/config/schema.ts'
import { mintAdminTokenFile } from '../node/src/access/admin_token.ts'
import { initNode } from '../node/src/init_node.ts'
import { freePorts } from './node_process.ts'

export const LOOPBACK_HOST = '127.0.0.1'

type SmtpSettings = NonNullable<NodeConfig['notifications']['smtp']>

export interface LoopbackNodeOptions {
  org: string
  name: string
  /** The node directory to create. */
  dir: string
  /** Settings merged into `caseway.json` (e.g. `{ transfers: { chunkSize: 1048576 } }`). */
  settings?: {
    /** E.g. `{ protocolVersions: ['0.1'] }` for a v0.1 node (SPEC.md §15), `{ chunkBatches: false }` for one without EP-20. */
    federation?: Partial<Pick<NodeConfig['federation'], 'protocolVersions' | 'chunkBatches' | 'publicUrl'>>
    /** E.g. `{ id: 'metro-pd-1', jobLeaseSeconds: 4 }` for one of several replicas. */
    replica?: Partial<NodeConfig['replica']>
    transfers?: Partial<NodeConfig['transfers']>
    /** E.g. `{ downloadListener: { host: '127.0.0.1', port } }`. */
    links?: Partial<NodeConfig['links']>
    limits?: Partial<NodeConfig['limits']>
    log?: Partial<NodeConfig['log']>
    /**
     * E.g. `{ blobs: { kind: 's3', … } }` or `{ metadata: { kind: 'postgres', url } }`: as written in
     * caseway.json (see `config/schema.ts`).
     */
    storage?: { database?: string; metadata?: Readonly<Record<string, unknown>>; blobs?: string | Readonly<Record<string, unknown>> }
    /** E.g. `{ smtp: { host, port, from } }` (see `config/schema.ts`; omitted keys take their defaults). */
    notifications?: Omit<Partial<NodeConfig['notifications']>, 'smtp'> & {
      smtp?: Omit<SmtpSettings, 'secure' | 'requireTLS'> & Partial<Pick<SmtpSettings, 'secure' | 'requireTLS'>>
    }
  }
}

export interface LoopbackNode {
  org: string
  name: string
  dir: string
  config: NodeConfig
  /** This organization's partner bundle, as `caseway init` wrote it. */
  bundle: PartnerBundle
  /**
   * The CA fingerprint computed here from `pki/ca.crt`: what the partner reads out over a
   * second channel (CW-TRUST-002), not the bundle's own claim.
   */
  caFingerprint: string
  /** `https://127.0.0.1:<port>`, the endpoint in the bundle. */
  federationEndpoint: string
  pkiDir: string
  /** File the node process's JSON logs go to. */
  logFile: string
}

export async function initLoopbackNode(options: LoopbackNodeOptions): Promise<LoopbackNode> {
  const [federationPort, localPort] = (await freePorts(2)) as [number, number]
  const { bundle } = await initNode({ org: options.org, name: options.name, dir: options.dir, host: LOOPBACK_HOST, federationPort, localPort })
  const configPath = join(options.dir, CONFIG_FILE)
  const raw = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, Record<string, unknown>>
  raw['federation'] = { ...raw['federation'], host: LOOPBACK_HOST }
  for (const [section, values] of Object.entries(options.settings ?? {})) {
    if (values !== undefined) raw[section] = { ...raw[section], ...values }
  }
  await writeFile(configPath, JSON.stringify(raw, null, 2) + '\n', { mode: 0o600 })
  // Validates what was written, exactly as `caseway start` will read it.
  const config = await loadConfig(options.dir)
  // init minted the first admin token in the default store: mint it in the one configured.
  if (options.settings?.storage?.metadata !== undefined) await mintAdminTokenFile(config)
  const pkiDir = join(config.dir, config.pki.dir)
  const caFingerprint = certificateFingerprint(await readFile(join(pkiDir, 'ca.crt'), 'utf8'))
  return {
    org: options.org,
    name: options.name,
    dir: config.dir,
    config,
    bundle,
    caFingerprint,
    federationEndpoint: config.federation.publicUrl,
    pkiDir,
    logFile: join(config.dir, 'node.log'),
  }
}
