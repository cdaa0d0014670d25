/**
 * The metadata store on PostgreSQL (`pg`), for several replicas of one organization's node
 * sharing one database. It keeps the contract of the SQLite store (`../sqlite/`) — the same
 * results, orderings and errors, checked by one contract suite run against both — without
 * SQLite's single writer: any number of connections, in this process and in other replicas,
 * write at once.
 *
 * Isolation: READ COMMITTED, PostgreSQL's default. A method with one statement is atomic by
 * itself; a method with several runs them in one transaction (or a savepoint inside the caller's
 * transaction). What reads and then writes takes a lock (or relies on a conditional statement or
 * a unique index) instead of a stricter isolation level: each repository's doc in
 * `../metadata_store.ts` says which.
 *
 * `transaction(work)` hands `work` the repositories bound to one pooled client between BEGIN and
 * COMMIT (ROLLBACK when it throws); nested transactions are savepoints. As with SQLite, calling
 * the outer store from inside `work` is refused (it would not see the transaction's writes, and with every pooled
 * client in a transaction it would wait forever).
 *
 * Constraint violations surface as `RequestError('CW_ERR_CONFLICT')`, wrongly typed fields as
 * `TypeError`, updates of unknown records as `RequestError('CW_ERR_NOT_FOUND')`.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { ConnectionOptions } from 'node:tls'
import pg from 'pg'
import { RequestError, type Recipient } from '#protocol'
import type {
  AddedRecipientRecord,
  AppliedStateRecord,
  AppliedStateVersion,
  AuditEntryRecord,
  CaseAccessRecord,
  CaseRecord,
  ControlShareRecord,
  EvidenceRecord,
  FolderRecord,
  GroupRecord,
  HeldBackItem,
  InboundRevisionRecord,
  InboundRevisionState,
  InboundShareRecord,
  InboundShareWithManifest,
  InboundShareState,
  CaseViewer,
  InboundShareViewer,
  Page,
  PageRequest,
  VisibleInboundShare,
  JobClaim,
  JobRecord,
  LinkPackageRecord,
  InboundPackageRecord,
  LinkShareMember,
  LinkShareOffer,
  LinkShareRecord,
  ListedOutboxEntry,
  MetadataStore,
  NotificationChannel,
  NotificationRecord,
  OutboundRevisionRecord,
  OutboundShareRecord,
  OutboundShareState,
  OutboundStatus,
  OutboundTransferRecord,
  OutboxEntry,
  PartnerRecord,
  PartnerUsage,
  PolicyRecord,
  RevocationTombstoneRecord,
  ShareCount,
  TokenRecord,
  TransferChunk,
  UserRecord,
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
import { auditFromRow, auditListParams, auditParams } from '../sqlite/audit.ts'
import { controlShareFromRow, controlShareParams, revocationTombstoneFromRow, revocationTombstoneParams } from '../sqlite/control_shares.ts'
import { completeLinkShareParams, linkShareFromRow, linkShareMemberFromRow, linkShareMemberParams, linkShareParams } from '../sqlite/link_shares.ts'
import { addedRecipientFromRow, addedRecipientParams, notificationFromRow, notificationParams } from '../sqlite/notifications.ts'
import { outboxFromRow, outboxParams } from '../sqlite/outbox.ts'
import { caseAccessFromRow, caseAccessParams, groupFromRow, groupParams, userFromRow, userParams } from '../sqlite/principals.ts'
import {
  appliedStateFromRow,
  appliedStateParams,
  appliedStateVersionFromRow,
  inboundRevisionFromRow,
  inboundRevisionParams,
  inboundRevisionStateFromRow,
} from '../sqlite/revisions.ts'
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
  outboundShareParams,
  outboundShareStateFromRow,
  partnerFromRow,
  partnerParams,
  policyFromRow,
  policyParams,
  toJson,
  tokenFromRow,
  tokenParams,
  type Row,
} from '../sqlite/rows.ts'
import { heldBackFromRow, transferFromRow } from '../sqlite/transfers.ts'
import { completeInboundPackageParams, inboundPackageFromRow, inboundPackageParams, linkShareOfferFromRow } from '../sqlite/inbound_packages.ts'
import { AUDIT_SQL, CONTROL_SQL, INBOUND_PACKAGE_SQL, LINK_SQL, NOTIFICATION_SQL, OUTBOX_SQL, PRINCIPAL_SQL, REVISION_SQL, TRANSFER_SQL } from './aggregates.ts'
import { CHUNK_REFERENCE_SOURCES, FORGET_DELIVERED_SQL, SHARES_NAMING_SQL } from './chunk_references.ts'
import { ClientSession, PoolSession, TYPES, inTransaction, type Session } from './connection.ts'
import { JOB_SQL } from './jobs.ts'
import { checkSchemaVersion, migrate } from './migrations.ts'
import { OPERATIONS_SQL, REVOCATION_SQL, SQL } from './statements.ts'

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/

/** Connections per replica when the configuration names none. */
export const DEFAULT_POOL_SIZE = 10

export interface OpenPostgresOptions {
  /** `postgres://user:password@host:port/database` (the password is never logged). */
  url: string
  /** Connections this replica keeps at most. */
  poolSize?: number
  /** TLS towards the server, as `tls.connect` takes it (absent: as the URL says, `?sslmode=…`). */
  tls?: ConnectionOptions
  /**
   * Read only (`caseway audit verify` next to running replicas): nothing is migrated, the schema
   * must be this version's, and every transaction is read-only.
   */
  readOnly?: boolean
}

/**
 * Opens a pool on the database at `options.url` and brings its schema up to date (replicas
 * opening at once take turns: see `migrations.ts`).
 */
