/**
 * JSON Schemas of the local API: the shared ones (added with `addSchema`, referenced as
 * `{ $ref: 'Name#' }`, emitted as OpenAPI components) and helpers for route schemas. The
 * sharing policy schema is the protocol's own (`protocol/schemas/policy.schema.json`) with its
 * common definitions inlined, so the API and the wire never disagree.
 *
 * @module
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyTypeProvider, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { FromSchema, JSONSchema } from 'json-schema-to-ts'
import { PROBLEMS } from '#protocol'
import commonSchema from '../../../protocol/schemas/common.schema.json' with { type: 'json' }
import policySchema from '../../../protocol/schemas/policy.schema.json' with { type: 'json' }
import { CASE_FIELD_LIMITS, MAX_FOLDER_NAME_LENGTH } from '../cases/cases.ts'
import { EVIDENCE_LIMITS } from '../cases/evidence.ts'
import { MAX_ID_LENGTH, SHARE_LIMITS } from '../limits.ts'

type Schema = Record<string, unknown>

const COMMON_REF = 'urn:caseway:schema:common#/$defs/'
const commonDefs = commonSchema.$defs as Record<string, Schema>

/** A protocol schema with `urn:caseway:schema:common` references replaced by their definitions. */
function inlineCommon(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(inlineCommon)
  if (typeof schema !== 'object' || schema === null) return schema
  const ref = (schema as Schema)['$ref']
  if (typeof ref === 'string' && ref.startsWith(COMMON_REF)) {
    const definition = commonDefs[ref.slice(COMMON_REF.length)]
    if (definition === undefined) throw new Error(`unknown common definition ${ref}`)
    return inlineCommon(definition)
  }
  const copy: Schema = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || key === '$id') continue
    copy[key] = inlineCommon(value)
  }
  return copy
}

const policy = inlineCommon(policySchema) as Schema
const id = { type: 'string', pattern: commonDefs['Id']!['pattern'] as string, description: 'An identifier.' } as const
const orgId = { type: 'string', pattern: commonDefs['OrgId']!['pattern'] as string, description: 'An organization id.' } as const
const digest = { type: 'string', pattern: commonDefs['Digest']!['pattern'] as string } as const
const seconds = { type: 'integer', description: 'Unix time, seconds.' } as const
const fieldValue = {
  anyOf: [
    { type: 'string', maxLength: CASE_FIELD_LIMITS.maxTextLength },
    { type: 'array', maxItems: CASE_FIELD_LIMITS.maxListItems, items: { type: 'string', maxLength: CASE_FIELD_LIMITS.maxListItemLength } },
  ],
} as const
/** Users and groups the receiving side added as recipients of an external case (CW-LOC-025). */
export const ADDED_RECIPIENTS = {
  type: 'array',
  description: 'Users and groups of this organization that a recipient or administrator added (CW-LOC-025), oldest first; the sender named the others.',
  items: {
    type: 'object',
    required: ['kind', 'id', 'addedBy', 'addedAt'],
    properties: { kind: { enum: ['user', 'group'] }, id: { type: 'string' }, addedBy: { type: 'string' }, addedAt: seconds },
  },
} as const
const caseFields = {
  type: 'object',
  description: 'Case fields (caseNumber, title, description, tags, …): text or lists of short strings.',
  maxProperties: CASE_FIELD_LIMITS.maxFields,
  propertyNames: { pattern: CASE_FIELD_LIMITS.namePattern.source },
  additionalProperties: fieldValue,
} as const
const permissions = (policy['properties'] as Schema)['permissions'] as Schema

/** A recipient at the partner organization, as a share names it. */
const RECIPIENT = {
  $id: 'Recipient',
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'id'],
  properties: {
    kind: { enum: ['user', 'group', 'email', 'badge', 'agency'] },
    id: { type: 'string', minLength: 1, maxLength: SHARE_LIMITS.maxRecipientIdLength },
  },
} as const

