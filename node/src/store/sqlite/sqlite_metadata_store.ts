/**
 * The embedded metadata store: SQLite through `node:sqlite` (`DatabaseSync`).
 *
 * `node:sqlite` is synchronous while {@link MetadataStore} is async, and one connection has
 * one transaction at a time. So every repository method of the store waits its turn on a
 * promise-chain mutex; `transaction(work)` holds the mutex from `BEGIN IMMEDIATE` to
 * `COMMIT`/`ROLLBACK`, and the unit of work it passes to `work` runs statements directly (it
 * does not take the mutex, so it cannot deadlock). Calling the outer store from inside `work` would wait for the transaction
 * forever, so such a call is refused with an error instead. Nothing from another caller is
 * interleaved into a transaction.
 *
 * Durability: WAL journal with `synchronous = FULL`. NORMAL would keep the database
 * consistent after a power cut but could lose the last commits, and this node acts on its
 * commits towards partners: it answers with a receipt after storing a manifest, refuses a
 * replay because a jti was remembered, tells the user a share is processing because its job
 * was queued. Losing such a commit breaks a promise made to someone else (and reopens a
 * replay window), so every commit is fsynced. Writes are per object and per job, never per
 * evidence byte. The two writes made per chunk — a chunk a partner delivered, a chunk served
 * to a partner — are group-committed: those made within {@link GROUP_COMMIT_WINDOW_MS} of each
 * other share one transaction and one fsync, and each call resolves only after that commit.
 * Transactions are group-committed too: those that queue while the store is busy, or within a
 * turn of the event loop, run one after another, each in its own savepoint, inside one
 * transaction with one fsync (a commit blocks the event loop for its fsync, and concurrent
 * uploads made three commits each).
 *
 * Constraint violations surface as `RequestError('CW_ERR_CONFLICT')` (duplicate key, unknown
 * referenced record); wrongly typed fields as `TypeError`; updates of unknown records as
 * `RequestError('CW_ERR_NOT_FOUND')`.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import { open } from 'node:fs/promises'
import { RequestError, type Recipient } from '#protocol'
import { isShared } from '../../shared_manifests.ts'
import type {
  AppliedStateRecord,
  AppliedStateVersion,
  InboundRevisionRecord,
  InboundRevisionState,
  AuditEntryRecord,
  CaseAccessRecord,
  CaseRecord,
  ControlShareRecord,
  LinkPackageRecord,
  InboundPackageRecord,
  LinkShareMember,
  LinkShareOffer,
  LinkShareRecord,
  RevocationTombstoneRecord,
  GroupRecord,
  UserRecord,
  EvidenceRecord,
  FolderRecord,
  InboundShareRecord,
  InboundShareWithManifest,
  InboundShareState,
  CaseViewer,
  InboundShareViewer,
  Page,
  PageRequest,
  VisibleInboundShare,
  PartnerUsage,
  JobClaim,
  JobRecord,
  MetadataStore,
  NotificationChannel,
  NotificationRecord,
  AddedRecipientRecord,
  ListedOutboxEntry,
  OutboxEntry,
  HeldBackItem,
  OutboundRevisionRecord,
  OutboundShareRecord,
  OutboundShareState,
  OutboundStatus,
  OutboundTransferRecord,
  TransferChunk,
  PartnerRecord,
  PolicyRecord,
  ShareCount,
  TokenRecord,
  AuditLog,
  CaseRepository,
  ChunkRepository,
  InboundPackageRepository,
  InboundShareRepository,
  JobQueue,
  LinkShareRepository,
  MetricsQueries,
  NotificationRepository,
  Outbox,
  OutboundShareRepository,
  PartnerRepository,
  PolicyRepository,
  PrincipalRepository,
  QuotaRepository,
  ReplayRepository,
  Repositories,
  TokenRepository,
  UnitOfWork,
} from '../metadata_store.ts'
import { AUDIT_SQL, auditFromRow, auditListParams, auditParams } from './audit.ts'
import { CHUNK_REFERENCE_SOURCES, FORGET_DELIVERED_SQL, SHARES_NAMING_SQL } from './chunk_references.ts'
import { CONTROL_SQL, controlShareFromRow, controlShareParams, revocationTombstoneFromRow, revocationTombstoneParams, VERSIONS_SQL } from './control_shares.ts'
import { MIGRATIONS, migrate } from './migrations.ts'
import { INBOUND_PACKAGE_SQL, completeInboundPackageParams, inboundPackageFromRow, inboundPackageParams, linkShareOfferFromRow } from './inbound_packages.ts'
import { LINK_SQL, completeLinkShareParams, linkShareFromRow, linkShareMemberFromRow, linkShareMemberParams, linkShareParams } from './link_shares.ts'
import { TRANSFER_SQL, heldBackFromRow, transferFromRow } from './transfers.ts'
import {
  REVISION_SQL,
  appliedStateFromRow,
  appliedStateParams,
  appliedStateVersionFromRow,
  inboundRevisionFromRow,
  inboundRevisionParams,
  inboundRevisionStateFromRow,
} from './revisions.ts'
import { ADDED_RECIPIENT_SQL, addedRecipientFromRow, addedRecipientParams, NOTIFICATION_SQL, notificationFromRow, notificationParams } from './notifications.ts'
import { PRINCIPAL_SQL, caseAccessFromRow, caseAccessParams, groupFromRow, groupParams, userFromRow, userParams } from './principals.ts'
import { OUTBOX_SQL, outboxFromRow, outboxParams } from './outbox.ts'
import { OPERATIONS_SQL, REVOCATION_SQL, SQL } from './statements.ts'
import {
  caseFromRow,
  caseParams,
  evidenceFromRow,
  evidenceParams,
  folderFromRow,
  folderParams,
  inboundShareFromRow,
  caseViewerParams,
  inboundShareViewerParams,
  pageOf,
  pageParams,
  visibleInboundShareFromRow,
  inboundShareParams,
  inboundShareParamsKeepingManifest,
  withManifestJws,
  inboundShareStateFromRow,
  jobFromRow,
  jobParams,
  outboundRevisionFromRow,
  outboundRevisionParams,
  outboundShareFromRow,
  outboundShareStateFromRow,
  outboundShareParams,
  partnerFromRow,
  partnerParams,
  policyFromRow,
  policyParams,
  tokenFromRow,
  tokenParams,
  toJson,
  type Params,
  type Row,
} from './rows.ts'
import { crashPoint } from '../../operations/crash_points.ts'

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/

export interface OpenSqliteOptions {
  /**
   * Open an existing, current database for reading only (`caseway audit verify` next to a
   * running node: WAL lets a reader in while the node writes). Nothing is created or migrated;
   * every write fails.
   */
  readOnly?: boolean
}

/**
 * Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
 * Opening an already migrated database changes nothing.
 */