export async function openPostgresMetadataStore(options: OpenPostgresOptions): Promise<MetadataStore> {
  if (typeof options?.url !== 'string' || !/^postgres(?:ql)?:\/\//.test(options.url)) throw new TypeError('url must be a postgres:// URL')
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) throw new TypeError('poolSize must be a positive integer')
  const readOnly = options.readOnly === true
  const pool = new pg.Pool({
    connectionString: options.url,
    max: poolSize,
    types: TYPES,
    ...(options.tls === undefined ? {} : { ssl: options.tls }),
    ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  })
  // An idle connection that breaks is dropped by the pool; the next query that needs it reports.
  pool.on('error', () => undefined)
  try {
    const client = await pool.connect()
    try {
      if (readOnly) await checkSchemaVersion(client)
      else await migrate(client)
    } finally {
      client.release()
    }
  } catch (err) {
    await pool.end()
    throw err
  }
  return new PostgresMetadataStore(pool)
}

/** What the store handed out by {@link openPostgresMetadataStore} owns; its units of work have none. */
interface Root {
  readonly pool: pg.Pool
  closed: boolean
  /** Calls in flight, which close waits for. */
  readonly calls: Set<Promise<unknown>>
  /** Marks the async context of a transaction in progress, to refuse calls to the outer store from it. */
  readonly inTransaction: AsyncLocalStorage<{ open: boolean }>
}

/** A unit of work's lifetime. */
interface Scope {
  open: boolean
  nested: boolean
}

function notFound(what: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `${what} not found`)
}

function first<T>(rows: Row[], map: (row: Row) => T): T | undefined {
  return rows.length === 0 ? undefined : map(rows[0]!)
}

/** Why a job's outcome could not be recorded: unknown, or no longer held by the caller. */
async function lostJob(s: Session, id: string): Promise<RequestError> {
  if ((await s.rows(JOB_SQL.jobExists, { id })).length === 0) return notFound('job')
  return new RequestError('CW_ERR_CONFLICT', 'job is no longer held by this replica: its lease ran out and another took it over')
}

/** How a repository reaches the database: through the pool, or one transaction's client. */
interface Access {
  run<T>(fn: (session: Session) => Promise<T>): Promise<T>
  /** Whether it runs inside a transaction (where reading an audit chain's end locks the chain). */
  readonly inTransaction: boolean
}

/**
 * Runs statements on a session: the pool's (the store's own, which `close` waits for) or one
 * transaction's client (which stops working when the transaction ends).
 */
class SessionAccess implements Access {
  readonly session: Session
  readonly #root: Root | undefined
  readonly #scope: Scope

  constructor(session: Session, root: Root | undefined, scope: Scope) {
    this.session = session
    this.#root = root
    this.#scope = scope
  }

  get inTransaction(): boolean {
    return this.#root === undefined
  }

  refusal(): Error | undefined {
    const root = this.#root
    if (root === undefined) return this.#scope.open ? undefined : new Error('transaction store used after its transaction ended')
    if (root.closed) return new Error('metadata store is closed')
    if (root.inTransaction.getStore()?.open === true) {
      return new Error('metadata store called inside its own transaction; use the store passed to work')
    }
    return undefined
  }

  run<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const refusal = this.refusal()
    if (refusal !== undefined) return Promise.reject(refusal)
    let result: Promise<T>
    try {
      result = fn(this.session)
    } catch (err) {
      return Promise.reject(err)
    }
    const calls = this.#root?.calls
    if (calls !== undefined) {
      const settled = result.catch(() => undefined)
      calls.add(settled)
      void settled.then(() => calls.delete(settled))
    }
    return result
  }
}

class PostgresTokenRepository implements TokenRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(token: TokenRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertToken, tokenParams(token))))
  }

  findByHash(hash: string): Promise<TokenRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.findTokenByHash, { hash }), tokenFromRow))
  }

  get(id: string): Promise<TokenRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getToken, { id }), tokenFromRow))
  }

  list(userId?: string): Promise<TokenRecord[]> {
    return this.#db.run(async (s) =>
      (userId === undefined ? await s.rows(SQL.listTokens) : await s.rows(SQL.listUserTokens, { user_id: userId })).map(tokenFromRow),
    )
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(SQL.revokeToken, { id, at })) > 0)
  }

  revokeOfUser(userId: string, at: number): Promise<string[]> {
    return this.#db.run(async (s) => (await s.rows(SQL.revokeUserTokens, { user_id: userId, at })).map((row) => String(row['id'])))
  }

  touch(id: string, at: number): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.touchToken, { id, at })))
  }
}

class PostgresPartnerRepository implements PartnerRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  upsert(partner: PartnerRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.upsertPartner, partnerParams(partner))))
  }

  get(org: string): Promise<PartnerRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getPartner, { org }), partnerFromRow))
  }

  list(): Promise<PartnerRecord[]> {
    return this.#db.run(async (s) => (await s.rows(SQL.listPartners)).map(partnerFromRow))
  }

  recordContact(org: string, at: number): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.recordPartnerContact, { org, at })))
  }

  listContacts(): Promise<Map<string, number>> {
    return this.#db.run(async (s) => new Map((await s.rows(SQL.listPartnerContacts)).map((row) => [row['org'] as string, Number(row['last_contact_at'])])))
  }

  setVersions(org: string, versions: readonly string[], learnedAt: number): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(CONTROL_SQL.setPartnerVersions, { org, versions: JSON.stringify(versions), learned_at: learnedAt })))
  }

  getVersions(org: string): Promise<string[] | undefined> {
    return this.#db.run(async (s) => first(await s.rows(CONTROL_SQL.getPartnerVersions, { org }), (row) => JSON.parse(row['versions'] as string) as string[]))
  }
}