/** Schemas every route can reference by `$id`. */
export const SHARED_SCHEMAS: readonly Schema[] = [
  {
    $id: 'Problem',
    description: 'An RFC 9457 problem document (media type application/problem+json).',
    type: 'object',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string', description: 'urn:caseway:problem:<code>' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string', enum: Object.keys(PROBLEMS) },
      at: { type: 'string', description: 'JSON pointer (or header name) of the fault.' },
      instance: { type: 'string' },
    },
  },
  { ...policy, $id: 'SharingPolicy' },
  {
    ...policy,
    $id: 'SharingPolicyInput',
    title: 'SharingPolicyInput',
    description: 'A sharing policy to store: "id" is assigned when absent, "version" by the node.',
    required: (policy['required'] as string[]).filter((name) => name !== 'id' && name !== 'version'),
  },
  {
    $id: 'PolicyRecord',
    type: 'object',
    required: ['id', 'version', 'createdAt', 'policy'],
    properties: { id, version: { type: 'integer' }, createdAt: seconds, policy: { $ref: 'SharingPolicy#' } },
  },
  {
    $id: 'Partner',
    type: 'object',
    required: ['org', 'name', 'endpoint', 'caFingerprint', 'enabled', 'policyId', 'policyVersion', 'addedAt', 'trustOnly'],
    properties: {
      org: orgId,
      name: { type: 'string' },
      endpoint: { type: 'string' },
      caFingerprint: digest,
      enabled: { type: 'boolean' },
      policyId: { type: ['string', 'null'], description: 'Policy of new shares with this partner; null = none assigned.' },
      policyVersion: { type: ['integer', 'null'] },
      addedAt: seconds,
      trustOnly: { type: 'boolean', description: 'A trust anchor for signed objects only (CW-PROV-008): never trusted for TLS, never shared with.' },
      lastContactAt: {
        type: ['integer', 'null'],
        description:
          'In the partner list: the last successful exchange with the partner in either direction (Unix seconds, to the minute; kept across restarts); null before the first.',
      },
    },
  },
  {
    $id: 'CreatedToken',
    type: 'object',
    required: ['id', 'userId', 'role', 'name', 'createdAt', 'expiresAt', 'token'],
    properties: {
      id: { type: 'string' },
      userId: { type: 'string' },
      role: { enum: ['admin', 'member'] },
      name: { type: 'string' },
      createdAt: seconds,
      expiresAt: { ...seconds, description: 'From then on the token is refused.' },
      token: { type: 'string', description: 'The bearer secret, shown this once.' },
    },
  },
  {
    $id: 'TokenInfo',
    type: 'object',
    required: ['id', 'userId', 'role', 'name', 'createdAt', 'expiresAt', 'lastUsedAt', 'revokedAt', 'status'],
    properties: {
      id: { type: 'string' },
      userId: { type: 'string' },
      role: { enum: ['admin', 'member'] },
      name: { type: 'string' },
      createdAt: seconds,
      expiresAt: seconds,
      lastUsedAt: { type: ['integer', 'null'], description: 'Last successful use (Unix seconds, to the minute); null before the first.' },
      revokedAt: { type: ['integer', 'null'] },
      status: { enum: ['active', 'expired', 'revoked'] },
    },
  },
  {
    $id: 'Case',
    type: 'object',
    required: ['id', 'fields', 'createdAt', 'updatedAt', 'importedFrom'],
    properties: { id, fields: caseFields, createdAt: seconds, updatedAt: seconds, importedFrom: { type: ['string', 'null'] } },
  },
  {
    $id: 'Folder',
    type: 'object',
    required: ['id', 'caseId', 'parentId', 'name'],
    properties: { id, caseId: id, parentId: { type: ['string', 'null'] }, name: { type: 'string' } },
  },
  {
    $id: 'CaseDetail',
    type: 'object',
    required: ['id', 'fields', 'createdAt', 'updatedAt', 'importedFrom', 'folders'],
    properties: {
      id,
      fields: caseFields,
      createdAt: seconds,
      updatedAt: seconds,
      importedFrom: { type: ['string', 'null'] },
      folders: { type: 'array', items: { $ref: 'Folder#' } },
    },
  },
  {
    $id: 'Evidence',
    type: 'object',
    required: ['id', 'caseId', 'folderId', 'name', 'category', 'mediaType', 'size', 'digest', 'chunkSize', 'doNotDisclose', 'attachmentOf', 'createdAt'],
    properties: {
      id,
      caseId: id,
      folderId: { type: ['string', 'null'] },
      name: { type: 'string' },
      category: { type: 'string' },
      mediaType: { type: 'string' },
      size: { type: 'integer' },
      digest: { ...digest, description: 'SHA-256 of the whole file.' },
      chunkSize: { type: 'integer' },
      doNotDisclose: { type: 'boolean', description: 'Never shared with any partner.' },
      attachmentOf: { type: ['string', 'null'], description: 'The item this one is an attachment (transcript, note) of.' },
      createdAt: seconds,
    },
  },
  RECIPIENT,
  {
    $id: 'Share',
    type: 'object',
    required: [
      'id',
      'caseId',
      'partnerOrg',
      'scope',
      'folderIds',
      'evidenceIds',
      'message',
      'recipients',
      'policy',
      'status',
      'statusCode',
      'statusDetail',
      'nextAttemptAt',
      'progress',
      'heldBack',
      'revision',
      'createdBy',
      'createdAt',
      'updatedAt',
      'expiresAt',
    ],
    properties: {
      id,
      caseId: id,
      partnerOrg: orgId,
      scope: { enum: ['case', 'folders', 'evidence'] },
      folderIds: { type: 'array', items: { type: 'string' } },
      evidenceIds: { type: 'array', items: { type: 'string' } },
      message: { type: ['string', 'null'] },
      recipients: { type: 'array', items: { $ref: 'Recipient#' } },
      policy: { $ref: 'SharingPolicy#', description: 'The policy version the share was made under; it never changes (CW-POL-007).' },
      status: {
        enum: ['processing', 'retrying', 'delivered', 'rejected', 'failed', 'revoked', 'expired'],
        description:
          'processing: being offered or fetched; retrying: the last attempt failed (statusCode, statusDetail) and the node tries again at ' +
          'nextAttemptAt; failed: the node stopped trying (a new revision tries again); delivered: the partner sent its receipt; ' +
          'rejected: the partner refused it (statusCode says why); revoked; expired (CW-LOC-030).',
      },
      statusCode: { type: ['string', 'null'], description: 'Problem code of a rejection or of the last failed attempt.' },
      statusDetail: { type: ['string', 'null'] },
      nextAttemptAt: { type: ['integer', 'null'], description: 'While retrying: when the next attempt is due (Unix seconds). Null otherwise.' },
      progress: {
        type: 'object',
        description:
          'The current revision on its way (CW-LOC-031): offering until the partner answers, transferring while it fetches the chunks it ' +
          'asked for (chunksTotal, bytesTotal), awaiting-receipt once it has them all, done when its receipt came.',
        required: ['phase', 'chunksDone', 'chunksTotal', 'bytesDone', 'bytesTotal'],
        properties: {
          phase: { enum: ['offering', 'transferring', 'awaiting-receipt', 'done'] },
          chunksDone: { type: 'integer' },
          chunksTotal: { type: 'integer' },
          bytesDone: { type: 'integer' },
          bytesTotal: { type: 'integer' },
        },
      },
      heldBack: {
        type: 'array',
        description: 'Items the case or folders cover that the policy left out of the current revision, and why (CW-LOC-031).',
        items: {
          type: 'object',
          required: ['evidenceId', 'name', 'reason'],
          properties: {
            evidenceId: { type: 'string' },
            name: { type: 'string' },
            reason: { enum: ['do-not-disclose', 'category-excluded', 'attachments-excluded', 'parent-not-shared'] },
          },
        },
      },
      revision: { type: 'integer' },
      createdBy: { type: 'string' },
      createdAt: seconds,
      updatedAt: seconds,
      expiresAt: seconds,
    },
  },
  {
    $id: 'ExternalCaseSummary',
    type: 'object',
    required: [
      'id',
      'sender',
      'shareId',
      'revision',
      'status',
      'statusDetail',
      'nextAttemptAt',
      'progress',
      'receivedAt',
      'completedAt',
      'expiresAt',
      'recipients',
      'policy',
      'access',
    ],
    properties: externalSummaryProperties(),
  },
  {
    $id: 'ExternalCase',
    type: 'object',
    description: 'For an administrator who is not a recipient (access "administration"), case, evidence and message are left out.',
    required: [
      'id',
      'sender',
      'shareId',
      'revision',
      'status',
      'statusDetail',
      'nextAttemptAt',
      'progress',
      'receivedAt',
      'completedAt',
      'expiresAt',
      'recipients',
      'scope',
      'live',
      'policy',
      'access',
      'notifications',
      'addedRecipients',
    ],
    properties: {
      ...externalSummaryProperties(),
      addedRecipients: ADDED_RECIPIENTS,
      case: {
        type: 'object',
        required: ['id', 'fields', 'folders'],
        properties: {
          id: { type: 'string' },
          fields: caseFields,
          folders: {
            type: 'array',
            items: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' }, parent: { type: 'string' } } },
          },
        },
      },
      evidence: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'name', 'folder', 'category', 'mediaType', 'size', 'digest', 'attachmentOf'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            folder: { type: ['string', 'null'] },
            category: { type: 'string' },
            mediaType: { type: 'string' },
            size: { type: 'integer' },
            digest,
            attachmentOf: { type: ['string', 'null'] },
          },
        },
      },
      message: { type: ['string', 'null'] },
      scope: { enum: ['case', 'folders', 'evidence'] },
      live: { type: 'boolean' },
      notifications: {
        type: 'array',
        description: 'Delivery state of the notifications (e-mail, webhook) of each revision received, by revision then channel.',
        items: {
          type: 'object',
          required: ['revision', 'channel', 'status', 'attempts', 'lastError', 'updatedAt'],
          properties: {
            revision: { type: 'integer' },
            channel: { enum: ['email', 'webhook'] },
            status: {
              enum: ['pending', 'sent', 'failed', 'dead'],
              description: 'failed: the last attempt failed and it is retrying; dead: retries exhausted.',
            },
            attempts: { type: 'integer' },
            lastError: { type: ['string', 'null'], description: 'Why the last attempt failed (e.g. "webhook answered HTTP 500").' },
            updatedAt: seconds,
          },
        },
      },
      provenance: {
        type: 'array',
        description: 'Recipients only: the provenance chain, originator first (CW-PROV-001, CW-PROV-007).',
        items: { $ref: 'ProvenanceHop#' },
      },
    },
  },
  {
    $id: 'ProvenanceHop',
    type: 'object',
    description: 'One grant of a provenance chain: who shared with whom, when, until when, under which policy. The last hop’s policy is the effective one.',
    required: ['depth', 'from', 'to', 'issuedAt', 'expiresAt', 'policy'],
    properties: {
      depth: { type: 'integer', minimum: 0, description: "0 for the originator's grant." },
      from: provenanceOrg('The granting organization (at depth 0, the originator).'),
      to: provenanceOrg('The organization granted to.'),
      issuedAt: seconds,
      expiresAt: seconds,
      policy: {
        type: 'object',
        description: 'The policy of this hop.',
        required: ['id', 'version', 'name', 'permissions'],
        properties: { id: { type: 'string' }, version: { type: 'integer' }, name: { type: 'string' }, permissions },
      },
    },
  },
  {
    $id: 'LinkShare',
    type: 'object',
    description: 'A case package shared with a link (SPEC.md §22, CW-LOC-032…CW-LOC-035).',
    required: [
      'id',
      'caseId',
      'createdBy',
      'recipient',
      'scope',
      'folderIds',
      'evidenceIds',
      'format',
      'retainFolderStructure',
      'attachments',
      'message',
      'status',
      'failure',
      'createdAt',
      'expiresAt',
      'revokedAt',
      'revokedBy',
      'package',
    ],
    properties: {
      id: { type: 'string' },
      caseId: { type: 'string' },
      createdBy: { type: 'string' },
      recipient: {
        type: 'object',
        required: ['kind', 'value'],
        properties: { kind: { enum: ['email', 'local-user', 'local-group', 'partner-user', 'partner-group'] }, value: { type: 'string' } },
      },
      scope: { enum: ['case', 'folders', 'evidence'] },
      folderIds: { type: 'array', items: { type: 'string' } },
      evidenceIds: { type: 'array', items: { type: 'string' } },
      format: { enum: ['zip', 'tar', 'iso'] },
      retainFolderStructure: { type: 'boolean' },
      attachments: {
        type: 'object',
        required: ['auditTrail', 'tableOfContents', 'transcripts'],
        properties: { auditTrail: { type: 'boolean' }, tableOfContents: { type: 'boolean' }, transcripts: { type: 'boolean' } },
      },
      message: { type: ['string', 'null'] },
      status: {
        enum: ['processing', 'ready', 'failed', 'revoked', 'expired'],
        description: 'processing until the package is built; then ready, or failed (failure says why); revoked; expired once expiresAt passed.',
      },
      failure: { type: ['string', 'null'] },
      createdAt: seconds,
      expiresAt: seconds,
      revokedAt: { type: ['integer', 'null'] },
      revokedBy: { type: ['string', 'null'] },
      package: {
        type: ['object', 'null'],
        description: 'Once ready: the package as it downloads (GET /api/v1/link-shares/{id}/package).',
        required: ['fileName', 'size', 'digest', 'items', 'createdAt'],
        properties: {
          fileName: { type: 'string' },
          size: { type: 'integer', description: 'Bytes of the archive.' },
          digest: { type: 'string', description: "SHA-256 of the signed package manifest: the download's ETag." },
          items: { type: 'integer', description: 'Evidence items in the package.' },
          createdAt: seconds,
        },
      },
    },
  },
  {
    $id: 'FailingJob',
    type: 'object',
    description: 'A job whose last attempt failed (operations/failing_jobs.ts).',
    required: ['id', 'kind', 'status', 'subject', 'attempts', 'lastError', 'nextAttemptAt', 'createdAt', 'updatedAt'],
    properties: {
      id: { type: 'string' },
      kind: {
        type: 'string',
        description:
          'offer (send a revision to the partner), fetch (pull its chunks), receipt (send the receipt), revoke (send a revocation), ' +
          'notify-email, notify-webhook (tell our users a share arrived).',
      },
      status: {
        enum: ['retrying', 'dead'],
        description: 'retrying: the node tries again at nextAttemptAt; dead: it stopped trying (out of attempts, or a failure retrying cannot mend).',
      },
      subject: {
        type: ['object', 'null'],
        description:
          'What the job works on: a share (GET /api/v1/shares/{id}) or an external case (GET /api/v1/external-cases/{id}); null for an unknown kind.',
        required: ['type', 'id', 'partner'],
        properties: {
          type: { enum: ['share', 'external-case'] },
          id: { type: 'string' },
          partner: { type: ['string', 'null'], description: "The partner organization: the share's recipient, the external case's sender." },
        },
      },
      attempts: { type: 'integer', description: 'Attempts made so far (transfers.maxAttempts at most).' },
      lastError: { type: ['string', 'null'], description: 'What the last attempt failed with.' },
      nextAttemptAt: { type: ['integer', 'null'], description: 'While retrying: when the next attempt is due (Unix seconds). Null once dead.' },
      createdAt: seconds,
      updatedAt: seconds,
    },
  },
]

