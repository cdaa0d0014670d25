/**
 * A small typed client of a node's local API (`/api/v1`, see `local/routes/`), over `fetch`.
 * Used by `caseway demo` and by the integration tests that drive real node processes; it
 * speaks only HTTP, so it works against any running node.
 *
 * A refusal (a non-2xx answer) throws a {@link LocalApiError} carrying the problem document's
 * `code`, `status` and `detail` (RFC 9457, SPEC.md CW-ERR-001). A `429 CW_ERR_RATE_LIMITED`
 * (the node's per-token limit, `limits.rateLimit.localPerMinute`) is a refusal too, unless the
 * client is told to wait it out (`rateLimitRetries`), as long as its `Retry-After` says.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Problem, Recipient, SharingPolicy } from '#protocol'

/** A sharing policy to store: the node assigns `version` (and `id` when absent). */
export type PolicyInput = Omit<SharingPolicy, 'id' | 'version'> & { id?: string }

export interface PolicyRecord {
  id: string
  version: number
  createdAt: number
  policy: SharingPolicy
}

export interface Partner {
  org: string
  name: string
  endpoint: string
  caFingerprint: string
  enabled: boolean
  policyId: string | null
  policyVersion: number | null
  addedAt: number
  /** A trust anchor for signed objects only (CW-PROV-008): never trusted for TLS, never shared with. */
  trustOnly: boolean
  /** In the partner list: the last successful exchange (Unix seconds, to the minute; kept across restarts); null before the first. */
  lastContactAt?: number | null
}

export type CaseFields = Record<string, string | string[]>

export interface Case {
  id: string
  fields: CaseFields
  createdAt: number
  updatedAt: number
  importedFrom: string | null
}

export interface Folder {
  id: string
  caseId: string
  parentId: string | null
  name: string
}

export interface Evidence {
  id: string
  caseId: string
  folderId: string | null
  name: string
  category: string
  mediaType: string
  size: number
  digest: string
  chunkSize: number
  doNotDisclose: boolean
  attachmentOf: string | null
  createdAt: number
}

/** What a blob collection found and freed (`POST /blobs/gc`). */
export interface BlobCollection {
  dryRun: boolean
  examined: number
  referenced: number
  young: number
  freed: number
  bytesFreed: number
}

export interface EvidenceUpload {
  name: string
  category: string
  mediaType?: string
  folderId?: string
  doNotDisclose?: boolean
  attachmentOf?: string
}

/**
 * processing: being offered or fetched; retrying: the last attempt failed and another is due at
 * `nextAttemptAt`; failed: the node stopped trying; delivered: the partner's receipt came.
 */
export type ShareStatus = 'processing' | 'retrying' | 'delivered' | 'rejected' | 'failed' | 'revoked' | 'expired'

/** Chunks and bytes of a revision moved so far (SPEC.md CW-LOC-031). */
export interface TransferProgress<Phase extends string> {
  phase: Phase
  chunksDone: number
  chunksTotal: number
  bytesDone: number
  bytesTotal: number
}

/** An item the sending policy left out of a share's current revision, and why. */
export interface HeldBackItem {
  evidenceId: string
  name: string
  reason: 'do-not-disclose' | 'category-excluded' | 'attachments-excluded' | 'parent-not-shared'
}

export interface ShareInput {
  caseId: string
  partnerOrg: string
  scope: 'case' | 'folders' | 'evidence'
  folderIds?: string[]
  evidenceIds?: string[]
  message?: string
  recipients?: Recipient[]
  /** Share lifetime in seconds; the node's configured duration and the policy still bound it. */
  expiresInSeconds?: number
}

export interface Share {
  id: string
  caseId: string
  partnerOrg: string
  scope: 'case' | 'folders' | 'evidence'
  folderIds: string[]
  evidenceIds: string[]
  message: string | null
  recipients: Recipient[]
  policy: SharingPolicy
  status: ShareStatus
  statusCode: string | null
  statusDetail: string | null
  /** While retrying: when the next attempt is due (Unix seconds). */
  nextAttemptAt: number | null
  progress: TransferProgress<'offering' | 'transferring' | 'awaiting-receipt' | 'done'>
  heldBack: HeldBackItem[]
  revision: number
  createdBy: string
  createdAt: number
  updatedAt: number
  expiresAt: number
}

export interface User {
  id: string
  name: string
  email: string | null
  badge: string | null
  role: 'admin' | 'member'
  kind: 'user' | 'service'
  disabled: boolean
  createdAt: number
  updatedAt: number
}