class PostgresPolicyRepository implements PolicyRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(policy: PolicyRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertPolicy, policyParams(policy))))
  }

  get(id: string, version?: number): Promise<PolicyRecord | undefined> {
    return this.#db.run(async (s) =>
      first(version === undefined ? await s.rows(SQL.getPolicyLatest, { id }) : await s.rows(SQL.getPolicyVersion, { id, version }), policyFromRow),
    )
  }

  list(): Promise<PolicyRecord[]> {
    return this.#db.run(async (s) => (await s.rows(SQL.listPolicies)).map(policyFromRow))
  }
}

class PostgresCaseRepository implements CaseRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(record: CaseRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertCase, caseParams(record))))
  }

  updateFields(id: string, fields: Record<string, string | string[]>, updatedAt: number): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(SQL.updateCaseFields, { id, fields: toJson(fields), updated_at: updatedAt })) === 0) throw notFound('case')
    })
  }

  get(id: string): Promise<CaseRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getCase, { id }), caseFromRow))
  }

  list(): Promise<CaseRecord[]> {
    return this.#db.run(async (s) => (await s.rows(SQL.listCases)).map(caseFromRow))
  }

  listVisible(viewer: CaseViewer, page: PageRequest): Promise<Page<CaseRecord>> {
    return this.#db.run(async (s) => pageOf(await s.rows(SQL.listVisibleCases, caseViewerParams(viewer, page)), page.limit, caseFromRow))
  }

  insertFolder(folder: FolderRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertFolder, folderParams(folder))))
  }

  listFolders(caseId: string): Promise<FolderRecord[]> {
    return this.#db.run(async (s) => (await s.rows(SQL.listFolders, { case_id: caseId })).map(folderFromRow))
  }

  insertEvidence(evidence: EvidenceRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertEvidence, evidenceParams(evidence))))
  }

  getEvidence(id: string): Promise<EvidenceRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getEvidence, { id }), evidenceFromRow))
  }

  listEvidence(caseId: string): Promise<EvidenceRecord[]> {
    return this.#db.run(async (s) => (await s.rows(SQL.listEvidence, { case_id: caseId })).map(evidenceFromRow))
  }

  setAccess(access: CaseAccessRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(PRINCIPAL_SQL.setCaseAccess, caseAccessParams(access))))
  }

  getAccess(caseId: string): Promise<CaseAccessRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(PRINCIPAL_SQL.getCaseAccess, { case_id: caseId }), caseAccessFromRow))
  }

  findImportedFrom(inboundId: string): Promise<CaseRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(PRINCIPAL_SQL.findCaseImportedFrom, { inbound_id: inboundId }), caseFromRow))
  }

  deleteEvidence(id: string): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(REVISION_SQL.deleteEvidence, { id })) === 0) throw notFound('evidence')
    })
  }
}

