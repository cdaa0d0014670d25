/**
 * The metadata store: everything a node remembers except evidence bytes. The embedded
 * implementation is SQLite (`sqlite/`); replicas of one node share a PostgreSQL database
 * (`postgres/`); `open_metadata_store.ts` opens the one the configuration names. Both keep one
 * contract (`node/test/store/metadata_store_contract.ts`). No other module touches SQL.
 *
 * One repository per aggregate (`store.cases`, `store.jobs`, …), all under one unit of work:
 * `transaction(work)` hands `work` the same repositories bound to one transaction (a
 * {@link UnitOfWork}); other callers never see its writes before it commits (SQLite makes them
 * wait, PostgreSQL lets them read what was committed). Every method is async, so that a networked
 * database can implement it, and atomic by itself. SQLite's single writer serializes every write;
 * PostgreSQL runs them at READ COMMITTED, and each repository's doc states what its writes need
 * beyond that (a lock, a conditional statement, a unique index).
 *
 * @module
 */
import type { SharingPolicy, CaseManifest, EvidenceItem, Recipient } from '#protocol'

export type Role = 'admin' | 'member'

export interface TokenRecord {
  id: string
  /** SHA-256 of the bearer token, hex. The token itself is never stored. */
  hash: string
  role: Role
  userId: string
  /** What the token is for, as its creator named it ('' when unnamed). */
  name: string
  createdAt: number
  /** Seconds since the epoch after which the token no longer authenticates (CW-LOC-010). */
  expiresAt: number
  /** Last successful authentication (updated at most once a minute); null before the first. */
  lastUsedAt: number | null
  revokedAt: number | null
}

export interface PartnerRecord {
  org: string
  name: string
  endpoint: string
  caCertificate: string
  caFingerprint: string
  enabled: boolean
  /** The policy (id and version) applied to new shares with this partner; null = none yet. */
  policyId: string | null
  policyVersion: number | null
  addedAt: number
  /**
   * A trust anchor for verifying signed objects only (an originator further up a provenance
   * chain, CW-PROV-008): never trusted for TLS, never shared with or pulled from.
   */
  trustOnly: boolean
}

export interface PolicyRecord {
  id: string
  version: number
  policy: SharingPolicy
  createdAt: number
}

export interface CaseRecord {
  id: string
  /** Case fields (caseNumber, title, description, tags, …) as shared in manifests. */
  fields: Record<string, string | string[]>
  createdAt: number
  updatedAt: number
  /** Set when the case was imported from an inbound share. */
  importedFrom: string | null
}

export interface FolderRecord {
  id: string
  caseId: string
  parentId: string | null
  name: string
}

export interface EvidenceRecord {
  id: string
  caseId: string
  folderId: string | null
  name: string
  category: string
  mediaType: string
  size: number
  digest: string
  chunkSize: EvidenceItem['chunkSize']
  chunks: string[]
  doNotDisclose: boolean
  attachmentOf: string | null
  createdAt: number
}

export type ShareScope = 'case' | 'folders' | 'evidence'
/**
 * processing → delivered | rejected; failed = the last attempt failed. Whether the node still
 * tries is the offer job's state: the local API says `retrying` while it is pending or running,
 * `failed` once it is dead (`sending/share_view.ts`).
 */
export type OutboundStatus = 'processing' | 'delivered' | 'rejected' | 'failed' | 'revoked' | 'expired'

export interface OutboundShareRecord {
  id: string
  caseId: string
  partnerOrg: string
  scope: ShareScope
  folderIds: string[]
  evidenceIds: string[]
  message: string | null
  recipients: Recipient[]
  policy: SharingPolicy
  status: OutboundStatus
  /** Problem code and detail of a rejection, or the last error while failing. */
  statusCode: string | null
  statusDetail: string | null
  revision: number
  createdBy: string
  createdAt: number
  updatedAt: number
  expiresAt: number
}

/** What serving a chunk needs of its share ({@link OutboundShareRepository.getState}). */
export type OutboundShareState = Pick<OutboundShareRecord, 'id' | 'partnerOrg' | 'status' | 'expiresAt' | 'revision'>

export interface OutboundRevisionRecord {
  shareId: string
  revision: number
  manifestJws: string
  manifestDigest: string
  createdAt: number
  receiptJws: string | null
}

/** Why the sending policy left an item of the case out of a revision (CW-LOC-031). */
export type HeldBackReason = 'do-not-disclose' | 'category-excluded' | 'attachments-excluded' | 'parent-not-shared'

/** An item of the case that a revision of an outbound share leaves out, and why. */
export interface HeldBackItem {
  evidenceId: string
  name: string
  reason: HeldBackReason
}

/** A chunk the partner's offer answer asked for, with its size from the manifest. */
export interface TransferChunk {
  digest: string
  size: number
}

/** How far the partner fetched the chunks it asked for in its answer to one revision's offer. */
export interface OutboundTransferRecord {
  shareId: string
  revision: number
  chunksTotal: number
  bytesTotal: number
  chunksDone: number
  bytesDone: number
}

export type InboundStatus = 'receiving' | 'complete' | 'rejected' | 'revoked' | 'expired'

/**
 * An inbound share as read. Its signed manifest is stored beside it but never read back: the
 * manifest is its verified payload, and the JWS of a large share is tens of MB per read.
 */
