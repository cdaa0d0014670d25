/**
 * Secrets in `caseway.json` (CW-LOC-013): the SMTP password, the webhook secret, the S3
 * blob store's access and secret keys and the PostgreSQL URL (it holds the password) are given
 * inline (a string), or as `{"file": <path>}` (relative to the node directory; the file must
 * be readable by its owner only, and holds the secret, a final newline ignored) or as
 * `{"env": <VARIABLE>}`. They are resolved once, when the configuration is loaded; the rest of
 * the node sees strings. A configuration file that other users can read must not hold a secret
 * inline: {@link assertNoExposedInlineSecret} refuses it, naming the file, the key and the fix.
 * No message here ever carries a secret's value.
 *
 * @module
 */
import { readFileSync, statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'

/** A secret as written in the configuration file. */
export type SecretSource = string | { readonly file: string } | { readonly env: string }

/** The JSON Schema of a secret given by reference. */
export const SECRET_REFERENCE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    file: { type: 'string', minLength: 1, description: 'A file holding the secret (readable by its owner only); relative to the node directory.' },
    env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'An environment variable holding the secret.' },
  },
} as const

/** Where secrets sit in the configuration, as paths of keys. */
export const SECRET_KEYS: readonly (readonly string[])[] = [
  ['notifications', 'smtp', 'password'],
  ['notifications', 'webhook', 'secret'],
  ['storage', 'blobs', 'accessKey'],
  ['storage', 'blobs', 'secretKey'],
  // The PostgreSQL URL carries the database password.
  ['storage', 'metadata', 'url'],
]

/** Thrown for a secret that cannot be used; the message names the key, never the value. */
export class SecretError extends Error {
  override name = 'SecretError'
  /** The dotted key of the secret (`notifications.smtp.password`). */
  readonly key: string

  constructor(key: string, message: string) {
    super(message)
    this.key = key
  }
}

function parentOf(config: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let node: unknown = config
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : undefined
}

/** The dotted keys of the secrets `config` holds inline (as strings). */
export function inlineSecretKeys(config: unknown): string[] {
  return SECRET_KEYS.filter((path) => typeof parentOf(config, path)?.[path.at(-1)!] === 'string').map((path) => path.join('.'))
}

/** `(mode & 0o077) !== 0`: some other user (group or world) may read the file. */
export function readableByOthers(mode: number): boolean {
  return (mode & 0o077) !== 0
}

/**
 * Refuses a configuration file that other users can read when it holds a secret inline.
 *
 * @throws {SecretError} naming the file, its mode, the key and the fix.
 */
export function assertNoExposedInlineSecret(configPath: string, mode: number, config: unknown): void {
  if (!readableByOthers(mode)) return
  const keys = inlineSecretKeys(config)
  if (keys.length === 0) return
  throw new SecretError(
    keys[0]!,
    `${configPath} is readable by other users (mode ${(mode & 0o777).toString(8)}) and holds ${keys.join(' and ')} inline: ` +
      `chmod 600 ${configPath}, or give the secret as {"file": "<a file only you can read>"} or {"env": "<VARIABLE>"}`,
  )
}

/**
 * Replaces every secret given by reference in `config` (validated, mutable) by its value.
 *
 * @throws {SecretError} a missing, empty or other-readable file, an unset variable.
 */
export function resolveSecrets(config: unknown, dir: string, env: NodeJS.ProcessEnv = process.env): void {
  for (const path of SECRET_KEYS) {
    const parent = parentOf(config, path)
    const name = path.at(-1)!
    const source = parent?.[name] as SecretSource | undefined
    if (source === undefined || typeof source === 'string') continue
    const key = path.join('.')
    parent![name] =
      'file' in source ? readSecretFile(key, isAbsolute(source.file) ? source.file : resolve(dir, source.file)) : readSecretEnv(key, source.env, env)
  }
}

function readSecretFile(key: string, file: string): string {
  let mode: number
  let text: string
  try {
    mode = statSync(file).mode
    text = readFileSync(file, 'utf8')
  } catch {
    throw new SecretError(key, `${key}: cannot read the secret file ${file}`)
  }
  if (readableByOthers(mode)) {
    throw new SecretError(key, `${key}: the secret file ${file} is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${file}`)
  }
  const value = text.replace(/\r?\n$/, '')
  if (value === '') throw new SecretError(key, `${key}: the secret file ${file} is empty`)
  return value
}

function readSecretEnv(key: string, variable: string, env: NodeJS.ProcessEnv): string {
  const value = env[variable]
  if (value === undefined || value === '') throw new SecretError(key, `${key}: the environment variable ${variable} is not set`)
  return value
}