class PostgresOutboundShareRepository implements OutboundShareRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(share: OutboundShareRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertOutboundShare, outboundShareParams(share))))
  }

  updateStatus(id: string, status: OutboundStatus, code: string | null, detail: string | null, at: number): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(SQL.updateOutboundStatus, { id, status, code: code ?? null, detail: detail ?? null, at })) === 0) throw notFound('outbound share')
    })
  }

  get(id: string): Promise<OutboundShareRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getOutboundShare, { id }), outboundShareFromRow))
  }

  getState(id: string): Promise<OutboundShareState | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getOutboundShareState, { id }), outboundShareStateFromRow))
  }

  list(caseId?: string): Promise<OutboundShareRecord[]> {
    return this.#db.run(async (s) =>
      (caseId === undefined ? await s.rows(SQL.listOutboundShares) : await s.rows(SQL.listOutboundSharesOfCase, { case_id: caseId })).map(outboundShareFromRow),
    )
  }

  listOfCase(caseId: string, page: PageRequest): Promise<Page<OutboundShareRecord>> {
    return this.#db.run(async (s) =>
      pageOf(await s.rows(SQL.listOutboundSharesOfCasePage, { case_id: caseId, ...pageParams(page) }), page.limit, outboundShareFromRow),
    )
  }

  insertRevision(revision: OutboundRevisionRecord, chunkDigests: Iterable<string>): Promise<void> {
    return this.#db.run((s) => {
      const params = outboundRevisionParams(revision)
      const digests = [...chunkDigests]
      for (const digest of digests) {
        if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest)) throw new TypeError('chunk digest must be sha256:<64 hex>')
      }
      return s.atomic(async (s) => {
        await s.run(SQL.insertOutboundRevision, params)
        await s.run(SQL.advanceOutboundRevision, { id: revision.shareId, revision: revision.revision, at: revision.createdAt })
        if (digests.length > 0) await s.run(SQL.insertShareChunks, { share_id: revision.shareId, digests })
      })
    })
  }

  getRevision(shareId: string, revision: number): Promise<OutboundRevisionRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getOutboundRevision, { share_id: shareId, revision }), outboundRevisionFromRow))
  }

  setReceipt(shareId: string, revision: number, receiptJws: string): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(SQL.setOutboundReceipt, { share_id: shareId, revision, receipt_jws: receiptJws })) === 0) throw notFound('outbound revision')
    })
  }

  insertHeldBack(shareId: string, revision: number, items: readonly HeldBackItem[]): Promise<void> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        if (items.length === 0) return
        await s.run(TRANSFER_SQL.insertHeldBack, {
          share: shareId,
          revision,
          evidence_ids: items.map((item) => item.evidenceId),
          names: items.map((item) => item.name),
          reasons: items.map((item) => item.reason),
        })
      }),
    )
  }

  listHeldBack(shareId: string, revision: number): Promise<HeldBackItem[]> {
    return this.#db.run(async (s) => (await s.rows(TRANSFER_SQL.listHeldBack, { share: shareId, revision })).map(heldBackFromRow))
  }

  startTransfer(shareId: string, revision: number, chunks: readonly TransferChunk[]): Promise<void> {
    return this.#db.run((s) => {
      for (const { digest, size } of chunks) {
        if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest)) throw new TypeError('chunk digest must be sha256:<64 hex>')
        if (!Number.isSafeInteger(size) || size < 0) throw new TypeError('chunk size must be an integer ≥ 0')
      }
      return s.atomic(async (s) => {
        await s.run(TRANSFER_SQL.insertTransfer, { share: shareId, revision })
        if (chunks.length > 0) {
          const [digests, sizes] = [chunks.map((chunk) => chunk.digest), chunks.map((chunk) => chunk.size)]
          await s.run(TRANSFER_SQL.insertTransferChunks, { share: shareId, revision, digests, sizes })
        }
        await s.run(TRANSFER_SQL.totalTransfer, { share: shareId, revision })
      })
    })
  }

  recordChunkServed(shareId: string, digest: string): Promise<void> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        const [served] = await s.rows(TRANSFER_SQL.markChunkServed, { share: shareId, digest })
        if (served !== undefined)
          await s.run(TRANSFER_SQL.countChunkServed, { share: shareId, revision: served['revision'] as number, size: served['size'] as number })
      }),
    )
  }

  getTransfer(shareId: string, revision: number): Promise<OutboundTransferRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(TRANSFER_SQL.getTransfer, { share: shareId, revision }), transferFromRow))
  }

  isChunkServable(partnerOrg: string, shareId: string, digest: string, now: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.rows(SQL.isChunkServable, { partner: partnerOrg, share: shareId, digest, now })).length > 0)
  }

  servableChunks(partnerOrg: string, shareId: string, digests: readonly string[], now: number): Promise<Set<string>> {
    if (digests.length === 0) return Promise.resolve(new Set())
    return this.#db.run(
      async (s) => new Set((await s.rows(SQL.servableChunks, { partner: partnerOrg, share: shareId, digests, now })).map((row) => row['digest'] as string)),
    )
  }

  listDerivedFrom(inboundId: string): Promise<OutboundShareRecord[]> {
    return this.#db.run(async (s) => (await s.rows(REVOCATION_SQL.listOutboundSharesDerivedFrom, { inbound_id: inboundId })).map(outboundShareFromRow))
  }

  advance(id: string, revision: number, recipients: Recipient[], evidenceIds: string[], at: number): Promise<void> {
    return this.#db.run(async (s) => {
      if (!Number.isSafeInteger(revision) || revision < 2) throw new TypeError('revision must be an integer ≥ 2')
      const params = { id, revision, recipients: toJson(recipients), evidence_ids: toJson(evidenceIds), at }
      if ((await s.run(REVISION_SQL.advanceOutboundShare, params)) === 0) throw notFound('outbound share')
    })
  }

  insertControlShare(record: ControlShareRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(CONTROL_SQL.insertControlShare, controlShareParams(record))))
  }

  getControlShare(shareId: string): Promise<ControlShareRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(CONTROL_SQL.getControlShare, { share_id: shareId }), controlShareFromRow))
  }
}

class PostgresInboundShareRepository implements InboundShareRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(share: InboundShareWithManifest): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertInboundShare, inboundShareParams(share))))
  }

  update(share: InboundShareRecord | InboundShareWithManifest): Promise<void> {
    return this.#db.run(async (s) => {
      // A digest names one payload, and its JWS is the one first accepted: the manifest columns
      // (tens of MB for a large share) are written only when the manifest changes.
      if ((await s.run(SQL.updateInboundShareKeepingManifest, inboundShareParamsKeepingManifest(share))) > 0) return
      if ((await s.rows(SQL.getInboundShareState, { id: share.id })).length === 0) throw notFound('inbound share')
      await s.run(SQL.updateInboundShare, inboundShareParams(withManifestJws(share)))
    })
  }

  get(id: string): Promise<InboundShareRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getInboundShare, { id }), inboundShareFromRow))
  }

  getState(id: string): Promise<InboundShareState | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.getInboundShareState, { id }), inboundShareStateFromRow))
  }

  findStateByDigest(senderOrg: string, digest: string): Promise<InboundShareState | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.findInboundShareStateByDigest, { sender_org: senderOrg, digest }), inboundShareStateFromRow))
  }

  find(senderOrg: string, shareId: string): Promise<InboundShareRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(SQL.findInboundShare, { sender_org: senderOrg, share_id: shareId }), inboundShareFromRow))
  }

  list(): Promise<InboundShareRecord[]> {
    return this.#db.run(async (s) => (await s.rows(SQL.listInboundShares)).map(inboundShareFromRow))
  }

  listVisible(viewer: InboundShareViewer, page: PageRequest): Promise<Page<VisibleInboundShare>> {
    return this.#db.run(async (s) =>
      pageOf(await s.rows(SQL.listVisibleInboundShares, inboundShareViewerParams(viewer, page)), page.limit, visibleInboundShareFromRow),
    )
  }

  insertAddedRecipient(recipient: AddedRecipientRecord): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(NOTIFICATION_SQL.insertAddedRecipient, addedRecipientParams(recipient))) === 1)
  }

  listAddedRecipients(inboundId: string): Promise<AddedRecipientRecord[]> {
    return this.#db.run(async (s) => (await s.rows(NOTIFICATION_SQL.listAddedRecipients, { inbound_id: inboundId })).map(addedRecipientFromRow))
  }

  insertRevision(revision: InboundRevisionRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(REVISION_SQL.insertInboundRevision, inboundRevisionParams(revision))))
  }

  updateRevision(revision: InboundRevisionRecord): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(REVISION_SQL.updateInboundRevision, inboundRevisionParams(revision))) === 0) throw notFound('inbound revision')
    })
  }

  getRevision(inboundId: string, revision: number): Promise<InboundRevisionRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(REVISION_SQL.getInboundRevision, { inbound_id: inboundId, revision }), inboundRevisionFromRow))
  }

  listRevisions(inboundId: string): Promise<InboundRevisionRecord[]> {
    return this.#db.run(async (s) => (await s.rows(REVISION_SQL.listInboundRevisions, { inbound_id: inboundId })).map(inboundRevisionFromRow))
  }

  listRevisionStates(inboundId: string): Promise<InboundRevisionState[]> {
    return this.#db.run(async (s) => (await s.rows(REVISION_SQL.listInboundRevisionStates, { inbound_id: inboundId })).map(inboundRevisionStateFromRow))
  }

  getAppliedState(inboundId: string): Promise<AppliedStateRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(REVISION_SQL.getAppliedState, { inbound_id: inboundId }), appliedStateFromRow))
  }

  getAppliedStateVersion(inboundId: string): Promise<AppliedStateVersion | undefined> {
    return this.#db.run(async (s) => first(await s.rows(REVISION_SQL.getAppliedStateVersion, { inbound_id: inboundId }), appliedStateVersionFromRow))
  }

  setAppliedState(state: AppliedStateRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(REVISION_SQL.setAppliedState, appliedStateParams(state))))
  }

  insertTombstone(record: RevocationTombstoneRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(CONTROL_SQL.insertRevocationTombstone, revocationTombstoneParams(record))))
  }

  getTombstone(senderOrg: string, shareId: string): Promise<RevocationTombstoneRecord | undefined> {
    return this.#db.run(async (s) =>
      first(await s.rows(CONTROL_SQL.getRevocationTombstone, { sender_org: senderOrg, share_id: shareId }), revocationTombstoneFromRow),
    )
  }
}