export interface InboundShareRecord {
  /** Local id of the external case. */
  id: string
  senderOrg: string
  senderName: string
  /** The sender's share id. */
  shareId: string
  revision: number
  manifestDigest: string
  manifest: CaseManifest
  policy: SharingPolicy
  status: InboundStatus
  statusDetail: string | null
  receivedAt: number
  completedAt: number | null
  expiresAt: number
  /** The signed receipt (delivered or rejected) for `revision`, once issued; re-sent until the sender accepts it. */
  receiptJws: string | null
}

/**
 * An inbound share with the signed manifest (JWS) to store: as accepted, or moved to another
 * revision. `manifest` is the value of the JWS's payload, whose text it is stored as: the store
 * keeps the JWS with its payload detached (RFC 7515 Appendix F), never the payload twice.
 */
export interface InboundShareWithManifest extends InboundShareRecord {
  manifestJws: string
}

/** What a polled request checks of an external case ({@link InboundShareRepository.getState}). */
export type InboundShareState = Pick<InboundShareRecord, 'id' | 'senderOrg' | 'revision' | 'manifestDigest' | 'status' | 'expiresAt'>

/**
 * Where an item stands in a paged list: its insertion order (SQLite's rowid, PostgreSQL's
 * `seq`), which an update never changes. Lists run newest first, so a later item has a
 * larger position and a page after position `p` holds only items older than `p`.
 */
export type ListPosition = number

/** A keyset page to read: at most `limit` items, those after `after` (from the newest when absent). */
export interface PageRequest {
  limit: number
  after?: ListPosition
}

/** A page read: its items, and the position to read the next page after (null: this was the last). */
export interface Page<Item> {
  items: Item[]
  next: ListPosition | null
}

/** Whom a list of cases is for (owner and team matching as `access/case_access.ts` does it). */
export interface CaseViewer {
  userId: string
  /** Group ids: local memberships and, for OIDC callers, the groups claim. */
  groups: readonly string[]
  /** Also list what the viewer is neither owner, team member nor recipient of (administrators). */
  seesAll: boolean
}

/** Whom a list of external cases is for (recipient matching as `access/recipients.ts` does it). */
export interface InboundShareViewer extends CaseViewer {
  /** This organization's id: an `agency` recipient naming it names every user. */
  org: string
}

/** An inbound share in a viewer's list, and whether the viewer is one of its recipients. */
export interface VisibleInboundShare {
  share: InboundShareRecord
  recipient: boolean
}

export type JobState = 'pending' | 'running' | 'done' | 'dead'

export interface JobRecord {
  id: string
  kind: string
  /** What the job works on (a share id, an inbound id): one live job per kind and ref. */
  ref: string
  payload: Record<string, unknown>
  state: JobState
  attempts: number
  runAt: number
  lastError: string | null
  createdAt: number
  updatedAt: number
  /** The replica running it (`replica.id`), while it runs. */
  claimedBy: string | null
  /** Until when (Unix seconds) the running replica holds it; after that any replica may take it over. */
  leaseUntil: number | null
}

/** Who claims jobs, and until when their claim holds unless renewed. */
export interface JobClaim {
  /** The claiming replica's id. */
  owner: string
  leaseUntil: number
  /** Only jobs of these kinds (default: any). */
  kinds?: readonly string[]
}

// Principals and case access (users, groups, case owner and team)

export type UserKind = 'user' | 'service'

/** A local user (a person or a system acting through the local API). */
export interface UserRecord {
  /** Stable local id ("alice"); tokens and OIDC subjects map to it. */
  id: string
  name: string
  email: string | null
  badge: string | null
  role: Role
  kind: UserKind
  disabled: boolean
  createdAt: number
  updatedAt: number
}

export interface GroupRecord {
  id: string
  name: string
  createdAt: number
}

/** A member of a case's team: a user or a whole group. */
export interface TeamMember {
  kind: 'user' | 'group'
  id: string
}

/** Who owns a local case and who works on it. */
export interface CaseAccessRecord {
  caseId: string
  /** The user who created (or imported) the case. */
  owner: string
  team: TeamMember[]
  updatedAt: number
}

// Recipients the receiving side added to an external case (SPEC.md CW-LOC-025)

export interface AddedRecipientRecord {
  inboundId: string
  kind: 'user' | 'group'
  /** The user or group id at this node. */
  recipientId: string
  /** The local user who added it. */
  addedBy: string
  addedAt: number
}

// Notifications of inbound shares (delivery state per revision and channel)

export type NotificationChannel = 'email' | 'webhook'
/** pending → sent; failed = the last attempt failed and it is retrying; dead = retries exhausted. */
export type NotificationStatus = 'pending' | 'sent' | 'failed' | 'dead'

export interface NotificationRecord {
  /** The external case (inbound share) the notification is about. */
  inboundId: string
  revision: number
  channel: NotificationChannel
  status: NotificationStatus
  attempts: number
  /** The error of the last failed attempt (no secrets, bounded). */
  lastError: string | null
  updatedAt: number
}

/** What a partner is using of its quotas (CW-QUO-002, CW-QUO-003). */
export interface PartnerUsage {
  /** Inbound shares and pending revisions from the partner whose chunks are still being received. */
  pendingOffers: number
  /** Evidence bytes of the offers accepted from it in the window. */
  bytes: number
  /** When the oldest offer counted in `bytes` was accepted (undefined: none). */
  oldestAt: number | undefined
}

/**
 * Bearer tokens of the local API (hashes only). Isolation: every write is one statement on one
 * row; none reads before it writes, so READ COMMITTED needs nothing more.
 */