function provenanceOrg(description: string): Schema {
  return {
    type: 'object',
    description,
    required: ['org', 'name'],
    properties: { org: orgId, name: { type: ['string', 'null'], description: 'Its name when known (a pinned partner or this organization).' } },
  }
}

function externalSummaryProperties(): Schema {
  return {
    id,
    sender: {
      type: 'object',
      description: 'The sharing organization.',
      required: ['org', 'name'],
      properties: { org: orgId, name: { type: 'string' } },
    },
    sharedBy: {
      type: 'object',
      description:
        "The person at the sender who shared, as a 0.2 manifest names them (CW-MAN-005); absent for a 0.1 manifest. The id means something only to the sender's node.",
      required: ['id', 'name'],
      properties: { id: { type: 'string' }, name: { type: 'string' } },
    },
    protocolVersion: { type: 'string', description: 'The cwv of the manifest shown (SPEC.md §15).' },
    shareId: { type: 'string', description: "The sender's share id." },
    revision: { type: 'integer' },
    status: {
      enum: ['receiving', 'retrying', 'failed', 'complete', 'rejected', 'revoked', 'expired'],
      description:
        'receiving: its chunks are being fetched and checked; retrying: the last fetch failed (statusDetail) and the node tries again at ' +
        'nextAttemptAt; failed: the node stopped fetching; complete: received and verified; rejected; revoked; expired (CW-LOC-030).',
    },
    statusDetail: { type: ['string', 'null'], description: 'Why it was rejected, or the last error while retrying or failed.' },
    nextAttemptAt: { type: ['integer', 'null'], description: 'While retrying: when the next attempt is due (Unix seconds). Null otherwise.' },
    progress: {
      type: 'object',
      description:
        'The revision being received (CW-LOC-031): its chunks and bytes stored out of all it lists; transferring, then verifying, ' +
        'then done once complete.',
      required: ['phase', 'chunksDone', 'chunksTotal', 'bytesDone', 'bytesTotal'],
      properties: {
        phase: { enum: ['transferring', 'verifying', 'done'] },
        chunksDone: { type: 'integer' },
        chunksTotal: { type: 'integer' },
        bytesDone: { type: 'integer' },
        bytesTotal: { type: 'integer' },
      },
    },
    receivedAt: seconds,
    completedAt: { type: ['integer', 'null'] },
    expiresAt: seconds,
    recipients: { type: 'array', description: 'Who the sender named (CW-LOC-001).', items: { $ref: 'Recipient#' } },
    policy: {
      type: 'object',
      description: "The sender's effective policy: what our users may do with this case.",
      required: ['id', 'version', 'name', 'permissions', 'maxDurationSeconds'],
      properties: { id: { type: 'string' }, version: { type: 'integer' }, name: { type: 'string' }, permissions, maxDurationSeconds: { type: 'integer' } },
    },
    access: {
      enum: ['recipient', 'administration'],
      description: 'recipient: the caller sees the content; administration: an administrator sees the metadata only.',
    },
  }
}