export interface Group {
  id: string
  name: string
  createdAt: number
  members: string[]
}

export type ExternalStatus = 'receiving' | 'retrying' | 'failed' | 'complete' | 'rejected' | 'revoked' | 'expired'

export interface ExternalCaseSummary {
  id: string
  sender: { org: string; name: string }
  /** The person at the sender who shared (0.2 manifests, CW-MAN-005). */
  sharedBy?: { id: string; name: string }
  /** The manifest's protocol version. */
  protocolVersion: string
  shareId: string
  revision: number
  status: ExternalStatus
  /** Why it was rejected, or the last error while retrying or failed. */
  statusDetail: string | null
  /** While retrying: when the next attempt is due (Unix seconds). */
  nextAttemptAt: number | null
  progress: TransferProgress<'transferring' | 'verifying' | 'done'>
  receivedAt: number
  completedAt: number | null
  expiresAt: number
  /** `administration`: an administrator who is not a recipient sees the metadata only (CW-LOC-001). */
  access: 'recipient' | 'administration'
}

export interface ExternalEvidence {
  id: string
  name: string
  folder: string | null
  category: string
  mediaType: string
  size: number
  digest: string
  attachmentOf: string | null
}

export interface ExternalCase extends ExternalCaseSummary {
  case: { id: string; fields: CaseFields; folders: Array<{ id: string; name: string; parent?: string }> }
  evidence: ExternalEvidence[]
  message: string | null
  recipients: Recipient[]
  scope: 'case' | 'folders' | 'evidence'
  live: boolean
  policy: { id: string; version: number; name: string; permissions: SharingPolicy['permissions']; maxDurationSeconds: number }
  /** Users and groups our side added as recipients (CW-LOC-025), oldest first. */
  addedRecipients: AddedRecipient[]
}

/** A recipient the receiving side added (CW-LOC-025). */
export interface AddedRecipient {
  kind: 'user' | 'group'
  id: string
  addedBy: string
  addedAt: number
}

/** What adding recipients did: whom this call added, and every recipient added so far. */
export interface AddedRecipients {
  inboundId: string
  added: Array<{ kind: 'user' | 'group'; id: string }>
  addedRecipients: AddedRecipient[]
}

export interface CreatedToken {
  id: string
  userId: string
  role: 'admin' | 'member'
  createdAt: number
  token: string
}

/** A token as listed (never its secret, CW-LOC-010). */
export interface TokenInfo {
  id: string
  userId: string
  role: 'admin' | 'member'
  name: string
  createdAt: number
  expiresAt: number
  lastUsedAt: number | null
  revokedAt: number | null
  status: string
}

/** A job whose last attempt failed (`GET /jobs/failing`): `retrying` until `nextAttemptAt`, or `dead`. */
export interface FailingJob {
  id: string
  /** `offer`, `fetch`, `receipt`, `revoke`, `notify-email`, `notify-webhook`. */
  kind: string
  status: 'retrying' | 'dead'
  /** What it works on, with the partner on the other side; null for a kind the node does not describe. */
  subject: { type: 'share' | 'external-case'; id: string; partner: string | null } | null
  attempts: number
  lastError: string | null
  nextAttemptAt: number | null
  createdAt: number
  updatedAt: number
}

/** Access level of a partner share: `full` = import, apply updates or share onward. */
export type AccessLevel = 'view' | 'view-download' | 'full'

/** Who has access to a case (`GET /cases/{id}/access`). */
export interface CaseAccess {
  caseId: string
  /** The owner (null for a case the node created itself). */
  owner: { userId: string; name: string } | null
  team: Array<{ kind: 'user' | 'group'; id: string; name: string }>
  shares: Array<{
    shareId: string
    org: string
    orgName: string
    recipients: Recipient[]
    accessLevel: AccessLevel
    status: ShareStatus
    sharedBy: string
    sharedOn: number
    expiresAt: number
  }>
}

/** Where an imported case came from (`GET /cases/{id}/import-details`). */
export interface ImportDetails {
  caseId: string
  inboundId: string
  senderOrg: string
  senderName: string
  /** Who shared, by display name (0.2 manifests, CW-MAN-005). */
  sharedBy?: string
  /** The sender's opaque id of who shared. */
  sharedById?: string
  recipients: Recipient[]
  /** Users and groups our side added as recipients (CW-LOC-025), oldest first. */
  addedRecipients: AddedRecipient[]
  receivedAt: number
  importedAt: number
  accessLevel: AccessLevel
  policy: { id: string; version: number; name: string; permissions: SharingPolicy['permissions'] }
  shareId: string
  revision: number
}