export async function openSqliteMetadataStore(path: string, options: OpenSqliteOptions = {}): Promise<MetadataStore> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string')
  if (options.readOnly === true) return openReadOnly(path)
  if (path !== ':memory:') {
    // Case data and token hashes: owner-only. SQLite gives its -wal and -shm files the same mode.
    const handle = await open(path, 'a', 0o600)
    await handle.close()
  }
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true })
  try {
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = FULL')
    db.exec('PRAGMA foreign_keys = ON')
    migrate(db)
  } catch (err) {
    db.close()
    throw err
  }
  return new SqliteMetadataStore(db)
}

function openReadOnly(path: string): MetadataStore {
  const db = new DatabaseSync(path, { readOnly: true, timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true })
  try {
    const row = db.prepare('SELECT coalesce(max(version), 0) AS version FROM schema_migrations').get() as { version: number }
    if (Number(row.version) !== MIGRATIONS.length) {
      throw new Error(`database schema version ${row.version} is not this Caseway's (${MIGRATIONS.length}): start the node once to migrate it`)
    }
  } catch (err) {
    db.close()
    throw err
  }
  return new SqliteMetadataStore(db)
}

/** Positional parameters, or one object of named ones. */
type Bind = SQLInputValue[] | [Params]

/** The connection and its prepared statements, shared by the store and its units of work. */
class Connection {
  readonly db: DatabaseSync
  readonly #statements = new Map<string, StatementSync>()
  #savepoints = 0

  constructor(db: DatabaseSync) {
    this.db = db
    // Lets a read leave the text of a manifest the node holds parsed unread (statements.ts).
    db.function('caseway_manifest_shared', { directOnly: true }, (digest) => (typeof digest === 'string' && isShared(digest) ? 1 : 0))
  }

  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  get(sql: string, ...params: Bind): Row | undefined {
    return this.statement(sql).get(...(params as SQLInputValue[]))
  }

  all(sql: string, ...params: Bind): Row[] {
    return this.statement(sql).all(...(params as SQLInputValue[]))
  }

  /** Runs a write; returns the number of rows changed. */
  run(sql: string, ...params: Bind): number {
    return Number(this.statement(sql).run(...(params as SQLInputValue[])).changes)
  }

  /** Runs `fn` atomically: its own transaction, or a savepoint inside the current one. */
  atomic<T>(fn: () => T): T {
    const end = this.begin()
    try {
      const result = fn()
      end(true)
      return result
    } catch (err) {
      end(false)
      throw err
    }
  }

  /** Opens a transaction (or a savepoint when one is open); the returned function ends it. */
  begin(): (commit: boolean) => void {
    const db = this.db
    if (db.isTransaction) {
      const name = `sp${++this.#savepoints}`
      db.exec(`SAVEPOINT ${name}`)
      return (commit) => {
        if (!commit) db.exec(`ROLLBACK TO ${name}`)
        db.exec(`RELEASE ${name}`)
      }
    }
    db.exec('BEGIN IMMEDIATE')
    return (commit) => {
      if (commit) {
        try {
          db.exec('COMMIT')
        } catch (err) {
          // A deferred constraint can fail at COMMIT; the transaction is then still open.
          if (db.isTransaction) db.exec('ROLLBACK')
          throw err
        }
      } else if (db.isTransaction) {
        db.exec('ROLLBACK')
      }
    }
  }
}

// Extended SQLite result codes (sqlite3.h).
const SQLITE_CONSTRAINT_CHECK = 275
const SQLITE_CONSTRAINT_FOREIGNKEY = 787
const SQLITE_CONSTRAINT_NOTNULL = 1299
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555
const SQLITE_CONSTRAINT_UNIQUE = 2067
const SQLITE_CONSTRAINT_DATATYPE = 3091

function translateError(err: unknown): unknown {
  if (!(err instanceof Error) || (err as { code?: unknown }).code !== 'ERR_SQLITE_ERROR') return err
  switch ((err as { errcode?: unknown }).errcode) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return new RequestError('CW_ERR_CONFLICT', 'record already exists', { cause: err })
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return new RequestError('CW_ERR_CONFLICT', 'record refers to a missing record', { cause: err })
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_DATATYPE:
      return new TypeError(`invalid record: ${err.message}`, { cause: err })
    default:
      return err
  }
}

function notFound(what: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `${what} not found`)
}

/** How a repository reaches the connection: in the store's turn, or inside one transaction. */
interface Access {
  /** Runs `fn` on the connection; constraint errors come back translated. */
  run<T>(fn: (c: Connection) => T): Promise<T>
  /** A per-chunk write: group-committed with the others made meanwhile (inside a transaction: run at once). */
  grouped(fn: (c: Connection) => void): Promise<void>
}

/**
 * Runs statements directly on the connection. The store's own instance is used under its
 * mutex; each transaction gets a fresh instance, which stops working when the transaction ends.
 */
class DirectAccess implements Access {
  readonly #c: Connection
  readonly #scope: { open: boolean; nested: boolean }

  constructor(connection: Connection, scope: { open: boolean; nested: boolean }) {
    this.#c = connection
    this.#scope = scope
  }

  run<T>(fn: (c: Connection) => T): Promise<T> {
    if (!this.#scope.open) return Promise.reject(new Error('transaction store used after its transaction ended'))
    try {
      return Promise.resolve(fn(this.#c))
    } catch (err) {
      return Promise.reject(translateError(err))
    }
  }

  grouped(fn: (c: Connection) => void): Promise<void> {
    return this.run(fn)
  }
}

class SqliteTokenRepository implements TokenRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(token: TokenRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.insertToken, tokenParams(token)))
  }

  findByHash(hash: string): Promise<TokenRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.findTokenByHash, hash), tokenFromRow))
  }

  get(id: string): Promise<TokenRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getToken, id), tokenFromRow))
  }

  list(userId?: string): Promise<TokenRecord[]> {
    return this.#db.run((c) => (userId === undefined ? c.all(SQL.listTokens) : c.all(SQL.listUserTokens, userId)).map(tokenFromRow))
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.#db.run((c) => c.run(SQL.revokeToken, at, id) > 0)
  }

  revokeOfUser(userId: string, at: number): Promise<string[]> {
    return this.#db.run((c) => c.all(SQL.revokeUserTokens, at, userId).map((row) => String(row['id'])))
  }

  touch(id: string, at: number): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.touchToken, at, id))
  }
}