export interface TokenRepository {
  insert(token: TokenRecord): Promise<void>
  findByHash(hash: string): Promise<TokenRecord | undefined>
  get(id: string): Promise<TokenRecord | undefined>
  /** Tokens, newest first: all of them, or those of user `userId`. */
  list(userId?: string): Promise<TokenRecord[]>
  /** Marks token `id` revoked at `at`; false when it was already revoked (or does not exist). */
  revoke(id: string, at: number): Promise<boolean>
  /** Revokes every live token of user `userId` at `at`; returns the ids it revoked. */
  revokeOfUser(userId: string, at: number): Promise<string[]>
  /** Records a use of token `id` at `at`. */
  touch(id: string, at: number): Promise<void>
}

/**
 * Partners, the protocol versions each last announced, and when each was last heard from.
 * Isolation: single-statement upserts; `recordContact` and `setVersions` compare in their
 * statement (a later contact wins, an unchanged version list is not rewritten), so concurrent
 * replicas need no lock.
 */
export interface PartnerRepository {
  upsert(partner: PartnerRecord): Promise<void>
  get(org: string): Promise<PartnerRecord | undefined>
  list(): Promise<PartnerRecord[]>
  /** Records a successful exchange with `org` at `at` (Unix seconds) unless a later one is recorded; an unknown org is ignored. */
  recordContact(org: string, at: number): Promise<void>
  /** The last recorded exchange (Unix seconds) of each partner that has one. */
  listContacts(): Promise<Map<string, number>>
  /** Records the versions `org` listed on its latest answer (`['0.1']` when it sent no header). */
  setVersions(org: string, versions: readonly string[], learnedAt: number): Promise<void>
  /** The versions `org` listed on its latest answer; undefined when it never answered. */
  getVersions(org: string): Promise<string[] | undefined>
}

/** Sharing policies: immutable versions. Isolation: inserts only; the primary key refuses a duplicate version. */
export interface PolicyRepository {
  insert(policy: PolicyRecord): Promise<void>
  get(id: string, version?: number): Promise<PolicyRecord | undefined>
  list(): Promise<PolicyRecord[]>
}

/**
 * Local cases with their folders, evidence items, and owner and team; also the case imported
 * from an external case. Isolation: single-statement writes; one import per external case is a
 * unique index. Several writes that must hold together (a case with its access) go in one
 * {@link MetadataStore.transaction}.
 */
export interface CaseRepository {
  insert(record: CaseRecord): Promise<void>
  updateFields(id: string, fields: Record<string, string | string[]>, updatedAt: number): Promise<void>
  get(id: string): Promise<CaseRecord | undefined>
  list(): Promise<CaseRecord[]>
  /**
   * One page of the cases `viewer` may read (SPEC.md CW-LOC-002, CW-LOC-054), newest first (in
   * the order created): those it owns or is on the team of (as a user or through a group);
   * every case when it sees all (an administrator). Filtered in the store.
   */
  listVisible(viewer: CaseViewer, page: PageRequest): Promise<Page<CaseRecord>>
  insertFolder(folder: FolderRecord): Promise<void>
  listFolders(caseId: string): Promise<FolderRecord[]>
  insertEvidence(evidence: EvidenceRecord): Promise<void>
  getEvidence(id: string): Promise<EvidenceRecord | undefined>
  listEvidence(caseId: string): Promise<EvidenceRecord[]>
  /** Inserts or replaces the owner and team of a case. */
  setAccess(access: CaseAccessRecord): Promise<void>
  getAccess(caseId: string): Promise<CaseAccessRecord | undefined>
  /** The local case imported from inbound share `inboundId`, if any. */
  findImportedFrom(inboundId: string): Promise<CaseRecord | undefined>
  /** Removes evidence `id` (an imported case applying an update that removes or replaces an item). */
  deleteEvidence(id: string): Promise<void>
}

/**
 * Shares this node sends: the share, its signed revisions and the chunks they list, what the
 * policy held back, the partner's transfer progress, and the shares the conformance control
 * endpoint made. Isolation: `insertRevision`, `insertHeldBack` and `startTransfer` write several
 * rows atomically (one transaction, or a savepoint in the caller's); `recordChunkServed` counts a
 * chunk once through the row lock of its UPDATE … WHERE NOT served (SQLite's single writer gave
 * that for free; on SQLite it is group-committed with other per-chunk writes).
 */