/** The `$id`s of {@link SHARED_SCHEMAS}, which {@link ref} accepts. */
export const SHARED_SCHEMA_NAMES = [
  'Problem',
  'SharingPolicy',
  'SharingPolicyInput',
  'PolicyRecord',
  'Partner',
  'CreatedToken',
  'TokenInfo',
  'Case',
  'Folder',
  'CaseDetail',
  'Evidence',
  'Recipient',
  'Share',
  'ExternalCaseSummary',
  'ExternalCase',
  'ProvenanceHop',
  'LinkShare',
  'FailingJob',
] as const
export type SharedSchemaName = (typeof SHARED_SCHEMA_NAMES)[number]

/** Reference to a shared schema (its type is the literal `{ $ref: 'Name#' }`, so the type provider resolves it). */
export function ref<const N extends SharedSchemaName>(name: N): { readonly $ref: `${N}#` }
export function ref<const N extends SharedSchemaName>(name: N, description: string): { readonly $ref: `${N}#`; readonly description: string }
export function ref(name: SharedSchemaName, description?: string): Schema {
  return description === undefined ? { $ref: `${name}#` } : { $ref: `${name}#`, description }
}

/** A shared schema the type provider does not look into: what it references is `unknown` to TypeScript. */
type Opaque<N extends SharedSchemaName> = { readonly $id: N }