class SqlitePartnerRepository implements PartnerRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  upsert(partner: PartnerRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.upsertPartner, partnerParams(partner)))
  }

  get(org: string): Promise<PartnerRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getPartner, org), partnerFromRow))
  }

  list(): Promise<PartnerRecord[]> {
    return this.#db.run((c) => c.all(SQL.listPartners).map(partnerFromRow))
  }

  recordContact(org: string, at: number): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.recordPartnerContact, { org, at }))
  }

  listContacts(): Promise<Map<string, number>> {
    return this.#db.run((c) => new Map(c.all(SQL.listPartnerContacts).map((row) => [row['org'] as string, Number(row['last_contact_at'])])))
  }

  setVersions(org: string, versions: readonly string[], learnedAt: number): Promise<void> {
    return this.#db.run((c) => void c.run(VERSIONS_SQL.setPartnerVersions, { org, versions: JSON.stringify(versions), learned_at: learnedAt }))
  }

  getVersions(org: string): Promise<string[] | undefined> {
    return this.#db.run((c) => optional(c.get(VERSIONS_SQL.getPartnerVersions, org), (row) => JSON.parse(row['versions'] as string) as string[]))
  }
}

class SqlitePolicyRepository implements PolicyRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(policy: PolicyRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.insertPolicy, policyParams(policy)))
  }

  get(id: string, version?: number): Promise<PolicyRecord | undefined> {
    return this.#db.run((c) => optional(version === undefined ? c.get(SQL.getPolicyLatest, id) : c.get(SQL.getPolicyVersion, id, version), policyFromRow))
  }

  list(): Promise<PolicyRecord[]> {
    return this.#db.run((c) => c.all(SQL.listPolicies).map(policyFromRow))
  }
}

class SqliteCaseRepository implements CaseRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(record: CaseRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.insertCase, caseParams(record)))
  }

  updateFields(id: string, fields: Record<string, string | string[]>, updatedAt: number): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(SQL.updateCaseFields, toJson(fields), updatedAt, id) === 0) throw notFound('case')
    })
  }

  get(id: string): Promise<CaseRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getCase, id), caseFromRow))
  }

  list(): Promise<CaseRecord[]> {
    return this.#db.run((c) => c.all(SQL.listCases).map(caseFromRow))
  }

  listVisible(viewer: CaseViewer, page: PageRequest): Promise<Page<CaseRecord>> {
    return this.#db.run((c) => pageOf(c.all(SQL.listVisibleCases, caseViewerParams(viewer, page)), page.limit, caseFromRow))
  }

  insertFolder(folder: FolderRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.insertFolder, folderParams(folder)))
  }

  listFolders(caseId: string): Promise<FolderRecord[]> {
    return this.#db.run((c) => c.all(SQL.listFolders, caseId).map(folderFromRow))
  }

  insertEvidence(evidence: EvidenceRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.insertEvidence, evidenceParams(evidence)))
  }

  getEvidence(id: string): Promise<EvidenceRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getEvidence, id), evidenceFromRow))
  }

  listEvidence(caseId: string): Promise<EvidenceRecord[]> {
    return this.#db.run((c) => c.all(SQL.listEvidence, caseId).map(evidenceFromRow))
  }

  setAccess(access: CaseAccessRecord): Promise<void> {
    return this.#db.run((c) => void c.run(PRINCIPAL_SQL.setCaseAccess, caseAccessParams(access)))
  }

  getAccess(caseId: string): Promise<CaseAccessRecord | undefined> {
    return this.#db.run((c) => optional(c.get(PRINCIPAL_SQL.getCaseAccess, caseId), caseAccessFromRow))
  }

  findImportedFrom(inboundId: string): Promise<CaseRecord | undefined> {
    return this.#db.run((c) => optional(c.get(PRINCIPAL_SQL.findCaseImportedFrom, inboundId), caseFromRow))
  }

  deleteEvidence(id: string): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(REVISION_SQL.deleteEvidence, id) === 0) throw notFound('evidence')
    })
  }
}

class SqliteOutboundShareRepository implements OutboundShareRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(share: OutboundShareRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.insertOutboundShare, outboundShareParams(share)))
  }

  updateStatus(id: string, status: OutboundStatus, code: string | null, detail: string | null, at: number): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(SQL.updateOutboundStatus, status, code ?? null, detail ?? null, at, id) === 0) throw notFound('outbound share')
    })
  }

  get(id: string): Promise<OutboundShareRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getOutboundShare, id), outboundShareFromRow))
  }

  getState(id: string): Promise<OutboundShareState | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getOutboundShareState, id), outboundShareStateFromRow))
  }

  list(caseId?: string): Promise<OutboundShareRecord[]> {
    return this.#db.run((c) => (caseId === undefined ? c.all(SQL.listOutboundShares) : c.all(SQL.listOutboundSharesOfCase, caseId)).map(outboundShareFromRow))
  }

  listOfCase(caseId: string, page: PageRequest): Promise<Page<OutboundShareRecord>> {
    return this.#db.run((c) => pageOf(c.all(SQL.listOutboundSharesOfCasePage, { case_id: caseId, ...pageParams(page) }), page.limit, outboundShareFromRow))
  }

  /**
   * Also makes `revision` the share's current revision (`revision` and `updatedAt` of the
   * share never move backwards). Duplicate digests are fine; invalid ones are a `TypeError`
   * and nothing is stored.
   */
  insertRevision(revision: OutboundRevisionRecord, chunkDigests: Iterable<string>): Promise<void> {
    return this.#db.run((c) =>
      c.atomic(() => {
        c.run(SQL.insertOutboundRevision, outboundRevisionParams(revision))
        c.run(SQL.advanceOutboundRevision, { id: revision.shareId, revision: revision.revision, at: revision.createdAt })
        const digests = [...chunkDigests]
        for (const digest of digests) {
          if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest)) throw new TypeError('chunk digest must be sha256:<64 hex>')
        }
        c.run(SQL.insertShareChunks, revision.shareId, JSON.stringify(digests))
      }),
    )
  }

  getRevision(shareId: string, revision: number): Promise<OutboundRevisionRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getOutboundRevision, shareId, revision), outboundRevisionFromRow))
  }

  setReceipt(shareId: string, revision: number, receiptJws: string): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(SQL.setOutboundReceipt, receiptJws, shareId, revision) === 0) throw notFound('outbound revision')
    })
  }

  insertHeldBack(shareId: string, revision: number, items: readonly HeldBackItem[]): Promise<void> {
    return this.#db.run((c) =>
      c.atomic(() => {
        for (const item of items) {
          c.run(TRANSFER_SQL.insertHeldBack, { share: shareId, revision, evidence_id: item.evidenceId, name: item.name, reason: item.reason })
        }
      }),
    )
  }

  listHeldBack(shareId: string, revision: number): Promise<HeldBackItem[]> {
    return this.#db.run((c) => c.all(TRANSFER_SQL.listHeldBack, shareId, revision).map(heldBackFromRow))
  }

  startTransfer(shareId: string, revision: number, chunks: readonly TransferChunk[]): Promise<void> {
    return this.#db.run((c) =>
      c.atomic(() => {
        c.run(TRANSFER_SQL.insertTransfer, { share: shareId, revision })
        const insertChunk = c.statement(TRANSFER_SQL.insertTransferChunk)
        // In digest order, the primary key's: inserts at random places of the B-tree cost several times more.
        for (const { digest, size } of [...chunks].sort(byDigest)) {
          if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest)) throw new TypeError('chunk digest must be sha256:<64 hex>')
          if (!Number.isSafeInteger(size) || size < 0) throw new TypeError('chunk size must be an integer ≥ 0')
          insertChunk.run({ share: shareId, revision, digest, size })
        }
        c.run(TRANSFER_SQL.totalTransfer, { share: shareId, revision })
      }),
    )
  }

  recordChunkServed(shareId: string, digest: string): Promise<void> {
    return this.#db.grouped((c) =>
      c.atomic(() => {
        const served = c.get(TRANSFER_SQL.markChunkServed, { share: shareId, digest })
        if (served !== undefined) c.run(TRANSFER_SQL.countChunkServed, { share: shareId, revision: served['revision'], size: served['size'] })
      }),
    )
  }

  getTransfer(shareId: string, revision: number): Promise<OutboundTransferRecord | undefined> {
    return this.#db.run((c) => optional(c.get(TRANSFER_SQL.getTransfer, shareId, revision), transferFromRow))
  }

  isChunkServable(partnerOrg: string, shareId: string, digest: string, now: number): Promise<boolean> {
    return this.#db.run((c) => c.get(SQL.isChunkServable, { partner: partnerOrg, share: shareId, digest, now }) !== undefined)
  }

  servableChunks(partnerOrg: string, shareId: string, digests: readonly string[], now: number): Promise<Set<string>> {
    if (digests.length === 0) return Promise.resolve(new Set())
    return this.#db.run(
      (c) =>
        new Set(
          c.all(SQL.servableChunks, { partner: partnerOrg, share: shareId, digests: JSON.stringify(digests), now }).map((row) => row['digest'] as string),
        ),
    )
  }

  listDerivedFrom(inboundId: string): Promise<OutboundShareRecord[]> {
    return this.#db.run((c) => c.all(REVOCATION_SQL.listOutboundSharesDerivedFrom, { inboundId }).map(outboundShareFromRow))
  }

  advance(id: string, revision: number, recipients: Recipient[], evidenceIds: string[], at: number): Promise<void> {
    return this.#db.run((c) => {
      if (!Number.isSafeInteger(revision) || revision < 2) throw new TypeError('revision must be an integer ≥ 2')
      const params = { id, revision, recipients: toJson(recipients), evidence_ids: toJson(evidenceIds), at }
      if (c.run(REVISION_SQL.advanceOutboundShare, params) === 0) throw notFound('outbound share')
    })
  }

  insertControlShare(record: ControlShareRecord): Promise<void> {
    return this.#db.run((c) => void c.run(CONTROL_SQL.insertControlShare, controlShareParams(record)))
  }

  getControlShare(shareId: string): Promise<ControlShareRecord | undefined> {
    return this.#db.run((c) => optional(c.get(CONTROL_SQL.getControlShare, shareId), controlShareFromRow))
  }
}

