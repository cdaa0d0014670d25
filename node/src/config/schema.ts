/**
 * The node's configuration: one JSON Schema with defaults, validated once at start-up and
 * frozen. `caseway init` writes `caseway.json` in the node's directory; relative paths in it
 * are resolved against that directory.
 *
 * @module
 */
import { CONFIG_LIMITS, PARTNER_QUOTAS } from '../limits.ts'
import { SECRET_REFERENCE_SCHEMA } from './secrets.ts'

/** `storage.blobs` as `{"kind": "fs"}`: the embedded default. */
const FS_BLOBS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { const: 'fs', description: 'The filesystem blob store.' },
    dir: { type: 'string', minLength: 1, default: 'blobs', description: 'Directory of the filesystem blob store.' },
  },
} as const

/** `storage.blobs` as `{"kind": "s3"}`: an S3-compatible object store (MinIO). */
const S3_BLOBS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'endpoint', 'bucket', 'accessKey', 'secretKey'],
  properties: {
    kind: { const: 's3', description: 'An S3-compatible object store (MinIO, AWS S3).' },
    endpoint: {
      type: 'string',
      pattern: '^https?://[^\\s/?#@]+/?$',
      description: 'The S3 endpoint, https://host[:port] (http only inside a trusted network): no path, no credentials.',
    },
    bucket: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', description: 'The bucket (it must exist; the node does not create it).' },
    region: { type: 'string', minLength: 1, default: 'us-east-1', description: 'The region the bucket is in (MinIO: its configured region).' },
    accessKey: {
      oneOf: [{ type: 'string', minLength: 1 }, SECRET_REFERENCE_SCHEMA],
      description: 'S3 access key: inline (only in a caseway.json readable by its owner only), or {"file": path} or {"env": NAME}. Never logged.',
    },
    secretKey: {
      oneOf: [{ type: 'string', minLength: 1 }, SECRET_REFERENCE_SCHEMA],
      description: 'S3 secret key: inline (only in a caseway.json readable by its owner only), or {"file": path} or {"env": NAME}. Never logged.',
    },
    prefix: {
      type: 'string',
      pattern: '^(?:[A-Za-z0-9._-]+/)*$',
      default: '',
      description: 'Prefix of every key the node writes, ending in / (one bucket shared with other data).',
    },
    pathStyle: {
      type: 'boolean',
      default: true,
      description: 'Path-style requests (https://host/bucket/key), as MinIO expects; false for virtual-hosted style (https://bucket.host/key).',
    },
  },
} as const

/** `storage.metadata` as `{"kind": "sqlite"}`: the embedded default. */
const SQLITE_METADATA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { const: 'sqlite', description: 'The embedded SQLite metadata store (one node process).' },
    database: { type: 'string', minLength: 1, description: 'SQLite file of the metadata store (default: storage.database).' },
  },
} as const

/** `storage.metadata` as `{"kind": "postgres"}`: a PostgreSQL database shared by the replicas of the node. */
const POSTGRES_METADATA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'url'],
  properties: {
    kind: { const: 'postgres', description: 'A PostgreSQL database (version 13 or later), shared by every replica of this node.' },
    url: {
      oneOf: [{ type: 'string', pattern: '^postgres(?:ql)?://' }, SECRET_REFERENCE_SCHEMA],
      description:
        'postgres://user:password@host:port/database: inline (only in a caseway.json readable by its owner only), or {"file": path} or {"env": NAME} (e.g. CASEWAY_POSTGRES_URL). Never logged.',
    },
    poolSize: { type: 'integer', minimum: 1, maximum: 1000, default: 10, description: 'Connections each replica keeps open at most.' },
    tls: {
      type: 'object',
      additionalProperties: false,
      description: 'TLS to the server (absent: as the URL says, e.g. ?sslmode=require).',
      properties: {
        ca: { type: 'string', minLength: 1, description: "PEM file of the CA that issued the server's certificate (relative to the node directory)." },
        rejectUnauthorized: { type: 'boolean', default: true, description: "Verify the server's certificate (false only for testing)." },
      },
    },
  },
} as const