export interface OutboundShareRepository {
  insert(share: OutboundShareRecord): Promise<void>
  updateStatus(id: string, status: OutboundStatus, code: string | null, detail: string | null, at: number): Promise<void>
  get(id: string): Promise<OutboundShareRecord | undefined>
  /**
   * The few fields of an outbound share that serving a chunk checks, without its lists (the
   * evidence ids of a 10,000-item share are hundreds of kilobytes to read and parse, per chunk).
   */
  getState(id: string): Promise<OutboundShareState | undefined>
  list(caseId?: string): Promise<OutboundShareRecord[]>
  /** One page of the outbound shares of case `caseId` (SPEC.md CW-LOC-054), newest first (in the order created). */
  listOfCase(caseId: string, page: PageRequest): Promise<Page<OutboundShareRecord>>
  /** Stores a revision and indexes its chunk digests as servable to the share's partner. */
  insertRevision(revision: OutboundRevisionRecord, chunkDigests: Iterable<string>): Promise<void>
  getRevision(shareId: string, revision: number): Promise<OutboundRevisionRecord | undefined>
  setReceipt(shareId: string, revision: number, receiptJws: string): Promise<void>
  /** Records what the policy held back from revision `revision` (stored with `insertRevision`). */
  insertHeldBack(shareId: string, revision: number, items: readonly HeldBackItem[]): Promise<void>
  listHeldBack(shareId: string, revision: number): Promise<HeldBackItem[]>
  /**
   * Records the chunks the partner asked for in its answer to the offer of `revision`; an answer
   * to the same offer again adds the chunks not listed yet and keeps what was served.
   */
  startTransfer(shareId: string, revision: number, chunks: readonly TransferChunk[]): Promise<void>
  /** Counts chunk `digest` of the share's current revision as served to the partner (once). */
  recordChunkServed(shareId: string, digest: string): Promise<void>
  getTransfer(shareId: string, revision: number): Promise<OutboundTransferRecord | undefined>
  /** Whether share `shareId` is addressed to `partnerOrg`, lists `digest`, and is neither revoked nor expired at `now`. */
  isChunkServable(partnerOrg: string, shareId: string, digest: string, now: number): Promise<boolean>
  /** Which of `digests` {@link isChunkServable} holds for, in one query (a batch of chunks, EP-20). */
  servableChunks(partnerOrg: string, shareId: string, digests: readonly string[], now: number): Promise<Set<string>>
  /**
   * The outbound shares derived from inbound share `inboundId`: those whose `caseId` is the
   * inbound id itself (an onward share of the external case) or the id of the local case
   * imported from it. Oldest first.
   */
  listDerivedFrom(inboundId: string): Promise<OutboundShareRecord[]>
  /**
   * Moves outbound share `id` to revision `revision` (stored with `insertRevision`):
   * recipients and evidence ids as given, status back to processing, code and detail cleared.
   */
  advance(id: string, revision: number, recipients: Recipient[], evidenceIds: string[], at: number): Promise<void>
  /** Marks outbound share `record.shareId` as made by EP-6 for `record.peerOrg`. */
  insertControlShare(record: ControlShareRecord): Promise<void>
  getControlShare(shareId: string): Promise<ControlShareRecord | undefined>
}

/**
 * External cases: inbound shares, the later revisions held for them, the applied state our users
 * see, the recipients added on this side, and tombstones of revocations that came before their
 * offer. Isolation: single-statement writes; `setAppliedState` bumps `version` in its statement;
 * `insertAddedRecipient` and `insertTombstone` rely on ON CONFLICT DO NOTHING, so concurrent
 * inserts keep one row.
 */
export interface InboundShareRepository {
  insert(share: InboundShareWithManifest): Promise<void>
  /**
   * Writes `share`. Its manifest and JWS are written only when its digest is not the stored one
   * (a digest names one payload, whose JWS is the one first accepted); then `share` must carry
   * its `manifestJws` (TypeError otherwise).
   */
  update(share: InboundShareRecord | InboundShareWithManifest): Promise<void>
  get(id: string): Promise<InboundShareRecord | undefined>
  /**
   * The few fields of an inbound share that a polled request checks, without its manifests and
   * policy (a 10,000-item share is megabytes to read and parse, per poll).
   */
  getState(id: string): Promise<InboundShareState | undefined>
  /**
   * {@link getState} of the share from `senderOrg` that holds the manifest of payload digest
   * `digest`, as its own or as a later revision (CW-FED-004: a re-offer is recognised by its
   * digest alone, before its payload is read).
   */
  findStateByDigest(senderOrg: string, digest: string): Promise<InboundShareState | undefined>
  find(senderOrg: string, shareId: string): Promise<InboundShareRecord | undefined>
  list(): Promise<InboundShareRecord[]>
  /**
   * One page of the inbound shares `viewer` may see as external cases (SPEC.md CW-LOC-001,
   * CW-LOC-054), newest first (in the order they were first received): rejected ones never;
   * those it is a recipient of (named by the manifest — the entire agency when it names none —
   * or added by our side); every other one too when it sees all (an administrator). Filtered in
   * the store, never by reading every share.
   */
  listVisible(viewer: InboundShareViewer, page: PageRequest): Promise<Page<VisibleInboundShare>>
  /** Inserts the recipient unless the external case has it already; true if inserted. */
  insertAddedRecipient(recipient: AddedRecipientRecord): Promise<boolean>
  /** The recipients added to an external case, in the order they were added. */
  listAddedRecipients(inboundId: string): Promise<AddedRecipientRecord[]>
  /** Stores a later revision of an inbound share, received while another is applied. */
  insertRevision(revision: InboundRevisionRecord): Promise<void>
  /** Replaces the inbound revision (inboundId, revision). */
  updateRevision(revision: InboundRevisionRecord): Promise<void>
  getRevision(inboundId: string, revision: number): Promise<InboundRevisionRecord | undefined>
  /** The later revisions held for an inbound share, by revision. */
  listRevisions(inboundId: string): Promise<InboundRevisionRecord[]>
  /**
   * {@link listRevisions} without their manifests, from an index: listing updates is
   * polled, an offer checks it, and a revision's manifest lists every item of the share.
   */
  listRevisionStates(inboundId: string): Promise<InboundRevisionState[]>
  /** What our users see of an external case once updates were applied (none: the inbound manifest as received). */
  getAppliedState(inboundId: string): Promise<AppliedStateRecord | undefined>
  /** The revision and version of the applied state of `inboundId`, without its snapshot (none: no update applied yet). */
  getAppliedStateVersion(inboundId: string): Promise<AppliedStateVersion | undefined>
  /** Inserts or replaces the applied state of `state.inboundId`, with a higher version. */
  setAppliedState(state: AppliedStateRecord): Promise<void>
  /** Remembers that `senderOrg` revoked `shareId` before offering it (nothing when remembered already). */
  insertTombstone(record: RevocationTombstoneRecord): Promise<void>
  getTombstone(senderOrg: string, shareId: string): Promise<RevocationTombstoneRecord | undefined>
}