class SqliteInboundShareRepository implements InboundShareRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(share: InboundShareWithManifest): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.insertInboundShare, inboundShareParams(share)))
  }

  update(share: InboundShareRecord | InboundShareWithManifest): Promise<void> {
    return this.#db.run((c) => {
      // A digest names one payload, and its JWS is the one first accepted: the manifest columns
      // (tens of MB for a large share) are written only when the manifest changes.
      if (c.run(SQL.updateInboundShareKeepingManifest, inboundShareParamsKeepingManifest(share)) > 0) return
      if (c.get(SQL.getInboundShareState, share.id) === undefined) throw notFound('inbound share')
      c.run(SQL.updateInboundShare, inboundShareParams(withManifestJws(share)))
    })
  }

  get(id: string): Promise<InboundShareRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getInboundShare, id), inboundShareFromRow))
  }

  getState(id: string): Promise<InboundShareState | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.getInboundShareState, id), inboundShareStateFromRow))
  }

  findStateByDigest(senderOrg: string, digest: string): Promise<InboundShareState | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.findInboundShareStateByDigest, { sender_org: senderOrg, digest }), inboundShareStateFromRow))
  }

  find(senderOrg: string, shareId: string): Promise<InboundShareRecord | undefined> {
    return this.#db.run((c) => optional(c.get(SQL.findInboundShare, senderOrg, shareId), inboundShareFromRow))
  }

  list(): Promise<InboundShareRecord[]> {
    return this.#db.run((c) => c.all(SQL.listInboundShares).map(inboundShareFromRow))
  }

  listVisible(viewer: InboundShareViewer, page: PageRequest): Promise<Page<VisibleInboundShare>> {
    return this.#db.run((c) => pageOf(c.all(SQL.listVisibleInboundShares, inboundShareViewerParams(viewer, page)), page.limit, visibleInboundShareFromRow))
  }

  insertAddedRecipient(recipient: AddedRecipientRecord): Promise<boolean> {
    return this.#db.run((c) => c.run(ADDED_RECIPIENT_SQL.insertAddedRecipient, addedRecipientParams(recipient)) === 1)
  }

  listAddedRecipients(inboundId: string): Promise<AddedRecipientRecord[]> {
    return this.#db.run((c) => c.all(ADDED_RECIPIENT_SQL.listAddedRecipients, inboundId).map(addedRecipientFromRow))
  }

  insertRevision(revision: InboundRevisionRecord): Promise<void> {
    return this.#db.run((c) => void c.run(REVISION_SQL.insertInboundRevision, inboundRevisionParams(revision)))
  }

  updateRevision(revision: InboundRevisionRecord): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(REVISION_SQL.updateInboundRevision, inboundRevisionParams(revision)) === 0) throw notFound('inbound revision')
    })
  }

  getRevision(inboundId: string, revision: number): Promise<InboundRevisionRecord | undefined> {
    return this.#db.run((c) => optional(c.get(REVISION_SQL.getInboundRevision, inboundId, revision), inboundRevisionFromRow))
  }

  listRevisions(inboundId: string): Promise<InboundRevisionRecord[]> {
    return this.#db.run((c) => c.all(REVISION_SQL.listInboundRevisions, inboundId).map(inboundRevisionFromRow))
  }

  listRevisionStates(inboundId: string): Promise<InboundRevisionState[]> {
    return this.#db.run((c) => c.all(REVISION_SQL.listInboundRevisionStates, inboundId).map(inboundRevisionStateFromRow))
  }

  getAppliedState(inboundId: string): Promise<AppliedStateRecord | undefined> {
    return this.#db.run((c) => optional(c.get(REVISION_SQL.getAppliedState, inboundId), appliedStateFromRow))
  }

  getAppliedStateVersion(inboundId: string): Promise<AppliedStateVersion | undefined> {
    return this.#db.run((c) => optional(c.get(REVISION_SQL.getAppliedStateVersion, inboundId), appliedStateVersionFromRow))
  }

  setAppliedState(state: AppliedStateRecord): Promise<void> {
    return this.#db.run((c) => void c.run(REVISION_SQL.setAppliedState, appliedStateParams(state)))
  }

  insertTombstone(record: RevocationTombstoneRecord): Promise<void> {
    return this.#db.run((c) => void c.run(VERSIONS_SQL.insertRevocationTombstone, revocationTombstoneParams(record)))
  }

  getTombstone(senderOrg: string, shareId: string): Promise<RevocationTombstoneRecord | undefined> {
    return this.#db.run((c) => optional(c.get(VERSIONS_SQL.getRevocationTombstone, senderOrg, shareId), revocationTombstoneFromRow))
  }
}