/** Who a link share is for: an e-mail address, a user or group of ours (id), or of a partner (`<org>/<id>`). */
export interface LinkRecipient {
  kind: 'email' | 'local-user' | 'local-group' | 'partner-user' | 'partner-group'
  value: string
}

/** A link share to create (`POST /cases/{id}/link-shares`, SPEC.md CW-LOC-032). */
export interface LinkShareInput {
  recipient: LinkRecipient
  scope: 'case' | 'folders' | 'evidence'
  folderIds?: string[]
  evidenceIds?: string[]
  format: 'zip' | 'tar' | 'iso'
  retainFolderStructure?: boolean
  attachments?: { auditTrail?: boolean; tableOfContents?: boolean; transcripts?: boolean }
  message?: string
  expiresInSeconds?: number
}

/** A case package shared with a link, and where it stands (SPEC.md CW-LOC-032…CW-LOC-035). */
/** A case package a partner sent to users or groups of ours (SPEC.md CW-PKG-017). */
export interface InboundPackage {
  id: string
  sender: { org: string; name: string | null }
  packageId: string
  status: 'receiving' | 'received' | 'refused' | 'revoked' | 'expired'
  format: 'zip' | 'tar' | 'iso' | null
  size: number | null
  manifest: string | null
  message: string | null
  recipients: Array<{ kind: 'user' | 'group'; id: string }>
  caseId: string | null
  failure: string | null
  fileName: string | null
  createdAt: number
  receivedAt: number | null
  expiresAt: number
  revokedAt: number | null
}

export interface LinkShare {
  id: string
  caseId: string
  createdBy: string
  recipient: LinkRecipient
  scope: LinkShareInput['scope']
  folderIds: string[]
  evidenceIds: string[]
  format: LinkShareInput['format']
  retainFolderStructure: boolean
  attachments: { auditTrail: boolean; tableOfContents: boolean; transcripts: boolean }
  message: string | null
  status: 'processing' | 'ready' | 'failed' | 'revoked' | 'expired'
  failure: string | null
  createdAt: number
  expiresAt: number
  revokedAt: number | null
  revokedBy: string | null
  package: { fileName: string; size: number; digest: string; items: number; createdAt: number } | null
}

/** One entry of a case's audit trail (SPEC.md §18). */
export interface AuditEntry {
  caseId: string
  seq: number
  at: number
  type: string
  actor: { kind: string; id?: string; org?: string; [key: string]: unknown }
  data: Record<string, unknown>
  prev: string | null
  digest: string
}

/** The result of verifying a case's audit hash chain. */
export type AuditVerification = { ok: true; entries: number } | { ok: false; seq: number; caseId: string; reason: 'digest' | 'link' | 'sequence' }

/** Updates pending on an external case (`GET /external-cases/{id}/updates`). */
export interface UpdatesAvailable {
  appliedRevision: number
  updates: Array<{
    revision: number
    receivedAt: number
    transfer: 'receiving' | 'verified' | 'rejected'
    case: Array<{ updateId: string; field: string; old: string | string[] | null; new: string | string[] | null }>
    evidence: Array<{ updateId: string; change: 'added' | 'removed' | 'modified'; itemId: string; name: string; size: number; digest: string }>
  }>
}

export interface AppliedUpdates {
  revision: number
  applied: string[]
  remaining: number
  importedCaseId: string | null
}

/** An onward share (`POST /external-cases/{id}/share-onward`). */
export interface OnwardShareInput {
  partnerOrg: string
  /** A stored policy version, or an inline policy; default the partner's assigned policy. */
  policy?: { id: string; version: number } | SharingPolicy
  evidenceIds?: string[]
  message?: string
  recipients?: Recipient[]
}

/** A local API call answered with a problem document (or with no usable answer: `code` is then `HTTP_<status>`). */
export class LocalApiError extends Error {
  readonly code: string
  readonly status: number
  readonly problem: Problem | undefined
  /** Seconds, from the `Retry-After` of a 429. */
  readonly retryAfter: number | undefined