/**
 * Replay protection (CW-SIG-012): the (iss, jti) pairs seen until they expire. Isolation:
 * `remember` inserts and, when the pair exists, reads the digest recorded; on PostgreSQL the insert
 * waits for a concurrent one of the same pair and the read (a statement of its own) sees the winner.
 */
export interface ReplayRepository {
  /** Records (iss, jti) → digest; returns the digest already recorded, if any. */
  remember(iss: string, jti: string, digest: string, exp: number): Promise<string | undefined>
  forgetExpired(now: number): Promise<void>
}

/** Per-partner quotas (CW-QUO-002, CW-QUO-003). Isolation: `recordOfferBytes` forgets and inserts atomically; reads are snapshots. */
export interface QuotaRepository {
  /** Records the evidence bytes of an offer accepted from `partnerOrg` at `at`; forgets records older than a day. */
  recordOfferBytes(partnerOrg: string, at: number, bytes: number): Promise<void>
  /** Offers from `partnerOrg` still receiving, and the evidence bytes of its offers accepted after `since`. */
  usage(partnerOrg: string, since: number): Promise<PartnerUsage>
}

/**
 * Chunks beyond any one record: proof of possession (CW-POS-005) and what the blob collector must
 * keep (`operations/blob_collector.ts`; the reference sources: `sqlite/chunk_references.ts`).
 * Isolation: `recordDelivered` is an idempotent insert (group-committed on SQLite); `referenced`
 * reads each source in a statement of its own (a record written meanwhile names chunks already
 * stored, so the collector's grace period covers it).
 */
export interface ChunkRepository {
  /** Records that `partnerOrg` delivered chunk `digest` (its bytes verified and stored durably). */
  recordDelivered(partnerOrg: string, digest: string, at: number): Promise<void>
  /** {@link recordDelivered} for each of `digests`, all in one commit (a group of chunks made durable together): all recorded or none. */
  recordDeliveredAll(partnerOrg: string, digests: readonly string[], at: number): Promise<void>
  /** Which of `digests` `partnerOrg` has itself delivered to this node before. */
  delivered(partnerOrg: string, digests: readonly string[]): Promise<Set<string>>
  /**
   * Every chunk digest a record still needs at `now` (Unix seconds): evidence, shares in force,
   * external cases receiving or complete. A blob not in it may be deleted.
   */
  referenced(now: number): Promise<Set<string>>
  /** Chunk `digest`'s blob was deleted: no partner counts as having delivered it (CW-POS-005). */
  forgetDelivered(digest: string): Promise<void>
  /** The ids of the shares of case `caseId` in force at `now` whose revisions name any of `digests`. */
  sharesNaming(caseId: string, digests: readonly string[], now: number): Promise<string[]>
}

/**
 * The job queue, shared by every replica. Isolation: `claimDue` locks the jobs it takes
 * (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite's single writer did the same), so concurrent claims
 * take different jobs and a lease that ran out is taken over once. Completing, failing and renewing
 * name the owner in their WHERE clause; `resetRunning` resets only the caller's own jobs. One pending
 * and one running job per kind and ref are unique (partial) indexes.
 */
export interface JobQueue {
  enqueue(job: JobRecord): Promise<void>
  /**
   * Claims up to `limit` jobs for `claim.owner` until `claim.leaseUntil` (state → running):
   * due pending ones, and running ones whose lease ran out (their replica died). At most one job
   * of a kind and ref runs; one whose lease ran out while a newer one waits is superseded.
   */
  claimDue(now: number, limit: number, claim: JobClaim): Promise<JobRecord[]>
  /** Extends the leases `owner` still holds on `ids`; returns the ids it no longer holds. */
  renewLeases(owner: string, ids: readonly string[], leaseUntil: number): Promise<string[]>
  /**
   * Records the outcome of a job `owner` runs. `CW_ERR_CONFLICT` when it no longer holds it
   * (its lease ran out and another replica took the job over), `CW_ERR_NOT_FOUND` when unknown.
   */
  complete(id: string, at: number, owner: string): Promise<void>
  /** Back to pending at `runAt` with the error, or dead when `dead` is set (errors as {@link complete}). */
  fail(id: string, error: string, runAt: number, dead: boolean, at: number, owner: string): Promise<void>
  /** After a restart of `owner`: the jobs it ran (and any claimed before leases existed) go back to pending. */
  resetRunning(at: number, owner: string): Promise<number>
  list(ref?: string): Promise<JobRecord[]>
  /**
   * Jobs whose last attempt failed, oldest first: pending or running ones (they will be tried
   * again) and dead ones no later job of the same kind and ref has replaced.
   */
  listFailing(): Promise<JobRecord[]>
}

/**
 * Local users and groups. Isolation: `setGroupMembers` replaces the members atomically under the
 * group row's lock (PostgreSQL: SELECT … FOR UPDATE), so two replicas replacing them take turns.
 */
export interface PrincipalRepository {
  /** Inserts or replaces the user with `user.id`. */
  upsertUser(user: UserRecord): Promise<void>
  getUser(id: string): Promise<UserRecord | undefined>
  listUsers(): Promise<UserRecord[]>
  /** Inserts or renames the group with `group.id` (its createdAt is kept). */
  upsertGroup(group: GroupRecord): Promise<void>
  getGroup(id: string): Promise<GroupRecord | undefined>
  listGroups(): Promise<GroupRecord[]>
  /**
   * Replaces the members of group `groupId`, atomically. An unknown group is CW_ERR_NOT_FOUND (the
   * record addressed is missing); an unknown user is CW_ERR_CONFLICT (a member refers to a missing record).
   */
  setGroupMembers(groupId: string, userIds: readonly string[]): Promise<void>
  listGroupMembers(groupId: string): Promise<string[]>
  /** Ids of the groups `userId` belongs to. */
  listUserGroups(userId: string): Promise<string[]>
}