/**
 * The shared schemas as the type provider sees them. `Recipient` is declared here `as const`,
 * so bodies naming recipients are typed by it. The others are built from the protocol's JSON
 * files or by functions, which TypeScript does not see as literals: a reference to one is
 * `unknown` (validated at run time all the same), never a type written again beside the schema.
 */
type SharedSchemaTypes = [
  typeof RECIPIENT,
  Opaque<'Problem'>,
  Opaque<'SharingPolicy'>,
  Opaque<'SharingPolicyInput'>,
  Opaque<'PolicyRecord'>,
  Opaque<'Partner'>,
  Opaque<'CreatedToken'>,
  Opaque<'TokenInfo'>,
  Opaque<'Case'>,
  Opaque<'Folder'>,
  Opaque<'CaseDetail'>,
  Opaque<'Evidence'>,
  Opaque<'Share'>,
  Opaque<'ExternalCaseSummary'>,
  Opaque<'ExternalCase'>,
  Opaque<'ProvenanceHop'>,
  Opaque<'LinkShare'>,
  Opaque<'FailingJob'>,
]

/**
 * The local API's type provider: a route's `request.body`, `request.params` and
 * `request.query` are typed from its `as const` JSON Schemas by json-schema-to-ts, so the
 * types cannot drift from what is validated. It is `@fastify/type-provider-json-schema-to-ts`
 * without the reply side: that one also types replies from the response schemas, where an
 * object without `additionalProperties: false` gets an index signature that the store's record
 * interfaces do not have. Replies stay checked where they always were, by the serializer
 * (fast-json-stringify) at run time, and by the OpenAPI tests.
 */