  constructor(method: string, path: string, status: number, problem: Problem | undefined, retryAfter?: number) {
    const code = problem?.code ?? `HTTP_${status}`
    super(`${method} ${path}: ${status} ${code}${problem?.detail === undefined ? '' : `: ${problem.detail}`}`)
    this.name = 'LocalApiError'
    this.code = code
    this.status = status
    this.problem = problem
    this.retryAfter = retryAfter
  }
}

/** A downloaded file: its bytes were hashed while they streamed; `bytes` is kept only when asked for. */
export interface Download {
  size: number
  /** `sha256:<hex>` of the bytes received. */
  digest: string
  mediaType: string | null
  bytes?: Buffer
}

/** Which page of a paged list to read (CW-LOC-054): at most `limit` items, from `cursor` (a page's `next`). */
export interface PageOptions {
  limit?: number
  cursor?: string
}

function pageQuery(page: PageOptions): string {
  const query = new URLSearchParams()
  if (page.limit !== undefined) query.set('limit', String(page.limit))
  if (page.cursor !== undefined) query.set('cursor', page.cursor)
  const text = query.toString()
  return text === '' ? '' : `?${text}`
}

/**
 * Every item of a paged list (CW-LOC-054): reads the first page, then each `next`. A node
 * before paging sends no `next`: its one answer is the whole list.
 */
async function everyPage<Item>(read: (page: PageOptions) => Promise<{ items: Item[]; next?: string | null }>): Promise<Item[]> {
  const all: Item[] = []
  let page = await read({})
  all.push(...page.items)
  while (typeof page.next === 'string') {
    page = await read({ cursor: page.next })
    all.push(...page.items)
  }
  return all
}

export interface LocalClientOptions {
  /** `http://127.0.0.1:<port>` of the node's local listener. */
  baseUrl: string
  /** A bearer token (`cw_…`). */
  token: string
  /**
   * How many times one call waits out a `429` and tries again (default 0: a 429 throws). An
   * upload is tried again only when its body can be sent again (bytes, or a function making it).
   */
  rateLimitRetries?: number
  /** Called before each such wait, with the seconds waited. */
  onRateLimited?: (seconds: number) => void
}

type Body = Uint8Array | AsyncIterable<Uint8Array>

const API = '/api/v1'

export class LocalClient {
  readonly baseUrl: string
  readonly #token: string
  readonly #rateLimitRetries: number
  readonly #onRateLimited: ((seconds: number) => void) | undefined

  constructor(options: LocalClientOptions) {
    if (typeof options?.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) throw new TypeError('baseUrl must be an http(s) URL')
    if (typeof options.token !== 'string' || options.token.length === 0) throw new TypeError('token must be a bearer token')
    const retries = options.rateLimitRetries ?? 0
    if (!Number.isSafeInteger(retries) || retries < 0) throw new TypeError('rateLimitRetries must be a non-negative integer')
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#token = options.token
    this.#rateLimitRetries = retries
    this.#onRateLimited = options.onRateLimited
  }

  /** `GET /healthz` (no token). */
  async healthz(): Promise<{ status: 'ok' }> {
    const response = await fetch(`${this.baseUrl}/healthz`)
    if (!response.ok) throw await refusal('GET', '/healthz', response)
    return (await response.json()) as { status: 'ok' }
  }

  /** A token for an existing user, with at most its role (CW-LOC-004). */
  createToken(userId: string, role: 'admin' | 'member'): Promise<CreatedToken> {
    return this.#json('POST', '/tokens', { userId, role })
  }

  /** Runs a blob collection now, or with `dryRun` reports what one would free (administrators, CW-LOC-042). */
  collectBlobs(dryRun: boolean): Promise<BlobCollection> {
    return this.#json('POST', `/blobs/gc?dryRun=${dryRun}`)
  }

