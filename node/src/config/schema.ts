/**
 * The node's configuration: one JSON Schema with defaults, validated once at start-up and
 * frozen. `caseway init` writes `caseway.json` in the node's directory; relative paths in it
 * are resolved against that directory.
 *
 * @module
 */

export const configSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:caseway:schema:node-config',
  title: 'NodeConfig',
  type: 'object',
  additionalProperties: false,
  required: ['org', 'name', 'federation', 'local'],
  properties: {
    org: { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$', description: 'This organization\'s org id.' },
    name: { type: 'string', minLength: 1, maxLength: 200, description: 'Display name.' },
    federation: {
      type: 'object',
      additionalProperties: false,
      required: ['port', 'publicUrl'],
      properties: {
        host: { type: 'string', default: '0.0.0.0', description: 'Address the partner-facing listener binds.' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        publicUrl: { type: 'string', pattern: '^https://', description: 'The endpoint partners use (goes into the partner bundle).' },
      },
    },
    local: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: {
        host: { type: 'string', default: '127.0.0.1', description: 'Address of the local listener; loopback unless a proxy fronts it.' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    pki: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { dir: { type: 'string', default: 'pki' } },
    },
    storage: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        database: { type: 'string', default: 'caseway.db', description: 'SQLite file.' },
        blobs: { type: 'string', default: 'blobs', description: 'Directory of the filesystem blob store.' },
      },
    },
    transfers: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        parallelChunks: { type: 'integer', minimum: 1, maximum: 32, default: 4 },
        chunkSize: { enum: [65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216], default: 4194304 },
        retryBaseMs: { type: 'integer', minimum: 10, default: 1000 },
        retryMaxMs: { type: 'integer', minimum: 100, default: 60000 },
        maxAttempts: { type: 'integer', minimum: 1, default: 1000 },
        shareDurationSeconds: { type: 'integer', minimum: 60, default: 2592000, description: 'Default share lifetime, bounded by the policy.' },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        manifestBytes: { type: 'integer', minimum: 33554432, default: 33554432 },
        jsonBodyBytes: { type: 'integer', minimum: 1024, default: 1048576 },
        requestTimeoutMs: { type: 'integer', minimum: 1000, default: 60000 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' } },
    },
  },
} as const

export interface NodeConfig {
  readonly org: string
  readonly name: string
  readonly federation: { readonly host: string; readonly port: number; readonly publicUrl: string }
  readonly local: { readonly host: string; readonly port: number }
  readonly pki: { readonly dir: string }
  readonly storage: { readonly database: string; readonly blobs: string }
  readonly transfers: {
    readonly parallelChunks: number
    readonly chunkSize: 65536 | 131072 | 262144 | 524288 | 1048576 | 2097152 | 4194304 | 8388608 | 16777216
    readonly retryBaseMs: number
    readonly retryMaxMs: number
    readonly maxAttempts: number
    readonly shareDurationSeconds: number
  }
  readonly limits: { readonly manifestBytes: number; readonly jsonBodyBytes: number; readonly requestTimeoutMs: number }
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' }
  /** Absolute directory the relative paths above are resolved against (not in the file). */
  readonly dir: string
}