class PostgresReplayRepository implements ReplayRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  /** The insert waits for a concurrent one of the same (iss, jti); the read after it, a statement of its own, sees the winner's digest. */
  remember(iss: string, jti: string, digest: string, exp: number): Promise<string | undefined> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        if ((await s.run(SQL.insertJti, { iss, jti, digest, exp })) === 1) return undefined
        return (await s.rows(SQL.getJti, { iss, jti }))[0]!['digest'] as string
      }),
    )
  }

  forgetExpired(now: number): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.forgetExpiredJtis, { now })))
  }
}

class PostgresQuotaRepository implements QuotaRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  recordOfferBytes(partnerOrg: string, at: number, bytes: number): Promise<void> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        await s.run(SQL.forgetOfferBytes, { before: at - 86_400 })
        await s.run(SQL.insertOfferBytes, { partner: partnerOrg, at, bytes })
      }),
    )
  }

  usage(partnerOrg: string, since: number): Promise<PartnerUsage> {
    return this.#db.run(async (s) => {
      const row = (await s.rows(SQL.partnerUsage, { partner: partnerOrg, since }))[0]!
      return { pendingOffers: Number(row['pending']), bytes: Number(row['bytes']), oldestAt: row['oldest'] === null ? undefined : Number(row['oldest']) }
    })
  }
}

class PostgresChunkRepository implements ChunkRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  recordDelivered(partnerOrg: string, digest: string, at: number): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(SQL.insertPartnerChunk, { partner: partnerOrg, digest, at })))
  }

  /** One statement: atomic, one commit. */
  recordDeliveredAll(partnerOrg: string, digests: readonly string[], at: number): Promise<void> {
    if (digests.length === 0) return Promise.resolve()
    return this.#db.run(async (s) => void (await s.run(SQL.insertPartnerChunks, { partner: partnerOrg, digests, at })))
  }

  delivered(partnerOrg: string, digests: readonly string[]): Promise<Set<string>> {
    if (digests.length === 0) return Promise.resolve(new Set())
    return this.#db.run(async (s) => new Set((await s.rows(SQL.deliveredChunks, { partner: partnerOrg, digests })).map((row) => row['digest'] as string)))
  }

  /** One statement per source; the distinct digests are the set. */
  referenced(now: number): Promise<Set<string>> {
    return this.#db.run(async (s) => {
      const digests = new Set<string>()
      for (const source of CHUNK_REFERENCE_SOURCES) {
        for (const row of await s.rows(`SELECT DISTINCT digest FROM (${source.sql}) AS source`, { now })) digests.add(row['digest'] as string)
      }
      return digests
    })
  }

  forgetDelivered(digest: string): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(FORGET_DELIVERED_SQL, { digest })))
  }

  sharesNaming(caseId: string, digests: readonly string[], now: number): Promise<string[]> {
    if (digests.length === 0) return Promise.resolve([])
    return this.#db.run(async (s) => (await s.rows(SHARES_NAMING_SQL, { case: caseId, digests, now })).map((row) => row['id'] as string))
  }
}

