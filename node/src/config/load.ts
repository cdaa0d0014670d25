/**
 * Loads, validates and freezes the node configuration. A bad file fails start-up with one
 * message naming the bad field.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { resolve, isAbsolute } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { configSchema, type BlobsConfig, type MetadataConfig, type NodeConfig } from './schema.ts'
import { SecretError, assertNoExposedInlineSecret, resolveSecrets } from './secrets.ts'

export const CONFIG_FILE = 'caseway.json'

const validate = new Ajv2020({ useDefaults: true, allErrors: false, strict: true }).compile(configSchema)

/** The code of every `caseway.json` the node refuses: the CLI prints `caseway: CW_CONFIG_INVALID: …` whichever command read it. */
export const CONFIG_INVALID = 'CW_CONFIG_INVALID'

/** Thrown for an invalid configuration; the message names the file (when read from one) and the key at fault. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  /** The dotted key at fault (`log.level`), when one is. */
  readonly key: string | undefined
  /** The file at fault, when one is. */
  readonly file: string | undefined
  /** {@link CONFIG_INVALID} for a `caseway.json` refused by {@link loadConfig}; none for other setup faults (keys, ports given to init). */
  readonly code: string | undefined

  constructor(message: string, options: ErrorOptions & { key?: string; file?: string; code?: string } = {}) {
    super(message, options)
    this.key = options.key
    this.file = options.file
    this.code = options.code
  }
}

type SchemaError = NonNullable<typeof validate.errors>[number]

function dotted(instancePath: string, property?: unknown): string {
  const segments =
    instancePath === ''
      ? []
      : instancePath
          .slice(1)
          .split('/')
          .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
  if (typeof property === 'string') segments.push(property)
  return segments.join('.') || '(root)'
}

/**
 * The first schema violation as `key: what is wrong`, in words an operator can act on: an enum
 * lists its allowed values (issue 16, finding 9). The value given is never echoed: it may be a secret.
 */