export const configSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:caseway:schema:node-config',
  title: 'NodeConfig',
  type: 'object',
  additionalProperties: false,
  required: ['org', 'name', 'federation', 'local'],
  properties: {
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Prometheus metrics.',
      properties: { enabled: { type: 'boolean', default: true, description: 'Serve Prometheus metrics at /metrics on the local listener.' } },
    },
    org: { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$', description: "This organization's org id." },
    name: { type: 'string', minLength: 1, maxLength: 200, description: 'Display name.' },
    federation: {
      type: 'object',
      additionalProperties: false,
      required: ['port', 'publicUrl'],
      description: 'The partner-facing listener (mutual TLS 1.3).',
      properties: {
        host: { type: 'string', default: '0.0.0.0', description: 'Address the partner-facing listener binds.' },
        port: { type: 'integer', minimum: 0, maximum: 65535, description: 'Port of the federation listener (0: any free port).' },
        publicUrl: { type: 'string', pattern: '^https://', description: 'The endpoint partners use (goes into the partner bundle).' },
        protocolVersions: {
          type: 'array',
          items: { enum: ['0.1', '0.2'] },
          minItems: 1,
          uniqueItems: true,
          contains: { const: '0.1' },
          default: ['0.1', '0.2'],
          description:
            'Protocol versions this node speaks (SPEC.md §15): listed in Caseway-Versions, accepted, and negotiated with each partner. ["0.1"] makes the node a v0.1 node (a staged rollout).',
        },
        chunkBatches: {
          type: 'boolean',
          default: true,
          description:
            'Serve batched chunk pulls (EP-20, SPEC.md CW-BAT-001..006) and advertise them in Caseway-Features; false serves EP-2 only, as a node without the feature. Pulling from a partner uses batches whenever it advertises them.',
        },
      },
    },
    local: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      description: "The local API listener (bearer tokens): the agency's own systems and administrators.",
      properties: {
        host: { type: 'string', default: '127.0.0.1', description: 'Address of the local listener; loopback unless a proxy fronts it.' },
        port: { type: 'integer', minimum: 0, maximum: 65535, description: 'Port of the local listener (0: any free port).' },
        allowedHosts: {
          type: 'array',
          default: [],
          maxItems: 100,
          uniqueItems: true,
          items: { type: 'string', minLength: 1, maxLength: 255, pattern: '^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})?|\\[?[0-9A-Fa-f:.]+\\]?)$' },
          description:
            'Host names (no port) the local listener answers for besides loopback and its own address, e.g. the name a reverse proxy forwards as Host. ' +
            'Any other Host is refused with 421 CW_ERR_MISDIRECTED (DNS rebinding).',
        },
      },
    },
    ops: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      description:
        'Optional listener serving only /healthz, /readyz and /metrics (plain HTTP), for kubelet and Prometheus; without it they are on the local listener only. Partner names are not shown on it.',
      properties: {
        host: { type: 'string', default: '0.0.0.0', description: 'Address of the ops listener.' },
        port: { type: 'integer', minimum: 0, maximum: 65535, description: 'Port of the ops listener (0: any free port).' },
      },
    },
    pki: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "This organization's certificates and keys.",
      properties: {
        dir: {
          type: 'string',
          default: 'pki',
          description: 'Directory of ca.crt, node.crt/node.key, signing.crt/signing.key (and ca.key unless the CA is offline); keys must be mode 0600.',
        },
      },
    },
    storage: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Where the node keeps its data: metadata in SQLite, evidence in a content-addressed blob store on the filesystem or S3 (paths relative to the node directory).',
      properties: {
        database: {
          type: 'string',
          default: 'caseway.db',
          description: 'SQLite file of the metadata store (cases, shares, partners, users, tokens, audit trail), unless storage.metadata names another.',
        },
        metadata: {
          type: 'object',
          description:
            'The metadata store: {"kind": "sqlite", "database"?: …} (the default, at storage.database) or {"kind": "postgres", "url": …, "poolSize"?: …, "tls"?: …} for several replicas.',
          // if/then as storage.blobs: the kind picks the keys (and the docs list each kind's).
          if: { type: 'object' },
          then: {
            required: ['kind'],
            properties: { kind: { enum: ['sqlite', 'postgres'] } },
            allOf: [
              { if: { type: 'object', required: ['kind'], properties: { kind: { const: 'sqlite' } } }, then: SQLITE_METADATA_SCHEMA },
              { if: { type: 'object', required: ['kind'], properties: { kind: { const: 'postgres' } } }, then: POSTGRES_METADATA_SCHEMA },
            ],
          },
        },
        blobs: {
          default: 'blobs',
          description:
            'The blob store (evidence chunks, by SHA-256): a directory (the filesystem store; the same as {"kind": "fs", "dir": …}), {"kind": "fs", …} or {"kind": "s3", …}.',
          if: { type: 'string' },
          then: { type: 'string', minLength: 1 },
          else: {
            type: 'object',
            required: ['kind'],
            properties: { kind: { enum: ['fs', 's3'] } },
            allOf: [
              { if: { type: 'object', required: ['kind'], properties: { kind: { const: 'fs' } } }, then: FS_BLOBS_SCHEMA },
              { if: { type: 'object', required: ['kind'], properties: { kind: { const: 's3' } } }, then: S3_BLOBS_SCHEMA },
            ],
          },
        },
        blobCollection: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description:
            'The blob collector: deletes the chunks no evidence, share or external case names any more (mark and sweep; also POST /api/v1/blobs/gc, `caseway blobs gc`).',
          properties: {
            intervalMs: {
              type: 'integer',
              minimum: 60_000,
              default: 21_600_000,
              description: 'Time between two collections (default 6 h). Each replica collects; what one deletes the others find gone.',
            },
            graceMs: {
              type: 'integer',
              minimum: 60_000,
              default: 3_600_000,
              description:
                'A blob younger than this is never deleted (default 1 h): an upload or transfer in progress stores its chunks before the record that names them. Longer than the slowest single upload; storing a chunk again makes it young again.',
            },
          },
        },
      },
    },
    transfers: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Moving evidence between nodes, and retrying the jobs that do it.',
      properties: {
        parallelChunks: {
          type: 'integer',
          minimum: 1,
          maximum: 32,
          default: 4,
          description:
            "Chunks of one share pulled from a partner at once, counted in full-size chunks: a smaller one (a small item, a file's last chunk) counts for its fraction of one, up to 16 chunks at once.",
        },
        chunkSize: {
          enum: [65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216],
          default: 4194304,
          description: 'Bytes per chunk that uploaded evidence is stored and sent in (a power of two, 64 KiB to 16 MiB).',
        },
        retryBaseMs: { type: 'integer', minimum: 10, default: 1000, description: 'First retry delay of a failed job; doubles per attempt, with jitter.' },
        retryMaxMs: { type: 'integer', minimum: 100, default: 60000, description: 'Longest retry delay of a failed job.' },
        maxAttempts: { type: 'integer', minimum: 1, default: 1000, description: 'Attempts of a job before it fails for good.' },
        shareDurationSeconds: { type: 'integer', minimum: 60, default: 2592000, description: 'Default share lifetime, bounded by the policy.' },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Sizes, timeouts, quotas and rate limits.',
      properties: {
        manifestBytes: { type: 'integer', ...CONFIG_LIMITS.manifestBytes, description: 'Largest manifest accepted (SPEC.md CW-FMT-005: 32 to 64 MiB).' },
        jsonBodyBytes: { type: 'integer', ...CONFIG_LIMITS.jsonBodyBytes, description: 'Largest JSON body on the local API.' },
        requestTimeoutMs: {
          type: 'integer',
          ...CONFIG_LIMITS.requestTimeoutMs,
          description: 'Idle connections, a whole federation request, and waiting for a partner to answer (ms).',
        },
        partners: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Per-partner quotas on offers (SPEC.md CW-QUO-001..004), refused with 429 CW_ERR_QUOTA_EXCEEDED; 0 = no limit.',
          properties: {
            itemsPerOffer: { type: 'integer', ...PARTNER_QUOTAS.itemsPerOffer, description: 'Evidence items in one offered revision.' },
            pendingOffers: { type: 'integer', ...PARTNER_QUOTAS.pendingOffers, description: 'Shares and revisions from one partner still being received.' },
            bytesPerDay: {
              type: 'integer',
              ...PARTNER_QUOTAS.bytesPerDay,
              description: 'Evidence bytes of the offers accepted from one partner in any 24 hours.',
            },
          },
        },
        rateLimit: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Requests per minute before 429 CW_ERR_RATE_LIMITED; 0 = no limit.',
          properties: {
            federationPerMinute: { type: 'integer', minimum: 0, default: 6000, description: 'Per partner organization, on the federation listener.' },
            federationPerSecond: {
              type: 'integer',
              minimum: 0,
              default: 0,
              description:
                'Per partner organization, on the federation listener, in one-second windows (Retry-After: 1), instead of federationPerMinute; 0 = use federationPerMinute.',
            },
            localPerMinute: {
              type: 'integer',
              minimum: 0,
              default: 6000,
              description: 'Per bearer token (or client address without one), on the local listener.',
            },
            failedAuthPerMinute: {
              type: 'integer',
              minimum: 0,
              default: 30,
              description:
                'Failed authentications per client address and minute on the local listener; then every request from that address is 429 until the minute ends, whatever token it presents (CW-LOC-012).',
            },
          },
        },
      },
    },
    sharing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'How shares are made.',
      properties: {
        revisionWindowMs: {
          type: 'integer',
          minimum: 0,
          maximum: 60000,
          default: 2000,
          description:
            'Live shares: changes within this window after the first one make one revision (SPEC.md CW-REVN-010); a revision is never made later than this after its first change. 0: a revision per change.',
        },
      },
    },
    links: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Sharing a case with a link: a downloadable, self-verifying package (SPEC.md §22).',
      properties: {
        maxDurationSeconds: {
          type: 'integer',
          minimum: 60,
          default: 2592000,
          description: 'Longest a link share lasts: a longer duration asked for is cut to this.',
        },
        downloadListener: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          description:
            "Optional third listener, HTTPS with the node's TLS certificate, serving nothing but GET and HEAD /download/{token}: the capability links e-mailed to e-mail recipients of link shares. Off without it (and then e-mail recipients are refused).",
          properties: {
            host: { type: 'string', default: '0.0.0.0', description: 'Address of the download listener.' },
            port: { type: 'integer', minimum: 0, maximum: 65535, description: 'Port of the download listener (0: any free port).' },
            publicUrl: {
              type: 'string',
              pattern: '^https://[^/?#]+$',
              description:
                "https://host[:port] the e-mailed links point to (a name on the node's certificate); default: the federation publicUrl's host with this port.",
            },
            perMinute: { type: 'integer', minimum: 1, default: 60, description: 'Requests per client address and minute.' },
          },
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The JSON log (pino) on stdout.',
      properties: {
        level: {
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
          description: 'Least severe level logged; silent logs nothing.',
        },
      },
    },
    notifications: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Telling our users that a share arrived: e-mail over SMTP and a signed webhook, each off unless configured.',
      properties: {
        smtp: {
          type: 'object',
          additionalProperties: false,
          required: ['host', 'port', 'from'],
          dependentRequired: { user: ['password'], password: ['user'] },
          description: 'E-mail notifications through this SMTP server; off without it.',
          properties: {
            host: { type: 'string', minLength: 1, description: 'SMTP server host name or address.' },
            port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SMTP server port.' },
            secure: { type: 'boolean', default: false, description: 'TLS from the first byte (port 465); otherwise STARTTLS when the server offers it.' },
            requireTLS: { type: 'boolean', default: false, description: 'Send only after STARTTLS succeeded.' },
            user: { type: 'string', minLength: 1, description: 'SMTP AUTH user (with password).' },
            password: {
              oneOf: [{ type: 'string', minLength: 1 }, SECRET_REFERENCE_SCHEMA],
              description:
                'SMTP AUTH password: inline (only in a caseway.json readable by its owner only), or {"file": path} or {"env": NAME} (CW-LOC-013). Never logged.',
            },
            from: {
              type: 'string',
              pattern: '^(?:[^<>\\r\\n]*<[^\\s@<>,;"]+@[^\\s@<>,;"]+>|[^\\s@<>,;"]+@[^\\s@<>,;"]+)$',
              description: 'Sender: "Caseway <caseway@agency.example>" or a bare address.',
            },
          },
        },
        webhook: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'secret'],
          description: 'A signed webhook POSTed for each share received; off without it.',
          properties: {
            url: {
              type: 'string',
              pattern: '^(?:https://[^\\s/?#@\\\\]+|http://(?:127\\.0\\.0\\.1|localhost|\\[::1\\])(?::[0-9]{1,5})?)(?:[/?#]\\S*)?$',
              description: 'Where share.received events are POSTed: https, or http on loopback only; no user info.',
            },
            secret: {
              oneOf: [{ type: 'string', minLength: 32 }, SECRET_REFERENCE_SCHEMA],
              description:
                'HMAC-SHA256 key of the Caseway-Signature header (at least 32 characters): inline (only in a caseway.json readable by its owner only), or {"file": path} or {"env": NAME} (CW-LOC-013). Never logged.',
            },
          },
        },
        agencyAddress: {
          type: 'string',
          pattern: '^[^\\s@<>,;"]+@[^\\s@<>,;"]+$',
          description: 'E-mailed about a share to the entire agency when no user of ours has an address.',
        },
        allowedDomains: {
          type: 'array',
          default: [],
          maxItems: 1000,
          uniqueItems: true,
          items: { type: 'string', pattern: '^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$' },
          description:
            'Domains (exact, case-insensitive; no sub-domains) whose addresses a partner may name as e-mail recipients and we will mail. An address of one of our own users is always mailed; any other address a partner names is recorded on the notification, never mailed.',
        },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'How local API callers authenticate: cw_ tokens always; OIDC bearer JWTs when oidc is set.',
      properties: {
        tokens: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description:
            'Lifetime of cw_ bearer tokens (CW-LOC-010): every token expires; its creator may ask for less than the default, never more than the maximum.',
          properties: {
            defaultDays: { type: 'integer', minimum: 1, maximum: 3650, default: 90, description: 'Days a new token lives when its creator names no lifetime.' },
            maxDays: { type: 'integer', minimum: 1, maximum: 3650, default: 365, description: 'The longest lifetime a token may be given (days).' },
          },
        },
        oidc: {
          type: 'object',
          additionalProperties: false,
          required: ['issuer', 'audience', 'jwksUrl'],
          description: 'Accept bearer JWTs from this OpenID Connect identity provider as well as cw_ tokens; off without it.',
          properties: {
            issuer: { type: 'string', minLength: 1, description: 'Expected iss of the JWTs.' },
            audience: { type: 'string', minLength: 1, description: 'Expected aud of the JWTs.' },
            jwksUrl: {
              type: 'string',
              pattern: '^(https://|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])[:/])',
              description: 'JWKS of the identity provider (https, or http on loopback).',
            },
            userClaim: { type: 'string', minLength: 1, default: 'sub', description: 'Claim holding the local user id.' },
            groupsClaim: { type: 'string', minLength: 1, default: 'groups', description: 'Claim holding the group ids.' },
            adminGroups: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'Members of these groups get the admin role.' },
          },
        },
      },
    },
    replica: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "This process among the replicas of one organization's node that share its metadata store. A single node needs nothing here.",
      properties: {
        id: {
          type: 'string',
          pattern: '^[A-Za-z0-9._-]{1,64}$',
          description:
            "This replica's name, distinct per replica (default: the host name). It holds the jobs it runs under this name; restarted under the same name, it takes its interrupted jobs back at once.",
        },
        jobLeaseSeconds: {
          type: 'integer',
          minimum: 5,
          maximum: 3600,
          default: 30,
          description:
            'How long a replica holds a job without renewing its claim (it renews every third of it). The jobs of a replica that died go to the others after this long.',
        },
      },
    },
    conformance: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "Conformance testing of this node by a partner's harness (SPEC.md §21). Test deployments only.",
      properties: {
        control: {
          type: 'boolean',
          default: false,
          description:
            'Serve the conformance control endpoints (EP-6..EP-9) on the federation listener, so a harness acting as a partner can make this node ' +
            'share, add evidence, share onward and revoke. Test deployments only: never enable it on a node holding real cases.',
        },
      },
    },
  },
} as const