class PostgresJobQueue implements JobQueue {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  enqueue(job: JobRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(JOB_SQL.enqueueJob, jobParams(job))))
  }

  /**
   * Claiming counts an attempt (`attempts + 1`), so a job that crashes the process cannot loop
   * forever. Rows are locked FOR UPDATE SKIP LOCKED: replicas claiming at once take different jobs.
   */
  claimDue(now: number, limit: number, claim: JobClaim): Promise<JobRecord[]> {
    return this.#db.run((s) => {
      if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError('limit must be a non-negative integer')
      if (typeof claim?.owner !== 'string' || claim.owner.length === 0) throw new TypeError('claim.owner must be a non-empty string')
      if (!Number.isSafeInteger(claim.leaseUntil)) throw new TypeError('claim.leaseUntil must be an integer (Unix seconds)')
      if (limit === 0 || claim.kinds?.length === 0) return Promise.resolve([])
      const kinds = claim.kinds === undefined ? null : [...claim.kinds]
      return s.atomic(async (s) => {
        await s.run(JOB_SQL.supersedeExpiredJobs, { now })
        const rows = await s.rows(JOB_SQL.claimDueJobs, { now, limit, kinds, owner: claim.owner, lease_until: claim.leaseUntil })
        rows.sort((a, b) => (a['run_at'] as number) - (b['run_at'] as number) || (a['seq'] as number) - (b['seq'] as number))
        return rows.map(jobFromRow)
      })
    })
  }

  renewLeases(owner: string, ids: readonly string[], leaseUntil: number): Promise<string[]> {
    return this.#db.run(async (s) => {
      const lost: string[] = []
      for (const id of ids) if ((await s.run(JOB_SQL.renewJobLease, { id, owner, lease_until: leaseUntil })) === 0) lost.push(id)
      return lost
    })
  }

  complete(id: string, at: number, owner: string): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(JOB_SQL.completeJob, { id, at, owner })) === 0) throw await lostJob(s, id)
    })
  }

  fail(id: string, error: string, runAt: number, dead: boolean, at: number, owner: string): Promise<void> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        // A newer pending job of the same kind and ref will redo the work: this one is superseded.
        const superseded = !dead && (await s.rows(JOB_SQL.hasPendingSibling, { id })).length > 0
        const params = { id, state: dead ? 'dead' : superseded ? 'done' : 'pending', error, run_at: runAt, at, owner }
        if ((await s.run(JOB_SQL.failJob, params)) === 0) throw await lostJob(s, id)
      }),
    )
  }

  resetRunning(at: number, owner: string): Promise<number> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        await s.run(JOB_SQL.supersedeRunningJobs, { at, owner })
        return s.run(JOB_SQL.resetRunningJobs, { at, owner })
      }),
    )
  }

  list(ref?: string): Promise<JobRecord[]> {
    return this.#db.run(async (s) => (ref === undefined ? await s.rows(JOB_SQL.listJobs) : await s.rows(JOB_SQL.listJobsOfRef, { ref })).map(jobFromRow))
  }

  listFailing(): Promise<JobRecord[]> {
    return this.#db.run(async (s) => (await s.rows(JOB_SQL.listFailingJobs)).map(jobFromRow))
  }
}

class PostgresPrincipalRepository implements PrincipalRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  upsertUser(user: UserRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(PRINCIPAL_SQL.upsertUser, userParams(user))))
  }

  getUser(id: string): Promise<UserRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(PRINCIPAL_SQL.getUser, { id }), userFromRow))
  }

  listUsers(): Promise<UserRecord[]> {
    return this.#db.run(async (s) => (await s.rows(PRINCIPAL_SQL.listUsers)).map(userFromRow))
  }

  upsertGroup(group: GroupRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(PRINCIPAL_SQL.upsertGroup, groupParams(group))))
  }

  getGroup(id: string): Promise<GroupRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(PRINCIPAL_SQL.getGroup, { id }), groupFromRow))
  }

  listGroups(): Promise<GroupRecord[]> {
    return this.#db.run(async (s) => (await s.rows(PRINCIPAL_SQL.listGroups)).map(groupFromRow))
  }

  setGroupMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        if ((await s.rows(PRINCIPAL_SQL.lockGroup, { group_id: groupId })).length === 0) throw notFound('group')
        await s.run(PRINCIPAL_SQL.clearGroupMembers, { group_id: groupId })
        if (userIds.length > 0) await s.run(PRINCIPAL_SQL.insertGroupMembers, { group_id: groupId, user_ids: [...userIds] })
      }),
    )
  }

  listGroupMembers(groupId: string): Promise<string[]> {
    return this.#db.run(async (s) => (await s.rows(PRINCIPAL_SQL.listGroupMembers, { group_id: groupId })).map((row) => row['user_id'] as string))
  }

  listUserGroups(userId: string): Promise<string[]> {
    return this.#db.run(async (s) => (await s.rows(PRINCIPAL_SQL.listUserGroups, { user_id: userId })).map((row) => row['group_id'] as string))
  }
}

class PostgresAuditLog implements AuditLog {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  /** Reads the last entry and inserts the next under the case's advisory lock (AUDIT_SQL.lockChain). */
  append(entry: AuditEntryRecord): Promise<void> {
    return this.#db.run((s) => {
      const params = auditParams(entry)
      return s.atomic(async (s) => {
        await s.rows(AUDIT_SQL.lockChain, { case_id: entry.caseId })
        const [last] = await s.rows(AUDIT_SQL.lastAudit, { case_id: entry.caseId })
        const lastSeq = last === undefined ? 0 : (last['seq'] as number)
        const lastDigest = last === undefined ? null : (last['digest'] as string)
        if (entry.seq !== lastSeq + 1 || entry.prev !== lastDigest) {
          throw new RequestError('CW_ERR_CONFLICT', `audit entry ${entry.seq} does not follow entry ${lastSeq} of its case`)
        }
        await s.run(AUDIT_SQL.insertAudit, params)
      })
    })
  }

  list(caseId: string, options?: { afterSeq?: number; limit?: number }): Promise<AuditEntryRecord[]> {
    return this.#db.run(async (s) => (await s.rows(AUDIT_SQL.listAudit, auditListParams(caseId, options))).map(auditFromRow))
  }

  /**
   * Inside a transaction, also takes the case's chain lock until it ends: the caller reads the
   * last entry to compute the next (`audit/audit_trail.ts`), and another replica doing the same
   * waits, then reads the entry this one appends.
   */
  last(caseId: string): Promise<AuditEntryRecord | undefined> {
    const inTransaction = this.#db.inTransaction
    return this.#db.run(async (s) => {
      if (inTransaction) await s.rows(AUDIT_SQL.lockChain, { case_id: caseId })
      return first(await s.rows(AUDIT_SQL.lastAudit, { case_id: caseId }), auditFromRow)
    })
  }

  listCaseIds(): Promise<string[]> {
    return this.#db.run(async (s) => (await s.rows(AUDIT_SQL.listAuditCaseIds)).map((row) => row['case_id'] as string))
  }
}