/**
 * The tamper-evident audit trail: one hash chain per case (audit/audit_trail.ts computes the
 * digests). Isolation: `append` reads the chain's last entry and inserts the next under a
 * transaction-level advisory lock per case on PostgreSQL (SQLite's single writer on SQLite), and
 * `last` inside a transaction takes the same lock until it ends: a writer that reads the last entry
 * to compute the next holds the chain, so two replicas never compute the same `seq` (the primary
 * key would refuse the second anyway: `CW_ERR_CONFLICT`).
 */
export interface AuditLog {
  /**
   * Appends `entry` to its case's chain, atomically: it must be the next one (`seq` = last + 1,
   * `prev` = the last entry's digest, or 1 and null for a new chain), else `CW_ERR_CONFLICT`
   * and nothing is stored. Entries are never changed or removed.
   */
  append(entry: AuditEntryRecord): Promise<void>
  /** Entries of `caseId` with seq > `afterSeq` (default 0), in seq order, at most `limit` (default all). */
  list(caseId: string, options?: { afterSeq?: number; limit?: number }): Promise<AuditEntryRecord[]>
  /** The last entry of `caseId`'s chain, if it has one. */
  last(caseId: string): Promise<AuditEntryRecord | undefined>
  /** Every case id that has an audit chain, sorted. */
  listCaseIds(): Promise<string[]>
}

/** What operations count (metrics). Isolation: read only; one statement, one snapshot. */
export interface MetricsQueries {
  /**
   * How many shares there are per direction and status, counted in the store (metrics). A share
   * past its expiry at `now` that is not revoked, rejected or expired counts as `expired`; an
   * outbound share whose last attempt failed counts as `retrying` while its offer job is live,
   * as `failed` once none will try again (CW-LOC-030).
   */
  countShares(now: number): Promise<ShareCount[]>
}

/** Notifications of inbound shares: delivery state per revision and channel. Isolation: single-statement inserts and upserts keyed by (inboundId, revision, channel). */
export interface NotificationRepository {
  /** Inserts the notification unless one exists for its (inboundId, revision, channel); true if inserted. */
  insert(notification: NotificationRecord): Promise<boolean>
  /** Inserts or replaces the notification for its (inboundId, revision, channel). */
  upsert(notification: NotificationRecord): Promise<void>
  get(inboundId: string, revision: number, channel: NotificationChannel): Promise<NotificationRecord | undefined>
  /** The notifications of an external case, by revision then channel. */
  list(inboundId: string): Promise<NotificationRecord[]>
}

/**
 * Link shares (SPEC.md §22; links/): case packages for one recipient, their members and their
 * signed offers. Isolation: state changes are conditional UPDATEs; `complete` changes the state and
 * stores the members atomically, and the row lock of its UPDATE makes one of two concurrent
 * completions win.
 */
export interface LinkShareRepository {
  insert(record: LinkShareRecord): Promise<void>
  get(id: string): Promise<LinkShareRecord | undefined>
  /** The link share whose capability token hashes to `tokenHash` (SHA-256, hex). */
  findByTokenHash(tokenHash: string): Promise<LinkShareRecord | undefined>
  /** The link shares of case `caseId`, oldest first. */
  list(caseId: string): Promise<LinkShareRecord[]>
  /**
   * Marks processing link share `id` ready with its package and stores its members in order;
   * false (and nothing stored) when it is no longer processing (revoked meanwhile, or done).
   */
  complete(id: string, built: LinkPackageRecord, members: readonly LinkShareMember[], at: number): Promise<boolean>
  /** Marks processing or ready link share `id` failed with `reason` (a ready one: its partner refused the package, CW-PKG-016); false otherwise. */
  fail(id: string, reason: string, at: number): Promise<boolean>
  /** Marks link share `id` revoked by `by`; false when it already was (or does not exist). */
  revoke(id: string, by: string, at: number): Promise<boolean>
  /** Replaces the hash of link share `id`'s capability token (a token is e-mailed only once it is stored). */
  setTokenHash(id: string, tokenHash: string): Promise<void>
  /** The members of link share `id`'s package, in archive order. */
  listMembers(id: string): Promise<LinkShareMember[]>
  /** The signed package offer of link share `id` for a partner recipient (CW-PKG-011), once signed. */
  getOffer(id: string): Promise<LinkShareOffer | undefined>
  /** Keeps the signed package offer of link share `id`: every retry sends the same (CW-PKG-012 step 4). */
  setOffer(id: string, jws: string, at: number): Promise<void>
  /** Records that the partner accepted link share `id`'s offer; false when it was recorded already. */
  markOffered(id: string, at: number): Promise<boolean>
}

