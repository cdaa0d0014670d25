/**
 * `caseway init`: a ready node directory — the organization's PKI (through the certs
 * tooling), `caseway.json`, and the data directories — plus a first admin token, written to
 * `admin.token` (0600) in the directory and never printed (CW-LOC-011).
 *
 * @module
 */
import { mkdir, writeFile, access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { initOrg } from '#certs'
import type { PartnerBundle } from '#protocol'
import { CONFIG_FILE, ConfigError, parseConfig } from './config/load.ts'
import type { NodeConfig } from './config/schema.ts'
import { mintAdminTokenFile } from './access/admin_token.ts'

export interface InitNodeOptions {
  org: string
  name: string
  dir: string
  /** Host name partners reach the federation listener on (default `localhost`). */
  host?: string
  federationPort?: number
  localPort?: number
  /** Overwrite an existing node directory's configuration and keys. */
  force?: boolean
  /** Keep evidence in this S3 bucket instead of the node directory (the keys come from {@link S3_KEY_ENV}). */
  s3?: InitS3Options
  /** Keep the metadata in PostgreSQL at the URL in {@link POSTGRES_URL_ENV} instead of SQLite in the node directory. */
  postgres?: boolean
  now?: Date
}

export interface InitS3Options {
  endpoint: string
  bucket: string
  region?: string
  prefix?: string
}

/**
 * The environment variables an S3 node made by `caseway init` reads its keys from: the
 * configuration names them, never holds them (CW-LOC-013).
 */
export const S3_KEY_ENV = { accessKey: 'CASEWAY_S3_ACCESS_KEY', secretKey: 'CASEWAY_S3_SECRET_KEY' } as const

/** The environment variable the URL of a PostgreSQL node made by `caseway init` comes from (it holds the password: CW-LOC-013). */
export const POSTGRES_URL_ENV = 'CASEWAY_POSTGRES_URL'

export interface InitializedNode {
  config: NodeConfig
  bundle: PartnerBundle
  /** The file holding the first admin token (0600). */
  adminTokenFile: string
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1']

export async function initNode(options: InitNodeOptions): Promise<InitializedNode> {
  const dir = resolve(options.dir)
  const host = options.host ?? 'localhost'
  const federationPort = options.federationPort ?? 8443
  const localPort = options.localPort ?? 8080
  // spec: CW-LOC-019 — two listeners on one port cannot both open.
  if (federationPort === localPort && localPort !== 0) {
    throw new ConfigError(`the federation port and the local port are both ${localPort}: give --federation-port and --local-port different values`)
  }
  const configPath = join(dir, CONFIG_FILE)
  if (
    !options.force &&
    (await access(configPath).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error(`${configPath} exists: this directory already holds a node (use --force to replace it)`)
  }
  const publicHost = host.includes(':') ? `[${host}]` : host
  const loopback = LOOPBACK_HOSTS.includes(host)
  const raw = {
    org: options.org,
    name: options.name,
    // A node named by a loopback name can only be reached on loopback: listen there only.
    federation: { host: loopback ? '127.0.0.1' : '0.0.0.0', port: federationPort, publicUrl: `https://${publicHost}:${federationPort}` },
    local: { host: '127.0.0.1', port: localPort },
    ...(options.s3 === undefined && options.postgres !== true
      ? {}
      : {
          storage: {
            ...(options.s3 === undefined ? {} : { blobs: s3Blobs(options.s3) }),
            ...(options.postgres === true ? { metadata: { kind: 'postgres', url: { env: POSTGRES_URL_ENV } } } : {}),
          },
        }),
  }
  // Validate before writing anything, so a bad option leaves no half-made node behind.
  const config = parseConfig(raw, dir)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  // A node on a loopback name also answers on the loopback addresses, so local partners can use either.
  const hosts = loopback ? LOOPBACK_HOSTS : [host]
  const { bundle } = await initOrg({
    org: options.org,
    name: options.name,
    hosts,
    endpoint: config.federation.publicUrl,
    out: join(dir, config.pki.dir),
    force: options.force ?? false,
    ...(options.now === undefined ? {} : { now: options.now }),
  })
  if (config.storage.blobs.kind === 'fs') await mkdir(join(dir, config.storage.blobs.dir), { recursive: true, mode: 0o700 })
  await writeFile(configPath, JSON.stringify(raw, null, 2) + '\n', { mode: 0o600 })
  const { path: adminTokenFile } = await mintAdminTokenFile(config)
  return { config, bundle, adminTokenFile }
}

function s3Blobs(s3: InitS3Options): Record<string, unknown> {
  return {
    kind: 's3',
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    ...(s3.region === undefined ? {} : { region: s3.region }),
    ...(s3.prefix === undefined ? {} : { prefix: s3.prefix }),
    accessKey: { env: S3_KEY_ENV.accessKey },
    secretKey: { env: S3_KEY_ENV.secretKey },
  }
}