class SqliteReplayRepository implements ReplayRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  remember(iss: string, jti: string, digest: string, exp: number): Promise<string | undefined> {
    return this.#db.run((c) =>
      c.atomic(() => {
        if (c.run(SQL.insertJti, iss, jti, digest, exp) === 1) return undefined
        return c.get(SQL.getJti, iss, jti)!['digest'] as string
      }),
    )
  }

  forgetExpired(now: number): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.forgetExpiredJtis, now))
  }
}

class SqliteQuotaRepository implements QuotaRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  recordOfferBytes(partnerOrg: string, at: number, bytes: number): Promise<void> {
    return this.#db.run((c) => {
      c.run(SQL.forgetOfferBytes, at - 86_400)
      c.run(SQL.insertOfferBytes, partnerOrg, at, bytes)
    })
  }

  usage(partnerOrg: string, since: number): Promise<PartnerUsage> {
    return this.#db.run((c) => {
      const row = c.get(SQL.partnerUsage, { partner: partnerOrg, since })!
      return { pendingOffers: Number(row['pending']), bytes: Number(row['bytes']), oldestAt: row['oldest'] === null ? undefined : Number(row['oldest']) }
    })
  }
}

class SqliteChunkRepository implements ChunkRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  recordDelivered(partnerOrg: string, digest: string, at: number): Promise<void> {
    return this.#db.grouped((c) => void c.run(SQL.insertPartnerChunk, partnerOrg, digest, at))
  }

  /** Group-committed like {@link recordDelivered}: all of `digests` in one statement of the next group commit. */
  recordDeliveredAll(partnerOrg: string, digests: readonly string[], at: number): Promise<void> {
    return this.#db.grouped((c) => {
      if (digests.length > 0) c.run(SQL.insertPartnerChunks, partnerOrg, at, JSON.stringify(digests))
    })
  }

  delivered(partnerOrg: string, digests: readonly string[]): Promise<Set<string>> {
    if (digests.length === 0) return Promise.resolve(new Set())
    return this.#db.run((c) => new Set(c.all(SQL.deliveredChunks, JSON.stringify(digests), partnerOrg).map((row) => row['digest'] as string)))
  }

  referenced(now: number): Promise<Set<string>> {
    return this.#db.run((c) => {
      const digests = new Set<string>()
      // Source by source, row by row: the distinct digests are the set, never a list of every row.
      for (const source of CHUNK_REFERENCE_SOURCES) {
        const statement = c.statement(source.sql)
        const rows = source.sql.includes(':now') ? statement.iterate({ now }) : statement.iterate()
        for (const row of rows) digests.add(row['digest'] as string)
      }
      return digests
    })
  }

  forgetDelivered(digest: string): Promise<void> {
    return this.#db.run((c) => void c.run(FORGET_DELIVERED_SQL, digest))
  }

  sharesNaming(caseId: string, digests: readonly string[], now: number): Promise<string[]> {
    if (digests.length === 0) return Promise.resolve([])
    return this.#db.run((c) => c.all(SHARES_NAMING_SQL, { case: caseId, digests: JSON.stringify(digests), now }).map((row) => row['id'] as string))
  }
}

class SqliteJobQueue implements JobQueue {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  enqueue(job: JobRecord): Promise<void> {
    return this.#db.run((c) => void c.run(SQL.enqueueJob, jobParams(job)))
  }

  /** Claiming counts an attempt (`attempts + 1`), so a job that crashes the process cannot loop forever. */
  claimDue(now: number, limit: number, claim: JobClaim): Promise<JobRecord[]> {
    return this.#db.run((c) => {
      if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError('limit must be a non-negative integer')
      if (typeof claim?.owner !== 'string' || claim.owner.length === 0) throw new TypeError('claim.owner must be a non-empty string')
      if (!Number.isSafeInteger(claim.leaseUntil)) throw new TypeError('claim.leaseUntil must be an integer (Unix seconds)')
      if (limit === 0 || claim.kinds?.length === 0) return []
      c.run(SQL.supersedeExpiredJobs, { now })
      const kinds = claim.kinds === undefined ? null : toJson(claim.kinds)
      const rows = c.all(SQL.claimDueJobs, { now, limit, kinds, owner: claim.owner, lease_until: claim.leaseUntil })
      rows.sort((a, b) => (a['run_at'] as number) - (b['run_at'] as number) || (a['seq'] as number) - (b['seq'] as number))
      return rows.map(jobFromRow)
    })
  }

  renewLeases(owner: string, ids: readonly string[], leaseUntil: number): Promise<string[]> {
    return this.#db.run((c) => ids.filter((id) => c.run(SQL.renewJobLease, { id, owner, lease_until: leaseUntil }) === 0))
  }

  complete(id: string, at: number, owner: string): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(SQL.completeJob, { id, at, owner }) === 0) throw lostJob(c, id)
    })
  }

  fail(id: string, error: string, runAt: number, dead: boolean, at: number, owner: string): Promise<void> {
    return this.#db.run((c) => {
      // A newer pending job of the same kind and ref will redo the work: this one is superseded.
      const superseded = !dead && c.get(SQL.hasPendingSibling, id) !== undefined
      const params = { id, state: dead ? 'dead' : superseded ? 'done' : 'pending', error, run_at: runAt, at, owner }
      if (c.run(SQL.failJob, params) === 0) throw lostJob(c, id)
    })
  }

  resetRunning(at: number, owner: string): Promise<number> {
    return this.#db.run((c) => {
      c.run(SQL.supersedeRunningJobs, { at, owner })
      return c.run(SQL.resetRunningJobs, { at, owner })
    })
  }

  list(ref?: string): Promise<JobRecord[]> {
    return this.#db.run((c) => (ref === undefined ? c.all(SQL.listJobs) : c.all(SQL.listJobsOfRef, ref)).map(jobFromRow))
  }

  listFailing(): Promise<JobRecord[]> {
    return this.#db.run((c) => c.all(SQL.listFailingJobs).map(jobFromRow))
  }
}

