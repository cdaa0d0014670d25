/**
 * Loads, validates and freezes the node configuration. A bad file fails start-up with one
 * message naming the bad field.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { resolve, isAbsolute } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { configSchema, type NodeConfig } from './schema.ts'
import { SecretError, assertNoExposedInlineSecret, resolveSecrets } from './secrets.ts'

export const CONFIG_FILE = 'caseway.json'

const validate = new Ajv2020({ useDefaults: true, allErrors: false, strict: true }).compile(configSchema)

/** Thrown for an invalid configuration; the message names the field. */
export class ConfigError extends Error {
  override name = 'ConfigError'
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
    const error = validate.errors![0]!
    const field = (error.instancePath || '/').replace(/^\//, '').replaceAll('/', '.') || '(root)'
    const detail = error.keyword === 'additionalProperties' ? `unknown field "${String(error.params['additionalProperty'])}"` : (error.message ?? 'invalid')
    throw new ConfigError(`invalid configuration: ${field}: ${detail}`)
  }
  try {
    resolveSecrets(copy, dir, env)
  } catch (err) {
    if (err instanceof SecretError) throw new ConfigError(`invalid configuration: ${err.message}`, { cause: err })
    throw err
  }
  const secret = (copy as { notifications?: { webhook?: { secret?: string } } }).notifications?.webhook?.secret
  if (secret !== undefined && secret.length < 32) throw new ConfigError('invalid configuration: notifications.webhook.secret: must have at least 32 characters')
  const config = copy as Omit<NodeConfig, 'dir'>
  assertDistinctPorts(config)
  return deepFreeze({ ...config, dir }) as NodeConfig
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
    if (other !== undefined) throw new ConfigError(`invalid configuration: ${other} and ${key} are both ${port}: each listener needs its own port`)
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
    throw new ConfigError(`no configuration at ${path}: run caseway init first`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`)
  }
  // A secret written inline is only as safe as the file it is written in (CW-LOC-013).
  try {
    assertNoExposedInlineSecret(path, (await stat(path)).mode, raw)
  } catch (err) {
    if (err instanceof SecretError) throw new ConfigError(err.message, { cause: err })
    throw err
  }
  return parseConfig(raw, absolute)
}

/** Resolves a configured path against the node directory. */
export function nodePath(config: NodeConfig, path: string): string {
  return isAbsolute(path) ? path : resolve(config.dir, path)
}
