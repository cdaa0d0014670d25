/**
 * The node's limits, declared once: request body sizes, signed-object sizes, path parameters,
 * header and handshake deadlines, and the sizes of a share request. The configuration schema
 * (`config/schema.ts`) takes the defaults and bounds of the configurable ones from here; the
 * listeners, the route schemas and the services that check the same values import them, so an
 * HTTP schema and the service behind it never disagree.
 *
 * Limits that mirror the manifest schema's case snapshot and evidence item stay beside the code
 * that keeps them (`CASE_FIELD_LIMITS` in `cases/cases.ts`, `EVIDENCE_LIMITS` in
 * `cases/evidence.ts`); the protocol library keeps its own (`DEFAULT_MAX_BYTES`,
 * `MIN_CHUNK_SIZE`, `MAX_CHUNK_SIZE`, …).
 *
 * @module
 */

const KiB = 1024
const MiB = 1024 * KiB

/** Defaults and bounds of `limits.*` in `caseway.json`. */
export const CONFIG_LIMITS = {
  /** JSON bodies on the local API (and the federation listener's default); larger is 413 CW_ERR_TOO_LARGE. */
  jsonBodyBytes: { minimum: 1 * KiB, default: 1 * MiB },
  /** An offered manifest (EP-1): SPEC.md CW-FMT-005 lets a receiver choose 32 to 64 MiB. */
  manifestBytes: { minimum: 32 * MiB, maximum: 64 * MiB, default: 32 * MiB },
  /** Idle connections, and a whole federation request. */
  requestTimeoutMs: { minimum: 1000, default: 60_000 },
} as const

/**
 * Defaults of `limits.partners.*` (SPEC.md CW-QUO-001..004): what one partner may make this node
 * hold. 0 = no limit. The defaults fit a large agency's busiest partner: a case as large as a
 * manifest may list (100,000 items: a homicide case of 40,000 photos must go in one share),
 * 100 transfers at once, 1 TiB of evidence a day.
 */
export const PARTNER_QUOTAS = {
  itemsPerOffer: { minimum: 0, default: 100_000 },
  pendingOffers: { minimum: 0, default: 100 },
  bytesPerDay: { minimum: 0, default: 1024 * 1024 * MiB },
} as const

/** Manifests larger than this are verified on a worker thread, so the event loop keeps serving (CW-QUO-005). */
export const OFF_LOOP_VERIFY_BYTES = 1 * MiB

/** Largest receipt (EP-3) or revocation (EP-5) accepted (CW-FMT-005: at least 1 MiB for objects other than manifests). */
export const SIGNED_OBJECT_MAX_BYTES = 1 * MiB

/** Largest JSON body of a conformance control request, EP-6..EP-9 (SPEC.md §21, CW-CTL-001). */
export const CONTROL_BODY_MAX_BYTES = 64 * KiB

/** Evidence uploads stream to the blob store chunk by chunk: no body limit but the disk. */
export const UPLOAD_BODY_LIMIT = Number.MAX_SAFE_INTEGER

/**
 * Most items in one batch upload (CW-LOC-056): each item's metadata is held until the batch
 * commits, so a batch's memory is bounded by this times {@link UPLOAD_METADATA_MAX_BYTES}.
 */
export const UPLOAD_BATCH_MAX_ITEMS = 1000

/** Longest metadata part of a batch upload: a name of 255 characters and the rest fit many times over. */
export const UPLOAD_METADATA_MAX_BYTES = 4 * KiB

/** Longest id a request names (case, folder, evidence, share, policy); path parameters may be longer only up to {@link MAX_PARAM_LENGTH}. */
export const MAX_ID_LENGTH = 128

/** Longest path parameter either listener routes; longer is a 400 problem, refused by the router. */
export const MAX_PARAM_LENGTH = 256

/** A TLS handshake slower than this is dropped (CW-FED-011). */
export const HANDSHAKE_TIMEOUT_MS = 10_000

/** Request headers slower than this (or `limits.requestTimeoutMs`, if shorter) are dropped: a slowloris client, on both listeners. */
export const HEADERS_TIMEOUT_MS = 10_000

/** How often Node checks the header and request deadlines (its default, 30 s, lets a slow client linger). */
export const DEADLINE_CHECK_MS = 1000

/** A share request (a share, an onward share, a new revision): the limits of the manifest schema's share block. */
export const SHARE_LIMITS = {
  maxMessageLength: 4000,
  maxRecipients: 1000,
  maxRecipientIdLength: 320,
  /** Evidence items a share names. */
  maxEvidenceIds: 100_000,
  /** Folders a folder share names. */
  maxFolderIds: 10_000,
} as const

/** Members of a case team (users and groups). */
export const MAX_TEAM_MEMBERS = 1000

/** Users in one group. */
export const MAX_GROUP_MEMBERS = 10_000

/** A revocation's reason, told to the partner. */
export const MAX_REASON_LENGTH = 4000