  /** Jobs whose last attempt failed, retrying or dead, oldest first (administrators). */
  async listFailingJobs(): Promise<FailingJob[]> {
    return (await this.#json<{ jobs: FailingJob[] }>('GET', '/jobs/failing')).jobs
  }

  /** Tokens: an administrator sees every one (or one user's), anyone else its own (CW-LOC-010). */
  listTokens(userId?: string): Promise<TokenInfo[]> {
    return this.#json('GET', userId === undefined ? '/tokens' : `/tokens?userId=${encodeURIComponent(userId)}`)
  }

  /** Revokes a token at once (CW-LOC-010). */
  revokeToken(id: string): Promise<TokenInfo> {
    return this.#json('POST', `/tokens/${encodeURIComponent(id)}/revoke`)
  }

  createUser(user: { id: string; name?: string; email?: string; badge?: string; role?: 'admin' | 'member'; kind?: 'user' | 'service' }): Promise<User> {
    return this.#json('POST', '/users', user)
  }

  createGroup(group: { id: string; name?: string; members?: string[] }): Promise<Group> {
    return this.#json('POST', '/groups', group)
  }

  /** Imports an external case as a local case (recipients only; the sender's policy must permit import, CW-LOC-003). */
  importExternalCase(id: string): Promise<Case> {
    return this.#json('POST', `/external-cases/${encodeURIComponent(id)}/import`)
  }

  /** Pins a partner from its bundle and the CA fingerprint obtained out of band (CW-TRUST-002). */
  importPartner(bundle: unknown, fingerprint: string): Promise<Partner> {
    return this.#json('POST', '/partners', { bundle, fingerprint })
  }

  /**
   * Pins a partner as trust-only (an anchor for signed objects, no connection) — on nodes that
   * support `trustOnly`; others refuse the unknown property (400).
   */
  importTrustOnlyPartner(bundle: unknown, fingerprint: string): Promise<Partner> {
    return this.#json('POST', '/partners', { bundle, fingerprint, trustOnly: true })
  }

  async listPartners(): Promise<Partner[]> {
    return (await this.#json<{ partners: Partner[] }>('GET', '/partners')).partners
  }

  setPartnerEnabled(org: string, enabled: boolean): Promise<Partner> {
    return this.#json('POST', `/partners/${encodeURIComponent(org)}/${enabled ? 'enable' : 'disable'}`)
  }

  createPolicy(policy: PolicyInput): Promise<PolicyRecord> {
    return this.#json('POST', '/policies', policy)
  }

  /** The latest version of every policy. */
  async listPolicies(): Promise<PolicyRecord[]> {
    return (await this.#json<{ policies: PolicyRecord[] }>('GET', '/policies')).policies
  }

  /** Assigns the policy of a partner's future shares (latest version unless `version`). */
  assignPolicy(org: string, policyId: string, version?: number): Promise<Partner> {
    return this.#json('PUT', `/partners/${encodeURIComponent(org)}/policy`, version === undefined ? { policyId } : { policyId, version })
  }

  createCase(fields: CaseFields): Promise<Case> {
    return this.#json('POST', '/cases', { fields })
  }

  /** Every case the token's user owns or works on (every case for an administrator), newest first: follows `next`. */
  listCases(): Promise<Case[]> {
    return everyPage(async (page) => {
      const read = await this.listCasesPage(page)
      return { items: read.cases, next: read.next }
    })
  }

  /** One page of the cases, newest first (CW-LOC-054): pass the `next` of a page as `cursor` for the following one. */
  listCasesPage(page: PageOptions = {}): Promise<{ cases: Case[]; next: string | null }> {
    return this.#json('GET', `/cases${pageQuery(page)}`)
  }

  /** Changes case fields (null removes one); live shares of the case make a new revision. */
  updateCase(caseId: string, fields: Record<string, string | string[] | null>): Promise<Case> {
    return this.#json('PATCH', `/cases/${encodeURIComponent(caseId)}`, { fields })
  }

  createFolder(caseId: string, name: string, parentId?: string): Promise<Folder> {
    return this.#json('POST', `/cases/${encodeURIComponent(caseId)}/folders`, parentId === undefined ? { name } : { name, parentId })
  }

  /**
   * Streams `body` as new evidence of `caseId`; the metadata goes in the query. A function
   * makes the body afresh for each attempt (so that a rate-limited upload can be sent again).
   */
  async uploadEvidence(caseId: string, metadata: EvidenceUpload, body: Body | (() => Body)): Promise<Evidence> {
    const query = new URLSearchParams({ name: metadata.name, category: metadata.category })
    if (metadata.mediaType !== undefined) query.set('mediaType', metadata.mediaType)
    if (metadata.folderId !== undefined) query.set('folderId', metadata.folderId)
    if (metadata.doNotDisclose !== undefined) query.set('doNotDisclose', String(metadata.doNotDisclose))
    if (metadata.attachmentOf !== undefined) query.set('attachmentOf', metadata.attachmentOf)
    const path = `/cases/${encodeURIComponent(caseId)}/evidence?${query.toString()}`
    const replayable = typeof body === 'function' || body instanceof Uint8Array
    const response = await this.#send('POST', path, replayable, () => ({
      headers: { ...this.#auth(), 'content-type': 'application/octet-stream' },
      // undici streams an async iterable body; `duplex` is required for a streamed request body.
      body: (typeof body === 'function' ? body() : body) as unknown as NonNullable<RequestInit['body']>,
      duplex: 'half',
      // A request that may follow a redirect is cloned first (Fetch standard, HTTP-network-or-
      // cache fetch), and cloning a streamed body tees it: the branch never sent would keep
      // every byte of the file in memory. The local API never redirects.
      redirect: 'error',
    }))
    if (response.status !== 201) throw await refusal('POST', path, response)
    return (await response.json()) as Evidence
  }

  /**
   * Uploads many items in one request (CW-LOC-056): all are stored, or none. Each item's content
   * is bytes in memory or a `Blob` (`fs.openAsBlob(path)` reads a file only as it is sent).
   * Answers the evidence in the order given.
   */
  async uploadEvidenceBatch(caseId: string, items: ReadonlyArray<{ metadata: EvidenceUpload; content: Uint8Array | Blob }>): Promise<Evidence[]> {
    const path = `/cases/${encodeURIComponent(caseId)}/evidence/batch`
    // fetch sets the multipart content type with its boundary; a FormData body can be sent again.
    const response = await this.#send('POST', path, true, () => {
      const form = new FormData()
      for (const { metadata, content } of items) {
        form.append('metadata', JSON.stringify(metadata))
        form.append('file', content instanceof Blob ? content : new Blob([content as Uint8Array<ArrayBuffer>]), metadata.name)
      }
      return { headers: this.#auth(), body: form, redirect: 'error' }
    })
    if (response.status !== 201) throw await refusal('POST', path, response)
    return ((await response.json()) as { evidence: Evidence[] }).evidence
  }