/** Inbound packages (SPEC.md §22, CW-PKG-012..017): packages partners offered our users. Isolation: state changes are conditional single-statement UPDATEs. */
export interface InboundPackageRepository {
  insert(record: InboundPackageRecord): Promise<void>
  get(id: string): Promise<InboundPackageRecord | undefined>
  /** The package `packageId` that `senderOrg` offered (or revoked before offering it). */
  find(senderOrg: string, packageId: string): Promise<InboundPackageRecord | undefined>
  /** Every inbound package, newest first. */
  list(): Promise<InboundPackageRecord[]>
  /**
   * spec: CW-PKG-017, CW-LOC-054 — a page of the offered packages `viewer` is a recipient of
   * (every offered package when `viewer.seesAll`), newest first; a revocation of a package never
   * offered is in no list.
   */
  listVisible(viewer: CaseViewer, page: PageRequest): Promise<Page<InboundPackageRecord>>
  /** Makes receiving package `id` visible with its verified content; false when it is no longer receiving. */
  complete(id: string, received: { senderName: string; caseId: string; chunkSize: number; chunks: readonly string[] }, at: number): Promise<boolean>
  /** Marks receiving package `id` refused with `reason`; false when it is no longer receiving. */
  refuse(id: string, reason: string, at: number): Promise<boolean>
  /** Marks package `id` revoked; false when it already was. */
  revoke(id: string, at: number): Promise<boolean>
}

/**
 * Domain events waiting for their consumers (outbox/outbox.ts). Isolation: `append` takes an
 * advisory lock held until commit on PostgreSQL (SQLite's single writer on SQLite), so `seq` follows
 * commit order and a consumer reading after a seq never skips an entry that commits later with a
 * lower one.
 */
export interface Outbox {
  /** Adds entries, in order, after every entry already there (call it inside the action's transaction). */
  append(entries: readonly OutboxEntry[]): Promise<void>
  /** The first `limit` entries of `consumer` after `afterSeq` (default: from the first), in the order they committed. */
  list(consumer: string, limit: number, afterSeq?: number): Promise<ListedOutboxEntry[]>
  /** Removes the entry of `consumer` for `eventId`; false when it was not there (already handled). */
  delete(consumer: string, eventId: string): Promise<boolean>
}

/** The repositories, each bound to the store or to one transaction. */
export interface Repositories {
  readonly tokens: TokenRepository
  readonly partners: PartnerRepository
  readonly policies: PolicyRepository
  readonly cases: CaseRepository
  readonly outboundShares: OutboundShareRepository
  readonly inboundShares: InboundShareRepository
  readonly replay: ReplayRepository
  readonly quotas: QuotaRepository
  readonly chunks: ChunkRepository
  readonly jobs: JobQueue
  readonly principals: PrincipalRepository
  readonly audit: AuditLog
  readonly metrics: MetricsQueries
  readonly notifications: NotificationRepository
  readonly linkShares: LinkShareRepository
  readonly inboundPackages: InboundPackageRepository
  readonly outbox: Outbox
}

/**
 * One transaction: the repositories bound to it. Its writes commit together or not at all; it
 * stops working when the transaction ends. A nested transaction is a savepoint.
 */
export interface UnitOfWork extends Repositories {
  transaction<T>(work: (unit: UnitOfWork) => Promise<T>): Promise<T>
}

export interface MetadataStore extends Repositories {
  /** Runs `work` in one transaction (inside it, use the unit passed to it, never this store). */
  transaction<T>(work: (unit: UnitOfWork) => Promise<T>): Promise<T>
  /** A trivial query: resolves when the store answers (readiness). */
  ping(): Promise<void>
  close(): Promise<void>
}

// Audit trail

/** One entry of a case's tamper-evident audit chain (SPEC.md CW-AUD-001). */
export interface AuditEntryRecord {
  /** Local case id, external case (inbound share) id, or `_federation` for node-wide refusals. */
  caseId: string
  /** Position in the case's chain, from 1. */
  seq: number
  /** Unix seconds. */
  at: number
  /** The domain event type (`case.created`, `share.delivered`, …). */
  type: string
  /** Who did it (`{ kind: 'user', id }`, `{ kind: 'partner', org }`, `{ kind: 'system' }`). */
  actor: Record<string, unknown>
  /** What the event says besides type, case and actor: ids, digests, sizes, codes; never content or secrets. */
  data: Record<string, unknown>
  /** Digest of the previous entry; null for seq 1. */
  prev: string | null
  /** `sha256:` digest of the canonical JSON of every other field. */
  digest: string
}

// Operations (readiness, metrics)

/** The number of shares in one direction with one status. */
export interface ShareCount {
  direction: 'outbound' | 'inbound'
  /**
   * As the local API reports it: `retrying` is an outbound share stored `failed` whose offer job
   * will run again, or an inbound share whose fetch job failed and will run again; an inbound
   * share is `failed` once its fetch job is dead.
   */
  status: OutboundStatus | 'retrying' | InboundStatus | 'failed'
  count: number
}

// Revisions and updates (receiver)

/** pending: received (or receiving), not applied; applied: its changes are applied; superseded: a later revision was applied. */
export type InboundRevisionStatus = 'pending' | 'applied' | 'superseded'
/** The transfer of a pending revision's chunks: receiving → verified | rejected (its receipt says which). */
export type InboundRevisionTransfer = 'receiving' | 'verified' | 'rejected'

/** A revision after the first of an inbound share, kept apart from what is applied (SPEC.md CW-REVN-003). */
export interface InboundRevisionRecord {
  inboundId: string
  revision: number
  manifestJws: string
  manifestDigest: string
  manifest: CaseManifest
  /** The effective policy of this revision's chain. */
  policy: SharingPolicy
  status: InboundRevisionStatus
  transfer: InboundRevisionTransfer
  /** The signed receipt for this revision, once its chunks are verified (or it was rejected). */
  receiptJws: string | null
  /** Whether the sender took the receipt. */
  receiptSent: boolean
  receivedAt: number
  verifiedAt: number | null
}