class SqlitePrincipalRepository implements PrincipalRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  upsertUser(user: UserRecord): Promise<void> {
    return this.#db.run((c) => void c.run(PRINCIPAL_SQL.upsertUser, userParams(user)))
  }

  getUser(id: string): Promise<UserRecord | undefined> {
    return this.#db.run((c) => optional(c.get(PRINCIPAL_SQL.getUser, id), userFromRow))
  }

  listUsers(): Promise<UserRecord[]> {
    return this.#db.run((c) => c.all(PRINCIPAL_SQL.listUsers).map(userFromRow))
  }

  upsertGroup(group: GroupRecord): Promise<void> {
    return this.#db.run((c) => void c.run(PRINCIPAL_SQL.upsertGroup, groupParams(group)))
  }

  getGroup(id: string): Promise<GroupRecord | undefined> {
    return this.#db.run((c) => optional(c.get(PRINCIPAL_SQL.getGroup, id), groupFromRow))
  }

  listGroups(): Promise<GroupRecord[]> {
    return this.#db.run((c) => c.all(PRINCIPAL_SQL.listGroups).map(groupFromRow))
  }

  setGroupMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    return this.#db.run((c) =>
      c.atomic(() => {
        if (c.get(PRINCIPAL_SQL.groupExists, groupId) === undefined) throw notFound('group')
        c.run(PRINCIPAL_SQL.clearGroupMembers, groupId)
        const insertMember = c.statement(PRINCIPAL_SQL.insertGroupMember)
        for (const userId of userIds) insertMember.run(groupId, userId)
      }),
    )
  }

  listGroupMembers(groupId: string): Promise<string[]> {
    return this.#db.run((c) => c.all(PRINCIPAL_SQL.listGroupMembers, groupId).map((row) => row['user_id'] as string))
  }

  listUserGroups(userId: string): Promise<string[]> {
    return this.#db.run((c) => c.all(PRINCIPAL_SQL.listUserGroups, userId).map((row) => row['group_id'] as string))
  }
}

class SqliteAuditLog implements AuditLog {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  append(entry: AuditEntryRecord): Promise<void> {
    return this.#db.run((c) =>
      c.atomic(() => {
        const params = auditParams(entry)
        const last = c.get(AUDIT_SQL.lastAudit, entry.caseId)
        const lastSeq = last === undefined ? 0 : (last['seq'] as number)
        const lastDigest = last === undefined ? null : (last['digest'] as string)
        if (entry.seq !== lastSeq + 1 || entry.prev !== lastDigest) {
          throw new RequestError('CW_ERR_CONFLICT', `audit entry ${entry.seq} does not follow entry ${lastSeq} of its case`)
        }
        c.run(AUDIT_SQL.insertAudit, params)
      }),
    )
  }

  list(caseId: string, options?: { afterSeq?: number; limit?: number }): Promise<AuditEntryRecord[]> {
    return this.#db.run((c) => c.all(AUDIT_SQL.listAudit, auditListParams(caseId, options)).map(auditFromRow))
  }

  last(caseId: string): Promise<AuditEntryRecord | undefined> {
    return this.#db.run((c) => optional(c.get(AUDIT_SQL.lastAudit, caseId), auditFromRow))
  }

  listCaseIds(): Promise<string[]> {
    return this.#db.run((c) => c.all(AUDIT_SQL.listAuditCaseIds).map((row) => row['case_id'] as string))
  }
}

class SqliteMetricsQueries implements MetricsQueries {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  countShares(now: number): Promise<ShareCount[]> {
    return this.#db.run((c) => {
      if (!Number.isSafeInteger(now)) throw new TypeError('now must be an integer (Unix seconds)')
      return c.all(OPERATIONS_SQL.countShares, { now }).map((row) => ({
        direction: row['direction'] as ShareCount['direction'],
        status: row['status'] as ShareCount['status'],
        count: Number(row['count']),
      }))
    })
  }
}

class SqliteNotificationRepository implements NotificationRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(notification: NotificationRecord): Promise<boolean> {
    return this.#db.run((c) => c.run(NOTIFICATION_SQL.insertNotification, notificationParams(notification)) === 1)
  }

  upsert(notification: NotificationRecord): Promise<void> {
    return this.#db.run((c) => void c.run(NOTIFICATION_SQL.upsertNotification, notificationParams(notification)))
  }

  get(inboundId: string, revision: number, channel: NotificationChannel): Promise<NotificationRecord | undefined> {
    return this.#db.run((c) => optional(c.get(NOTIFICATION_SQL.getNotification, inboundId, revision, channel), notificationFromRow))
  }

  list(inboundId: string): Promise<NotificationRecord[]> {
    return this.#db.run((c) => c.all(NOTIFICATION_SQL.listNotifications, inboundId).map(notificationFromRow))
  }
}

class SqliteLinkShareRepository implements LinkShareRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(record: LinkShareRecord): Promise<void> {
    return this.#db.run((c) => void c.run(LINK_SQL.insertLinkShare, linkShareParams(record)))
  }

  get(id: string): Promise<LinkShareRecord | undefined> {
    return this.#db.run((c) => optional(c.get(LINK_SQL.getLinkShare, id), linkShareFromRow))
  }

  findByTokenHash(tokenHash: string): Promise<LinkShareRecord | undefined> {
    return this.#db.run((c) => optional(c.get(LINK_SQL.findLinkShareByTokenHash, tokenHash), linkShareFromRow))
  }

  list(caseId: string): Promise<LinkShareRecord[]> {
    return this.#db.run((c) => c.all(LINK_SQL.listLinkShares, caseId).map(linkShareFromRow))
  }

  complete(id: string, built: LinkPackageRecord, members: readonly LinkShareMember[], at: number): Promise<boolean> {
    return this.#db.run((c) =>
      c.atomic(() => {
        if (c.run(LINK_SQL.completeLinkShare, completeLinkShareParams(id, built, at)) === 0) return false
        members.forEach((member, position) => c.run(LINK_SQL.insertLinkShareMember, linkShareMemberParams(id, position, member)))
        return true
      }),
    )
  }

  fail(id: string, reason: string, at: number): Promise<boolean> {
    return this.#db.run((c) => c.run(LINK_SQL.failLinkShare, reason, at, id) > 0)
  }

  revoke(id: string, by: string, at: number): Promise<boolean> {
    return this.#db.run((c) => c.run(LINK_SQL.revokeLinkShare, by, at, at, id) > 0)
  }

  listMembers(id: string): Promise<LinkShareMember[]> {
    return this.#db.run((c) => c.all(LINK_SQL.listLinkShareMembers, id).map(linkShareMemberFromRow))
  }

  getOffer(id: string): Promise<LinkShareOffer | undefined> {
    return this.#db.run((c) => optional(c.get(INBOUND_PACKAGE_SQL.getLinkShareOffer, id), linkShareOfferFromRow))
  }

  setOffer(id: string, jws: string, at: number): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(INBOUND_PACKAGE_SQL.setLinkShareOffer, jws, at, id) === 0) throw notFound(`link share ${id}`)
    })
  }

  markOffered(id: string, at: number): Promise<boolean> {
    return this.#db.run((c) => c.run(INBOUND_PACKAGE_SQL.markLinkShareOffered, at, at, id) > 0)
  }

  setTokenHash(id: string, tokenHash: string): Promise<void> {
    return this.#db.run((c) => {
      if (c.run(LINK_SQL.setLinkShareTokenHash, tokenHash, id) === 0) throw notFound(`link share ${id}`)
    })
  }
}