export interface LocalTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema'], { references: SharedSchemaTypes }> : unknown
}

/** A fastify instance of the local API with its type provider: what every route module registers on. */
export type LocalApi = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, LocalTypeProvider>

const PROBLEM_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Request invalid (CW_ERR_BAD_REQUEST names the field in "at")',
  401: 'Missing or invalid bearer token',
  403: 'Role or sharing policy does not allow the operation',
  404: 'No such resource',
  409: 'Conflicts with the current state',
  410: 'Share revoked or expired',
  413: 'Too large',
  415: 'Unsupported media type',
  422: 'Partner bundle or fingerprint refused',
  429: 'Too many requests (Retry-After gives the seconds to wait)',
  500: 'Internal error',
}

/** Problem responses for `statuses` (401 and 500 always), all sharing the Problem schema. */
export function problems(...statuses: number[]): Record<number, Schema> {
  const responses: Record<number, Schema> = {}
  for (const status of new Set([...statuses, 401, 500])) {
    responses[status] = {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
      content: { 'application/problem+json': { schema: ref('Problem') } },
    }
  }
  return responses
}

/** A raw byte body or response (not validated: it is a stream). */
export const BINARY = { type: 'string', format: 'binary' } as const

export const paramsSchemas = {
  id: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } } },
  org: { type: 'object', additionalProperties: false, required: ['org'], properties: { org: orgId } },
} as const

export const inputSchemas = {
  caseFields,
  caseFieldChanges: {
    ...caseFields,
    description: 'Fields to set; a field given as null is removed.',
    additionalProperties: { anyOf: [...fieldValue.anyOf, { type: 'null' }] },
  },
  folderName: { type: 'string', minLength: 1, maxLength: MAX_FOLDER_NAME_LENGTH },
  evidenceName: { type: 'string', minLength: 1, maxLength: EVIDENCE_LIMITS.maxNameLength },
  category: { type: 'string', pattern: EVIDENCE_LIMITS.categoryPattern.source },
  mediaType: { type: 'string', maxLength: EVIDENCE_LIMITS.maxMediaTypeLength, pattern: EVIDENCE_LIMITS.mediaTypePattern.source },
  id,
  orgId,
} as const