function schemaViolation(error: SchemaError): ConfigError {
  const { keyword, params, instancePath } = error
  let key = dotted(instancePath)
  let fault: string
  if (keyword === 'additionalProperties') {
    fault = `unknown field "${String(params['additionalProperty'])}"`
  } else if (keyword === 'required') {
    key = dotted(instancePath, params['missingProperty'])
    fault = 'missing (required)'
  } else if (keyword === 'enum') {
    fault = `must be one of ${(params['allowedValues'] as readonly unknown[]).map((value) => JSON.stringify(value)).join(', ')}`
  } else if (keyword === 'const') {
    fault = `must be ${JSON.stringify(params['allowedValue'])}`
  } else {
    fault = error.message ?? 'invalid'
  }
  return new ConfigError(`invalid configuration: ${key}: ${fault}`, { key })
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/**
 * Validates a parsed configuration (defaults applied), resolves the secrets it gives by
 * reference (`{"file": …}`, `{"env": …}`, CW-LOC-013) and returns it frozen.
 */
export function parseConfig(raw: unknown, dir: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const copy = structuredClone(raw)
  if (!validate(copy)) {
    throw schemaViolation(validate.errors![0]!)
  }
  try {
    resolveSecrets(copy, dir, env)
  } catch (err) {
    if (err instanceof SecretError) throw new ConfigError(`invalid configuration: ${err.message}`, { cause: err, key: err.key })
    throw err
  }
  const secret = (copy as { notifications?: { webhook?: { secret?: string } } }).notifications?.webhook?.secret
  if (secret !== undefined && secret.length < 32)
    throw new ConfigError('invalid configuration: notifications.webhook.secret: must have at least 32 characters', { key: 'notifications.webhook.secret' })
  normalizeBlobs(copy as unknown as { storage: { blobs: unknown } })
  normalizeMetadata(copy as unknown as { storage: { database: string; metadata?: unknown } })
  const config = copy as Omit<NodeConfig, 'dir'>
  assertDistinctPorts(config)
  return deepFreeze({ ...config, dir }) as NodeConfig
}

/**
 * `storage.blobs` in one shape for the rest of the node: a directory (the form every earlier
 * configuration has) becomes `{ kind: 'fs', dir }`, and the defaults of the chosen kind are
 * filled in here, since the schema picks the kind with if/then, where defaults are not applied.
 */
function normalizeBlobs(config: { storage: { blobs: unknown } }): void {
  const blobs = config.storage.blobs
  if (typeof blobs === 'string') {
    config.storage.blobs = { kind: 'fs', dir: blobs } satisfies BlobsConfig
    return
  }
  const given = blobs as Partial<Record<string, unknown>> & { kind: BlobsConfig['kind'] }
  config.storage.blobs = given.kind === 'fs' ? { dir: 'blobs', ...given } : { region: 'us-east-1', prefix: '', pathStyle: true, ...given }
}

/**
 * `storage.metadata` in one shape: absent, it is SQLite at `storage.database` (every earlier
 * configuration); the defaults of the chosen kind are filled in here (if/then applies none).
 */
function normalizeMetadata(config: { storage: { database: string; metadata?: unknown } }): void {
  const given = config.storage.metadata as (Partial<Record<string, unknown>> & { kind: MetadataConfig['kind'] }) | undefined
  if (given === undefined || given.kind === 'sqlite') {
    config.storage.metadata = { kind: 'sqlite', database: config.storage.database, ...given } satisfies Partial<MetadataConfig>
    return
  }
  const tls = given['tls'] as Record<string, unknown> | undefined
  config.storage.metadata = { poolSize: 10, ...given, ...(tls === undefined ? {} : { tls: { rejectUnauthorized: true, ...tls } }) }
}

/** spec: CW-LOC-019 — each listener needs its own port (0, "any free port", may repeat). */
function assertDistinctPorts(config: Omit<NodeConfig, 'dir'>): void {
  const ports: [string, number][] = [
    ['federation.port', config.federation.port],
    ['local.port', config.local.port],
    ...(config.ops === undefined ? [] : [['ops.port', config.ops.port] as [string, number]]),
  ]
  const seen = new Map<number, string>()
  for (const [key, port] of ports) {
    if (port === 0) continue
    const other = seen.get(port)
    if (other !== undefined) throw new ConfigError(`invalid configuration: ${other} and ${key} are both ${port}: each listener needs its own port`, { key })
    seen.set(port, key)
  }
}

/** Reads `caseway.json` from `dir`. */
export async function loadConfig(dir: string): Promise<NodeConfig> {
  const absolute = resolve(dir)
  const path = resolve(absolute, CONFIG_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new ConfigError(`no configuration at ${path}: run caseway init first`, { file: path, code: CONFIG_INVALID })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`, { file: path, code: CONFIG_INVALID })
  }
  // A secret written inline is only as safe as the file it is written in (CW-LOC-013).
  try {
    assertNoExposedInlineSecret(path, (await stat(path)).mode, raw)
  } catch (err) {
    if (err instanceof SecretError) throw new ConfigError(err.message, { cause: err, key: err.key, file: path, code: CONFIG_INVALID })
    throw err
  }
  try {
    return parseConfig(raw, absolute)
  } catch (err) {
    // The same message as parseConfig's, with the file it is about.
    if (err instanceof ConfigError)
      throw new ConfigError(`${path}: ${err.message}`, { cause: err, ...(err.key === undefined ? {} : { key: err.key }), file: path, code: CONFIG_INVALID })
    throw err
  }
}

/**
 * This replica's name: `replica.id`, or the host name (stable across restarts, so a restart
 * takes its jobs back and cleans its own temporary uploads).
 */
export function replicaIdOf(config: NodeConfig): string {
  return (
    config.replica.id ??
    (hostname()
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 64) ||
      'replica')
  )
}

/** Resolves a configured path against the node directory. */
export function nodePath(config: NodeConfig, path: string): string {
  return isAbsolute(path) ? path : resolve(config.dir, path)
}
