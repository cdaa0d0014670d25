/**
 * The Federation API's paths and JSON answers (SPEC.md §16), shared by the listener that
 * sends them and the peer client that reads them. Signed objects travel as `application/jose`.
 *
 * @module
 */

export const JOSE_MEDIA_TYPE = 'application/jose'

/** EP-1..EP-4 (SPEC.md §16), relative to a partner's `endpoint`. */
export const PATHS = {
  offers: '/federation/v1/offers',
  chunk: (shareId: string, digest: string) => `/federation/v1/shares/${encodeURIComponent(shareId)}/chunks/${encodeURIComponent(digest)}`,
  receipts: '/federation/v1/receipts',
  healthz: '/federation/v1/healthz',
  revocations: '/federation/v1/revocations',
} as const

/** CW-FED-003: the answer to an accepted offer. */
export interface OfferAnswer {
  share: string
  revision: number
  status: 'receiving' | 'complete'
  /** Chunk digests of the revision the receiver does not hold yet, without duplicates. */
  needed: string[]
}

/** The answer to a recorded receipt (EP-3). */
export interface ReceiptAnswer {
  share: string
  revision: number
  status: 'delivered' | 'rejected'
}

/** The answer to a recorded revocation (EP-5, CW-REV-004). */
export interface RevocationAnswer {
  share: string
  status: 'revoked'
}

/** CW-FED-010. */
export interface HealthAnswer {
  status: 'ok'
  org: string
}

const digest = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const
const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' } as const

export const offerAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['share', 'revision', 'status', 'needed'],
  properties: {
    share: id,
    revision: { type: 'integer', minimum: 1 },
    status: { enum: ['receiving', 'complete'] },
    needed: { type: 'array', uniqueItems: true, items: digest },
  },
} as const

export const receiptAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['share', 'revision', 'status'],
  properties: {
    share: id,
    revision: { type: 'integer', minimum: 1 },
    status: { enum: ['delivered', 'rejected'] },
  },
} as const

export const revocationAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['share', 'status'],
  properties: { share: id, status: { const: 'revoked' } },
} as const

export const healthAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'org'],
  properties: { status: { const: 'ok' }, org: { type: 'string' } },
} as const

/** RFC 9457 problem document as Caseway sends it (SPEC.md §14, CW-ERR-001). */
export const problemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    at: { type: 'string' },
    instance: { type: 'string' },
  },
} as const