  /** Deletes evidence from its case (CW-LOC-040); its chunks go with the next blob collection. Answers the evidence deleted. */
  deleteEvidence(id: string): Promise<Evidence> {
    return this.#json('DELETE', `/evidence/${encodeURIComponent(id)}`)
  }

  async listEvidence(caseId: string): Promise<Evidence[]> {
    return (await this.#json<{ evidence: Evidence[] }>('GET', `/cases/${encodeURIComponent(caseId)}/evidence`)).evidence
  }

  createShare(input: ShareInput): Promise<Share> {
    return this.#json('POST', '/shares', input)
  }

  getShare(id: string): Promise<Share> {
    return this.#json('GET', `/shares/${encodeURIComponent(id)}`)
  }

  /** Every share of case `caseId`, newest first: follows `next` page by page. */
  listShares(caseId: string): Promise<Share[]> {
    return everyPage(async (page) => {
      const read = await this.listSharesPage(caseId, page)
      return { items: read.shares, next: read.next }
    })
  }

  /** One page of the shares of case `caseId` (CW-LOC-054): pass the `next` of a page as `cursor` for the following one. */
  listSharesPage(caseId: string, page: PageOptions = {}): Promise<{ shares: Share[]; next: string | null }> {
    const query = pageQuery(page)
    return this.#json('GET', `/shares?caseId=${encodeURIComponent(caseId)}${query === '' ? '' : `&${query.slice(1)}`}`)
  }

  /** Every external case the token's user may see, newest first: follows `next` page by page. */
  listExternalCases(): Promise<ExternalCaseSummary[]> {
    return everyPage(async (page) => {
      const read = await this.listExternalCasesPage(page)
      return { items: read.externalCases, next: read.next }
    })
  }

  /** One page of the external cases (CW-LOC-054): pass the `next` of a page as `cursor` for the following one. */
  listExternalCasesPage(page: PageOptions = {}): Promise<{ externalCases: ExternalCaseSummary[]; next: string | null }> {
    return this.#json('GET', `/external-cases${pageQuery(page)}`)
  }

  getExternalCase(id: string): Promise<ExternalCase> {
    return this.#json('GET', `/external-cases/${encodeURIComponent(id)}`)
  }

  /** The updates pending on an external case (revisions received, not applied). */
  listUpdates(externalCaseId: string): Promise<UpdatesAvailable> {
    return this.#json('GET', `/external-cases/${encodeURIComponent(externalCaseId)}/updates`)
  }

  /** Applies the selected updates of a pending revision (all when `updateIds` is omitted). */
  applyUpdates(externalCaseId: string, revision: number, updateIds?: string[]): Promise<AppliedUpdates> {
    return this.#json(
      'POST',
      `/external-cases/${encodeURIComponent(externalCaseId)}/updates/apply`,
      updateIds === undefined ? { revision } : { revision, updateIds },
    )
  }