class SqliteInboundPackageRepository implements InboundPackageRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(record: InboundPackageRecord): Promise<void> {
    return this.#db.run((c) => void c.run(INBOUND_PACKAGE_SQL.insert, inboundPackageParams(record)))
  }

  get(id: string): Promise<InboundPackageRecord | undefined> {
    return this.#db.run((c) => optional(c.get(INBOUND_PACKAGE_SQL.get, id), inboundPackageFromRow))
  }

  find(senderOrg: string, packageId: string): Promise<InboundPackageRecord | undefined> {
    return this.#db.run((c) => optional(c.get(INBOUND_PACKAGE_SQL.find, senderOrg, packageId), inboundPackageFromRow))
  }

  list(): Promise<InboundPackageRecord[]> {
    return this.#db.run((c) => c.all(INBOUND_PACKAGE_SQL.list).map(inboundPackageFromRow))
  }

  listVisible(viewer: CaseViewer, page: PageRequest): Promise<Page<InboundPackageRecord>> {
    return this.#db.run((c) => pageOf(c.all(INBOUND_PACKAGE_SQL.listVisible, caseViewerParams(viewer, page)), page.limit, inboundPackageFromRow))
  }

  complete(id: string, received: { senderName: string; caseId: string; chunkSize: number; chunks: readonly string[] }, at: number): Promise<boolean> {
    return this.#db.run((c) => c.run(INBOUND_PACKAGE_SQL.complete, completeInboundPackageParams(id, received, at)) > 0)
  }

  refuse(id: string, reason: string, at: number): Promise<boolean> {
    return this.#db.run((c) => c.run(INBOUND_PACKAGE_SQL.refuse, reason, at, id) > 0)
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.#db.run((c) => c.run(INBOUND_PACKAGE_SQL.revoke, at, at, id) > 0)
  }
}

class SqliteOutbox implements Outbox {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  append(entries: readonly OutboxEntry[]): Promise<void> {
    return this.#db.run((c) => {
      const params = entries.map(outboxParams)
      c.atomic(() => {
        for (const row of params) c.run(OUTBOX_SQL.insert, row)
      })
    })
  }

  list(consumer: string, limit: number, afterSeq = 0): Promise<ListedOutboxEntry[]> {
    return this.#db.run((c) => {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer')
      if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new TypeError('afterSeq must be a non-negative integer')
      return c.all(OUTBOX_SQL.list, consumer, afterSeq, limit).map(outboxFromRow)
    })
  }

  delete(consumer: string, eventId: string): Promise<boolean> {
    return this.#db.run((c) => c.run(OUTBOX_SQL.delete, consumer, eventId) > 0)
  }
}

/** The repositories over one access: the store's own, or a transaction's. */
class SqliteRepositories implements Repositories {
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

  constructor(db: Access) {
    this.tokens = new SqliteTokenRepository(db)
    this.partners = new SqlitePartnerRepository(db)
    this.policies = new SqlitePolicyRepository(db)
    this.cases = new SqliteCaseRepository(db)
    this.outboundShares = new SqliteOutboundShareRepository(db)
    this.inboundShares = new SqliteInboundShareRepository(db)
    this.replay = new SqliteReplayRepository(db)
    this.quotas = new SqliteQuotaRepository(db)
    this.chunks = new SqliteChunkRepository(db)
    this.jobs = new SqliteJobQueue(db)
    this.principals = new SqlitePrincipalRepository(db)
    this.audit = new SqliteAuditLog(db)
    this.metrics = new SqliteMetricsQueries(db)
    this.notifications = new SqliteNotificationRepository(db)
    this.linkShares = new SqliteLinkShareRepository(db)
    this.inboundPackages = new SqliteInboundPackageRepository(db)
    this.outbox = new SqliteOutbox(db)
  }
}

/**
 * The repositories run directly on the connection: the store's own instance under its mutex
 * (its transaction begins one), or one transaction's (its transaction is a savepoint).
 */
class SqliteUnitOfWork extends SqliteRepositories implements UnitOfWork {
  readonly access: DirectAccess
  readonly #c: Connection
  readonly #scope: { open: boolean; nested: boolean }

  constructor(connection: Connection, scope: { open: boolean; nested: boolean }) {
    const access = new DirectAccess(connection, scope)
    super(access)
    this.access = access
    this.#c = connection
    this.#scope = scope
  }