class PostgresMetricsQueries implements MetricsQueries {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  countShares(now: number): Promise<ShareCount[]> {
    return this.#db.run(async (s) => {
      if (!Number.isSafeInteger(now)) throw new TypeError('now must be an integer (Unix seconds)')
      return (await s.rows(OPERATIONS_SQL.countShares, { now })).map((row) => ({
        direction: row['direction'] as ShareCount['direction'],
        status: row['status'] as ShareCount['status'],
        count: Number(row['count']),
      }))
    })
  }
}

class PostgresNotificationRepository implements NotificationRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(notification: NotificationRecord): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(NOTIFICATION_SQL.insertNotification, notificationParams(notification))) === 1)
  }

  upsert(notification: NotificationRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(NOTIFICATION_SQL.upsertNotification, notificationParams(notification))))
  }

  get(inboundId: string, revision: number, channel: NotificationChannel): Promise<NotificationRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(NOTIFICATION_SQL.getNotification, { inbound_id: inboundId, revision, channel }), notificationFromRow))
  }

  list(inboundId: string): Promise<NotificationRecord[]> {
    return this.#db.run(async (s) => (await s.rows(NOTIFICATION_SQL.listNotifications, { inbound_id: inboundId })).map(notificationFromRow))
  }
}

class PostgresLinkShareRepository implements LinkShareRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(record: LinkShareRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(LINK_SQL.insertLinkShare, linkShareParams(record))))
  }

  get(id: string): Promise<LinkShareRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(LINK_SQL.getLinkShare, { id }), linkShareFromRow))
  }

  findByTokenHash(tokenHash: string): Promise<LinkShareRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(LINK_SQL.findLinkShareByTokenHash, { token_hash: tokenHash }), linkShareFromRow))
  }

  list(caseId: string): Promise<LinkShareRecord[]> {
    return this.#db.run(async (s) => (await s.rows(LINK_SQL.listLinkShares, { case_id: caseId })).map(linkShareFromRow))
  }

  /** The state change locks the row, so of two replicas completing at once one wins and stores the members. */
  complete(id: string, built: LinkPackageRecord, members: readonly LinkShareMember[], at: number): Promise<boolean> {
    return this.#db.run((s) =>
      s.atomic(async (s) => {
        if ((await s.run(LINK_SQL.completeLinkShare, completeLinkShareParams(id, built, at))) === 0) return false
        const rows = members.map((member, position) => linkShareMemberParams(id, position, member))
        if (rows.length > 0) {
          await s.run(LINK_SQL.insertLinkShareMembers, {
            link_id: id,
            paths: rows.map((row) => row['path'] as string),
            sizes: rows.map((row) => row['size'] as number),
            crc32s: rows.map((row) => row['crc32'] as number),
            kinds: rows.map((row) => row['kind'] as string),
            refs: rows.map((row) => row['ref'] as string),
          })
        }
        return true
      }),
    )
  }

  fail(id: string, reason: string, at: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(LINK_SQL.failLinkShare, { id, reason, at })) > 0)
  }

  revoke(id: string, by: string, at: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(LINK_SQL.revokeLinkShare, { id, by, at })) > 0)
  }

  listMembers(id: string): Promise<LinkShareMember[]> {
    return this.#db.run(async (s) => (await s.rows(LINK_SQL.listLinkShareMembers, { id })).map(linkShareMemberFromRow))
  }

  getOffer(id: string): Promise<LinkShareOffer | undefined> {
    return this.#db.run(async (s) => first(await s.rows(INBOUND_PACKAGE_SQL.getLinkShareOffer, { id }), linkShareOfferFromRow))
  }

  setOffer(id: string, jws: string, at: number): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(INBOUND_PACKAGE_SQL.setLinkShareOffer, { id, jws, at })) === 0) throw notFound(`link share ${id}`)
    })
  }

  markOffered(id: string, at: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(INBOUND_PACKAGE_SQL.markLinkShareOffered, { id, at })) > 0)
  }

  setTokenHash(id: string, tokenHash: string): Promise<void> {
    return this.#db.run(async (s) => {
      if ((await s.run(LINK_SQL.setLinkShareTokenHash, { id, token_hash: tokenHash })) === 0) throw notFound(`link share ${id}`)
    })
  }
}

class PostgresInboundPackageRepository implements InboundPackageRepository {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  insert(record: InboundPackageRecord): Promise<void> {
    return this.#db.run(async (s) => void (await s.run(INBOUND_PACKAGE_SQL.insert, inboundPackageParams(record))))
  }