  /** Makes a new revision of a share now; with `evidenceIds`, adds those items to an evidence share. */
  updateShare(shareId: string, evidenceIds?: string[]): Promise<Share> {
    return this.#json('POST', `/shares/${encodeURIComponent(shareId)}/update`, evidenceIds === undefined ? {} : { evidenceIds })
  }

  /** Shares an external case onward to a further partner (SPEC.md §11). */
  shareOnward(externalCaseId: string, input: OnwardShareInput): Promise<Share> {
    return this.#json('POST', `/external-cases/${encodeURIComponent(externalCaseId)}/share-onward`, input)
  }

  /** Revokes a share: the partner, and every share derived from it, lose access. */
  revokeShare(shareId: string, reason?: string): Promise<Share> {
    return this.#json('POST', `/shares/${encodeURIComponent(shareId)}/revoke`, reason === undefined ? {} : { reason })
  }

  /** Who has access to a case: the owner, the team, each partner share with its recipients and access level. */
  getCaseAccess(caseId: string): Promise<CaseAccess> {
    return this.#json('GET', `/cases/${encodeURIComponent(caseId)}/access`)
  }

  /** Where an imported case came from. */
  getImportDetails(caseId: string): Promise<ImportDetails> {
    return this.#json('GET', `/cases/${encodeURIComponent(caseId)}/import-details`)
  }

  /** Adds users or groups of this organization as recipients of an external case, if its policy permits addRecipients (CW-LOC-025). */
  addExternalRecipients(id: string, recipients: Array<{ kind: 'user' | 'group'; id: string }>): Promise<AddedRecipients> {
    return this.#json('POST', `/external-cases/${encodeURIComponent(id)}/recipients`, { recipients })
  }

  /** The same, from the import details of the case imported from it. */
  addImportRecipients(caseId: string, recipients: Array<{ kind: 'user' | 'group'; id: string }>): Promise<AddedRecipients> {
    return this.#json('POST', `/cases/${encodeURIComponent(caseId)}/import-details/recipients`, { recipients })
  }

  /** The whole audit trail of a case (administrators), every page, in seq order. */
  listCaseAudit(caseId: string): Promise<AuditEntry[]> {
    return this.#auditPages(`/cases/${encodeURIComponent(caseId)}/audit`)
  }

  /** The whole audit trail of an external case (administrators), every page, in seq order. */
  listExternalCaseAudit(externalCaseId: string): Promise<AuditEntry[]> {
    return this.#auditPages(`/external-cases/${encodeURIComponent(externalCaseId)}/audit`)
  }