  async transaction<T>(work: (unit: SqliteUnitOfWork) => Promise<T>): Promise<T> {
    if (typeof work !== 'function') throw new TypeError('work must be a function')
    if (!this.#scope.open) throw new Error('transaction store used after its transaction ended')
    const nested = this.#c.db.isTransaction
    if (nested) {
      if (this.#scope.nested) throw new Error('nested transactions cannot run concurrently')
      this.#scope.nested = true
    }
    const scope = { open: true, nested: false }
    try {
      let end: (commit: boolean) => void
      try {
        end = this.#c.begin()
      } catch (err) {
        throw translateError(err)
      }
      let result: T
      try {
        result = await work(new SqliteUnitOfWork(this.#c, scope))
      } catch (err) {
        end(false)
        throw err
      }
      crashPoint('store.before-commit')
      try {
        end(true)
      } catch (err) {
        throw translateError(err)
      }
      crashPoint('store.after-commit')
      return result
    } finally {
      scope.open = false
      if (nested) this.#scope.nested = false
    }
  }
}

/** Why a job's outcome could not be recorded: unknown, or no longer held by the caller. */
function lostJob(c: Connection, id: string): RequestError {
  if (c.get(SQL.jobExists, id) === undefined) return notFound('job')
  return new RequestError('CW_ERR_CONFLICT', 'job is no longer held by this replica: its lease ran out and another took it over')
}

function byDigest(a: { digest: string }, b: { digest: string }): number {
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0
}

function optional<T>(row: Row | undefined, map: (row: Row) => T): T | undefined {
  return row === undefined ? undefined : map(row)
}

/**
 * How long a group-committed write waits for others to share its commit. A commit with fsync
 * blocks the event loop for about half a millisecond; ten thousand small chunks made that
 * seconds per share on each side. With eight chunks in flight, a millisecond gathers most of them.
 */
export const GROUP_COMMIT_WINDOW_MS = 1

/** Event-loop turns a group of transactions waits for more to join before it commits. */
const GROUP_COMMIT_MAX_TURNS = 4

/** A write waiting for the next group commit. */
interface GroupedWrite {
  write: (c: Connection) => void
  resolve: () => void
  reject: (error: unknown) => void
}

interface QueuedTransaction {
  work: (unit: UnitOfWork) => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * The store's own access: every call waits its turn on the mutex; transactions and per-chunk
 * writes are group-committed.
 */
class StoreTurns implements Access {
  readonly #connection: Connection
  readonly #direct: SqliteUnitOfWork
  /** Marks the async context of a transaction in progress, to catch calls that would deadlock. */
  readonly #inTransaction = new AsyncLocalStorage<{ open: boolean }>()
  #tail: Promise<unknown> = Promise.resolve()
  #closed = false
  #grouped: GroupedWrite[] = []
  #groupTimer: NodeJS.Timeout | undefined
  /** Transactions waiting for their turn; one queued commit takes all of them. */
  #queued: QueuedTransaction[] = []

  constructor(connection: Connection) {
    this.#connection = connection
    this.#direct = new SqliteUnitOfWork(connection, { open: true, nested: false })
  }

  run<T>(fn: (c: Connection) => T): Promise<T> {
    return this.#locked((s) => s.access.run(fn))
  }

  grouped(fn: (c: Connection) => void): Promise<void> {
    return this.#groupCommitted(fn)
  }

  #locked<T>(fn: (store: SqliteUnitOfWork) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('metadata store is closed'))
    if (this.#inTransaction.getStore()?.open === true) {
      // It would wait for the transaction, which waits for it: fail loudly instead of hanging.
      return Promise.reject(new Error('metadata store called inside its own transaction; use the store passed to work'))
    }
    const result = this.#tail.then(() => fn(this.#direct))
    this.#tail = result.catch(() => undefined)
    return result
  }

  /**
   * Queues `write` for the next group commit: one transaction with every write queued within
   * the window. A write that fails (a constraint) fails alone, as its own statement would; the
   * others still commit. Resolves once the commit is durable.
   */
  #groupCommitted(write: (c: Connection) => void): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('metadata store is closed'))
    if (this.#inTransaction.getStore()?.open === true) {
      return Promise.reject(new Error('metadata store called inside its own transaction; use the store passed to work'))
    }
    return new Promise<void>((resolve, reject) => {
      this.#grouped.push({ write, resolve, reject })
      this.#groupTimer ??= setTimeout(() => void this.#flushGroup(), GROUP_COMMIT_WINDOW_MS)
    })
  }

  #flushGroup(): Promise<void> {
    clearTimeout(this.#groupTimer)
    this.#groupTimer = undefined
    const batch = this.#grouped
    if (batch.length === 0) return Promise.resolve()
    this.#grouped = []
    const outcomes: Array<{ failed: false } | { failed: true; error: unknown }> = []
    return this.#locked((s) =>
      s.transaction(async (tx) => {
        for (const { write } of batch) {
          outcomes.push(
            await tx.access.run(write).then(
              () => ({ failed: false as const }),
              (error: unknown) => ({ failed: true as const, error }),
            ),
          )
        }
      }),
    ).then(
      () =>
        batch.forEach(({ resolve, reject }, index) => {
          const outcome = outcomes[index]!
          if (outcome.failed) reject(outcome.error)
          else resolve()
        }),
      (error: unknown) => batch.forEach(({ reject }) => reject(error)),
    )
  }

  /**
   * Runs `work` in a transaction. While the store is busy, transactions queue; when their turn
   * comes they commit together (see the module comment). Each one sees the writes of those
   * before it, as if they had committed first; one that fails is rolled back alone; each
   * resolves only once the commit is durable, and all fail if it fails.
   */
  transaction<T>(work: (unit: UnitOfWork) => Promise<T>): Promise<T> {
    if (typeof work !== 'function') return Promise.reject(new TypeError('work must be a function'))
    if (this.#closed) return Promise.reject(new Error('metadata store is closed'))
    if (this.#inTransaction.getStore()?.open === true) {
      return Promise.reject(new Error('metadata store called inside its own transaction; use the store passed to work'))
    }
    return new Promise<T>((resolve, reject) => {
      this.#queued.push({ work, resolve: resolve as (value: unknown) => void, reject })
      // The first one queued books the turn; the others ride along.
      if (this.#queued.length === 1) void this.#locked((s) => this.#commitQueued(s))
    })
  }

  async #commitQueued(s: SqliteUnitOfWork): Promise<void> {
    if (this.#queued.length === 0) return // an earlier commit took them along
    const batch: QueuedTransaction[] = []
    const outcomes: Array<{ failed: false; value: unknown } | { failed: true; error: unknown }> = []
    await s
      .transaction(async (tx) => {
        for (let turn = 0; turn < GROUP_COMMIT_MAX_TURNS && this.#queued.length > 0; turn++) {
          const taken = this.#queued
          this.#queued = []
          for (const queued of taken) {
            batch.push(queued)
            outcomes.push(
              await this.#inOwnTransaction(() => tx.transaction(queued.work)).then(
                (value) => ({ failed: false as const, value }),
                (error: unknown) => ({ failed: true as const, error }),
              ),
            )
          }
          // A commit's fsync blocks the event loop, so nothing can queue during it: one turn of the
          // loop first lets the transactions already on their way (an upload whose blob just landed) join.
          await new Promise((resolve) => setImmediate(resolve))
        }
      })
      .then(
        () =>
          batch.forEach(({ resolve, reject }, index) => {
            const outcome = outcomes[index]!
            if (outcome.failed) reject(outcome.error)
            else resolve(outcome.value)
          }),
        (error: unknown) => batch.forEach(({ reject }) => reject(error)),
      )
  }

  /** Runs `fn` marked as a transaction's context, so that a call to this store from within it fails instead of deadlocking. */
  #inOwnTransaction<T>(fn: () => Promise<T>): Promise<T> {
    const marker = { open: true }
    return this.#inTransaction.run(marker, fn).finally(() => {
      marker.open = false
    })
  }

  /** Waits for queued calls, then closes the database. Later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return
    // Writes already queued for a group commit are committed, not dropped.
    await this.#flushGroup()
    this.#closed = true
    await this.#tail
    this.#connection.db.close()
  }
}

/** The store handed out by {@link openSqliteMetadataStore}: every call waits its turn. */
class SqliteMetadataStore extends SqliteRepositories implements MetadataStore {
  readonly #turns: StoreTurns

  constructor(db: DatabaseSync) {
    const turns = new StoreTurns(new Connection(db))
    super(turns)
    this.#turns = turns
  }

  transaction<T>(work: (unit: UnitOfWork) => Promise<T>): Promise<T> {
    return this.#turns.transaction(work)
  }

  ping(): Promise<void> {
    return this.#turns.run((c) => {
      if (c.get(OPERATIONS_SQL.ping)?.['ok'] !== 1) throw new Error('metadata store answered the ping wrongly')
    })
  }

  close(): Promise<void> {
    return this.#turns.close()
  }
}