  get(id: string): Promise<InboundPackageRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(INBOUND_PACKAGE_SQL.get, { id }), inboundPackageFromRow))
  }

  find(senderOrg: string, packageId: string): Promise<InboundPackageRecord | undefined> {
    return this.#db.run(async (s) => first(await s.rows(INBOUND_PACKAGE_SQL.find, { sender_org: senderOrg, package_id: packageId }), inboundPackageFromRow))
  }

  list(): Promise<InboundPackageRecord[]> {
    return this.#db.run(async (s) => (await s.rows(INBOUND_PACKAGE_SQL.list, {})).map(inboundPackageFromRow))
  }

  listVisible(viewer: CaseViewer, page: PageRequest): Promise<Page<InboundPackageRecord>> {
    return this.#db.run(async (s) => pageOf(await s.rows(INBOUND_PACKAGE_SQL.listVisible, caseViewerParams(viewer, page)), page.limit, inboundPackageFromRow))
  }

  complete(id: string, received: { senderName: string; caseId: string; chunkSize: number; chunks: readonly string[] }, at: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(INBOUND_PACKAGE_SQL.complete, completeInboundPackageParams(id, received, at))) > 0)
  }

  refuse(id: string, reason: string, at: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(INBOUND_PACKAGE_SQL.refuse, { id, reason, at })) > 0)
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(INBOUND_PACKAGE_SQL.revoke, { id, at })) > 0)
  }
}

class PostgresOutbox implements Outbox {
  readonly #db: Access

  constructor(db: Access) {
    this.#db = db
  }

  append(entries: readonly OutboxEntry[]): Promise<void> {
    return this.#db.run((s) => {
      const params = entries.map(outboxParams)
      if (params.length === 0) return Promise.resolve()
      return s.atomic(async (s) => {
        await s.rows(OUTBOX_SQL.lockAppend)
        for (const row of params) await s.run(OUTBOX_SQL.insert, row)
      })
    })
  }

  list(consumer: string, limit: number, afterSeq = 0): Promise<ListedOutboxEntry[]> {
    return this.#db.run(async (s) => {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer')
      if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new TypeError('afterSeq must be a non-negative integer')
      return (await s.rows(OUTBOX_SQL.list, { consumer, after: afterSeq, limit })).map(outboxFromRow)
    })
  }

  delete(consumer: string, eventId: string): Promise<boolean> {
    return this.#db.run(async (s) => (await s.run(OUTBOX_SQL.delete, { consumer, event_id: eventId })) > 0)
  }
}

/** The repositories over one access: the store's own, or a transaction's. */
class PostgresRepositories implements Repositories {
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
    this.tokens = new PostgresTokenRepository(db)
    this.partners = new PostgresPartnerRepository(db)
    this.policies = new PostgresPolicyRepository(db)
    this.cases = new PostgresCaseRepository(db)
    this.outboundShares = new PostgresOutboundShareRepository(db)
    this.inboundShares = new PostgresInboundShareRepository(db)
    this.replay = new PostgresReplayRepository(db)
    this.quotas = new PostgresQuotaRepository(db)
    this.chunks = new PostgresChunkRepository(db)
    this.jobs = new PostgresJobQueue(db)
    this.principals = new PostgresPrincipalRepository(db)
    this.audit = new PostgresAuditLog(db)
    this.metrics = new PostgresMetricsQueries(db)
    this.notifications = new PostgresNotificationRepository(db)
    this.linkShares = new PostgresLinkShareRepository(db)
    this.inboundPackages = new PostgresInboundPackageRepository(db)
    this.outbox = new PostgresOutbox(db)
  }
}

/** The repositories bound to one transaction; a transaction inside it is a savepoint. */
class PostgresUnitOfWork extends PostgresRepositories implements UnitOfWork {
  readonly #access: SessionAccess
  readonly #scope: Scope

  constructor(session: Session, scope: Scope) {
    const access = new SessionAccess(session, undefined, scope)
    super(access)
    this.#access = access
    this.#scope = scope
  }

  async transaction<T>(work: (unit: UnitOfWork) => Promise<T>): Promise<T> {
    if (typeof work !== 'function') throw new TypeError('work must be a function')
    const refusal = this.#access.refusal()
    if (refusal !== undefined) throw refusal
    if (this.#scope.nested) throw new Error('nested transactions cannot run concurrently')
    this.#scope.nested = true
    const scope: Scope = { open: true, nested: false }
    try {
      return await this.#access.session.atomic((s) => work(new PostgresUnitOfWork(s, scope)))
    } finally {
      scope.open = false
      this.#scope.nested = false
    }
  }
}

class PostgresMetadataStore extends PostgresRepositories implements MetadataStore {
  readonly #access: SessionAccess
  readonly #root: Root

  constructor(pool: pg.Pool) {
    const root: Root = { pool, closed: false, calls: new Set(), inTransaction: new AsyncLocalStorage() }
    const access = new SessionAccess(new PoolSession(pool), root, { open: true, nested: false })
    super(access)
    this.#access = access
    this.#root = root
  }

  transaction<T>(work: (unit: UnitOfWork) => Promise<T>): Promise<T> {
    if (typeof work !== 'function') return Promise.reject(new TypeError('work must be a function'))
    const root = this.#root
    return this.#access.run(() => {
      const marker = { open: true }
      const transaction = (client: pg.PoolClient): Promise<T> => {
        const scope: Scope = { open: true, nested: false }
        const unit = new PostgresUnitOfWork(new ClientSession(client), scope)
        return root.inTransaction
          .run(marker, () => work(unit))
          .finally(() => {
            scope.open = false
            marker.open = false
          })
      }
      return inTransaction(root.pool, transaction, { crashPoints: true })
    })
  }

  ping(): Promise<void> {
    return this.#access.run(async (s) => {
      if ((await s.rows(OPERATIONS_SQL.ping))[0]?.['ok'] !== 1) throw new Error('metadata store answered the ping wrongly')
    })
  }

  /** Waits for the calls in flight, then closes the pool. Later calls reject. */
  async close(): Promise<void> {
    const root = this.#root
    if (root.closed) return
    root.closed = true
    await Promise.all(root.calls)
    await root.pool.end()
  }
}