  async #auditPages(path: string): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = []
    let after: number | null = 0
    while (after !== null) {
      const page: { entries: AuditEntry[]; next: number | null } = await this.#json('GET', `${path}?after=${after}&limit=1000`)
      entries.push(...page.entries)
      after = page.next
    }
    return entries
  }

  /** Verifies the hash chain of a case's audit trail (administrators). */
  verifyCaseAudit(caseId: string): Promise<AuditVerification> {
    return this.#json('GET', `/cases/${encodeURIComponent(caseId)}/audit/verify`)
  }

  /** Shares a case as a package (ZIP, TAR or ISO) with one recipient; it is built in the background (`processing`). */
  createLinkShare(caseId: string, input: LinkShareInput): Promise<LinkShare> {
    return this.#json('POST', `/cases/${encodeURIComponent(caseId)}/link-shares`, input)
  }

  getLinkShare(id: string): Promise<LinkShare> {
    return this.#json('GET', `/link-shares/${encodeURIComponent(id)}`)
  }

  async listLinkShares(caseId: string): Promise<LinkShare[]> {
    return (await this.#json<{ linkShares: LinkShare[] }>('GET', `/cases/${encodeURIComponent(caseId)}/link-shares`)).linkShares
  }

  revokeLinkShare(id: string): Promise<LinkShare> {
    return this.#json('POST', `/link-shares/${encodeURIComponent(id)}/revoke`)
  }

  /** Downloads a ready link share's package, into `file` when given (streamed, never held whole). */
  downloadLinkPackage(id: string, options: { file?: string } = {}): Promise<Download> {
    return this.#download(`/link-shares/${encodeURIComponent(id)}/package`, options)
  }

  /** The case packages partners sent the caller (or its groups; an administrator: all), newest first (CW-PKG-017): follows `next`. */
  listInboundPackages(): Promise<InboundPackage[]> {
    return everyPage(async (page) => {
      const read = await this.listInboundPackagesPage(page)
      return { items: read.inboundPackages, next: read.next }
    })
  }

  /** One page of the inbound packages, newest first (CW-LOC-054): pass the `next` of a page as `cursor` for the following one. */
  listInboundPackagesPage(page: PageOptions = {}): Promise<{ inboundPackages: InboundPackage[]; next: string | null }> {
    return this.#json('GET', `/inbound-packages${pageQuery(page)}`)
  }

  getInboundPackage(id: string): Promise<InboundPackage> {
    return this.#json('GET', `/inbound-packages/${encodeURIComponent(id)}`)
  }

  /** Downloads a package a partner sent the caller, into `file` when given (streamed, never held whole). */
  downloadInboundPackage(id: string, options: { file?: string } = {}): Promise<Download> {
    return this.#download(`/inbound-packages/${encodeURIComponent(id)}/package`, options)
  }

  /** Downloads evidence of an external case (the sender's policy must permit it, CW-POL-006). */
  downloadExternalEvidence(externalCaseId: string, itemId: string, options: { keepBytes?: boolean } = {}): Promise<Download> {
    return this.#download(`/external-cases/${encodeURIComponent(externalCaseId)}/evidence/${encodeURIComponent(itemId)}/content`, options)
  }

  /** Downloads evidence of one of our own cases. */
  downloadEvidence(evidenceId: string, options: { keepBytes?: boolean } = {}): Promise<Download> {
    return this.#download(`/evidence/${encodeURIComponent(evidenceId)}/content`, options)
  }

  async #download(path: string, options: { keepBytes?: boolean; file?: string }): Promise<Download> {
    const response = await fetch(this.#url(path), { headers: this.#auth() })
    if (response.status !== 200 || response.body === null) throw await refusal('GET', path, response)
    const hash = createHash('sha256')
    const kept: Buffer[] = []
    let size = 0
    const body = response.body as unknown as AsyncIterable<Uint8Array>
    const pieces = async function* (): AsyncGenerator<Uint8Array> {
      for await (const piece of body) {
        hash.update(piece)
        size += piece.byteLength
        if (options.keepBytes === true) kept.push(Buffer.from(piece))
        yield piece
      }
    }
    // Into the file (a new one, readable by its owner only), or nowhere: only hashed and counted.
    const sink =
      options.file === undefined ? new Writable({ write: (_piece, _encoding, done) => done() }) : createWriteStream(options.file, { flags: 'wx', mode: 0o600 })
    await pipeline(pieces(), sink)
    const download: Download = { size, digest: `sha256:${hash.digest('hex')}`, mediaType: response.headers.get('content-type') }
    if (options.keepBytes === true) download.bytes = Buffer.concat(kept)
    return download
  }

  async #json<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = this.#auth()
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await this.#send(method, path, true, () => ({ headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }))
    if (!response.ok) throw await refusal(method, path, response)
    return (await response.json()) as T
  }

  /** One request; a 429 is waited out and sent again (`request()` makes it afresh) while retries are left and it can be. */
  async #send(method: string, path: string, replayable: boolean, request: () => RequestInit): Promise<Response> {
    for (let waits = 0; ; waits += 1) {
      const response = await fetch(this.#url(path), { ...request(), method })
      if (response.status !== 429 || !replayable || waits >= this.#rateLimitRetries) return response
      await response.body?.cancel()
      const seconds = Math.max(0.1, retryAfterOf(response) ?? 1)
      this.#onRateLimited?.(seconds)
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    }
  }

  #url(path: string): string {
    return `${this.baseUrl}${API}${path}`
  }

  #auth(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}` }
  }
}

/** The error for a non-2xx answer, with its problem document when it has one. */
async function refusal(method: string, path: string, response: Response): Promise<LocalApiError> {
  let problem: Problem | undefined
  try {
    const parsed = (await response.json()) as unknown
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as Problem).code === 'string') problem = parsed as Problem
  } catch {
    problem = undefined
  }
  return new LocalApiError(method, path.split('?')[0]!, response.status, problem, retryAfterOf(response))
}

/** `Retry-After` in seconds, when the answer has one. */
function retryAfterOf(response: Response): number | undefined {
  const text = response.headers.get('retry-after')
  if (text === null) return undefined
  const seconds = Number(text)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined
}