/** A held revision without its manifests ({@link InboundShareRepository.listRevisionStates}). */
export type InboundRevisionState = Pick<InboundRevisionRecord, 'revision' | 'manifestDigest' | 'status' | 'transfer' | 'receivedAt'>

/** Which applied state an external case has: `version` changes with every write of it. */
export interface AppliedStateVersion {
  revision: number
  version: number
}

/** The case snapshot our users see of an external case: a merge of the updates they applied. */
export interface AppliedStateRecord {
  inboundId: string
  /** The latest revision updates were applied from. */
  revision: number
  case: CaseManifest['case']
  evidence: EvidenceItem[]
  updatedAt: number
}

// Conformance control

/** An outbound share the conformance control endpoint EP-6 made (SPEC.md §21, CW-CTL-002). */
export interface ControlShareRecord {
  shareId: string
  /** The partner that asked for it (the org of its verified client certificate). */
  peerOrg: string
  createdAt: number
}

/** A revocation received for a share its sender never offered (CW-FED-018). */
export interface RevocationTombstoneRecord {
  senderOrg: string
  shareId: string
  revokedAt: number
  /** The revocation's `exp`: kept at least until then. */
  expiresAt: number
  receivedAt: number
}

// Link shares

/** Who a link share is for: an e-mail address, a user or group of ours, or of a partner (`org/id`). */
export interface LinkRecipient {
  kind: 'email' | 'local-user' | 'local-group' | 'partner-user' | 'partner-group'
  value: string
}

/** processing → ready | failed (with the reason); any of them → revoked. Expiry is `expiresAt`. */
export type LinkShareState = 'processing' | 'ready' | 'failed' | 'revoked'

export type PackageFormat = 'zip' | 'tar' | 'iso'

/** The package of a ready link share, as built once (its layout follows from its members). */
export interface LinkPackageRecord {
  /** Unix seconds: the manifest's `iat` and every member's mtime. */
  createdAt: number
  /** Bytes of the whole archive. */
  size: number
  /** `sha256:` of the signed package manifest (JWS): the package's entity tag. */
  digest: string
  /** Evidence items in the package. */
  items: number
}

/** A case package shared with a link (SPEC.md §22). */
export interface LinkShareRecord {
  id: string
  caseId: string
  createdBy: string
  recipient: LinkRecipient
  scope: ShareScope
  folderIds: string[]
  evidenceIds: string[]
  format: PackageFormat
  retainFolderStructure: boolean
  /** `transcripts`: each item's text or WebVTT attachment under `transcripts/`, beside it in the table of contents. */
  attachments: { auditTrail: boolean; tableOfContents: boolean; transcripts: boolean }
  message: string | null
  state: LinkShareState
  /** Why it failed. */
  failure: string | null
  createdAt: number
  updatedAt: number
  expiresAt: number
  revokedAt: number | null
  revokedBy: string | null
  /** Once ready. */
  package: LinkPackageRecord | null
  /** SHA-256 (hex) of the capability token of an e-mail recipient; the token itself is never stored. */
  tokenHash: string | null
}

/** One archive member of a link share's package: generated bytes kept as a blob, or an evidence item. */
export interface LinkShareMember {
  path: string
  size: number
  crc32: number
  source: { kind: 'generated'; digest: string } | { kind: 'evidence'; id: string }
}

/** The package offer of a link share for a partner recipient: signed once, resent unchanged. */
export interface LinkShareOffer {
  jws: string
  /** When the partner accepted it (`202` or `200`); null until then. */
  offeredAt: number | null
}

// Inbound packages

/**
 * A package a partner offered to our users (SPEC.md §22, CW-PKG-012): receiving until pulled and
 * verified, then received (visible to its recipients) or refused; revoked by its sender at any
 * time — a revocation of a package never offered is kept with `offer` null (CW-PKG-015).
 */
export interface InboundPackageRecord {
  id: string
  senderOrg: string
  /** The sender's package id (the package manifest's `jti`). */
  packageId: string
  state: 'receiving' | 'received' | 'refused' | 'revoked'
  offer: {
    jws: string
    /** Digest of the offer's payload: an identical re-offer has the same. */
    digest: string
    jti: string
    format: PackageFormat
    size: number
    /** SHA-256 of the package's `package-manifest.jws` member: its entity tag here too. */
    manifest: string
    message: string | null
  } | null
  recipients: { kind: 'user' | 'group'; id: string }[]
  expiresAt: number
  failure: string | null
  /** From the verified package manifest, once received. */
  senderName: string | null
  caseId: string | null
  /** The archive's bytes as chunks in the blob store, once received. */
  content: { chunkSize: number; chunks: string[] } | null
  createdAt: number
  updatedAt: number
  receivedAt: number | null
  revokedAt: number | null
}

// Outbox

/** A domain event waiting for one consumer (SPEC.md §18: the audit trail is one of them). */
export interface OutboxEntry {
  /** The event's id: the same for every consumer of that event. */
  eventId: string
  /** The consumer that still has to handle it (`audit`, `notifications`, `revisions`). */
  consumer: string
  /** The case the event belongs to (`_federation` for none): a consumer handles a case's events in order. */
  caseId: string
  /** The event itself (JSON). */
  event: Record<string, unknown>
  /** Unix seconds when its action committed. */
  recordedAt: number
}

/** An outbox entry as stored: `seq` orders entries as they committed. */
export interface ListedOutboxEntry extends OutboxEntry {
  seq: number
}