/** Where the evidence chunks are: the filesystem (the embedded default) or S3. */
export type MetadataConfig =
  | { readonly kind: 'sqlite'; readonly database: string }
  | {
      readonly kind: 'postgres'
      /** Holds the password: never logged (LOG_REDACT). */
      readonly url: string
      readonly poolSize: number
      readonly tls?: { readonly ca?: string; readonly rejectUnauthorized: boolean }
    }

export type BlobsConfig =
  | { readonly kind: 'fs'; readonly dir: string }
  | {
      readonly kind: 's3'
      readonly endpoint: string
      readonly bucket: string
      readonly region: string
      /** Never logged (LOG_REDACT). */
      readonly accessKey: string
      /** Never logged (LOG_REDACT). */
      readonly secretKey: string
      readonly prefix: string
      readonly pathStyle: boolean
    }

export interface NodeConfig {
  readonly org: string
  readonly name: string
  readonly federation: {
    readonly host: string
    readonly port: number
    readonly publicUrl: string
    readonly protocolVersions: readonly ('0.1' | '0.2')[]
    readonly chunkBatches: boolean
  }
  readonly local: { readonly host: string; readonly port: number; readonly allowedHosts: readonly string[] }
  /** The optional ops listener (/healthz, /readyz, /metrics only). */
  readonly ops?: { readonly host: string; readonly port: number }
  readonly pki: { readonly dir: string }
  /** `blobs` as written may be a directory: `parseConfig` makes it `{ kind: 'fs', dir }`. */
  readonly storage: {
    readonly database: string
    /** `parseConfig` fills it in: absent, it is SQLite at `database`. */
    readonly metadata: MetadataConfig
    readonly blobs: BlobsConfig
    readonly blobCollection: { readonly intervalMs: number; readonly graceMs: number }
  }
  readonly transfers: {
    readonly parallelChunks: number
    readonly chunkSize: 65536 | 131072 | 262144 | 524288 | 1048576 | 2097152 | 4194304 | 8388608 | 16777216
    readonly retryBaseMs: number
    readonly retryMaxMs: number
    readonly maxAttempts: number
    readonly shareDurationSeconds: number
  }
  readonly limits: {
    readonly manifestBytes: number
    readonly jsonBodyBytes: number
    readonly requestTimeoutMs: number
    readonly partners: { readonly itemsPerOffer: number; readonly pendingOffers: number; readonly bytesPerDay: number }
    readonly rateLimit: {
      readonly federationPerMinute: number
      readonly federationPerSecond: number
      readonly localPerMinute: number
      /** Failed local authentications per client address and minute (CW-LOC-012). */
      readonly failedAuthPerMinute: number
    }
  }
  readonly metrics: { readonly enabled: boolean }
  readonly sharing: { readonly revisionWindowMs: number }
  readonly links: {
    readonly maxDurationSeconds: number
    readonly downloadListener?: { readonly host: string; readonly port: number; readonly publicUrl?: string; readonly perMinute: number }
  }
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' }
  readonly notifications: {
    readonly smtp?: {
      readonly host: string
      readonly port: number
      readonly secure: boolean
      readonly requireTLS: boolean
      readonly user?: string
      /** Never logged (LOG_REDACT). */
      readonly password?: string
      readonly from: string
    }
    /** `secret` is never logged (LOG_REDACT). */
    readonly webhook?: { readonly url: string; readonly secret: string }
    readonly agencyAddress?: string
    /** Domains whose addresses partners may name as e-mail recipients and we mail (CW-NOT-006). */
    readonly allowedDomains: readonly string[]
  }
  readonly auth: {
    /** Token lifetimes in days (CW-LOC-010); defaultDays is capped by maxDays. */
    readonly tokens: { readonly defaultDays: number; readonly maxDays: number }
    readonly oidc?: {
      readonly issuer: string
      readonly audience: string
      readonly jwksUrl: string
      readonly userClaim: string
      readonly groupsClaim: string
      readonly adminGroups: readonly string[]
    }
  }
  /** SPEC.md §21: the conformance control endpoints, off unless enabled (test deployments only). */
  /** `id` absent: the host name (`build_context.ts`). */
  readonly replica: { readonly id?: string; readonly jobLeaseSeconds: number }
  readonly conformance: { readonly control: boolean }
  /** Absolute directory the relative paths above are resolved against (not in the file). */
  readonly dir: string
}
