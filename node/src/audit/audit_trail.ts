/**
 * The tamper-evident audit trail (SPEC.md §18, CW-AUD-001…005): every domain event that
 * belongs to a case is appended to that case's hash chain; refusals that belong to no case go
 * to the node-wide chain {@link FEDERATION_AUDIT_CASE}.
 *
 * An entry is `{ caseId, seq, at, type, actor, data, prev, digest }`: `seq` counts from 1 per
 * case, `prev` is the previous entry's digest (null for seq 1) and
 * `digest = sha256(RFC 8785 canonical JSON of { caseId, seq, at, type, actor, data, prev })`.
 * Editing, removing, reordering or inserting an entry breaks the chain at the first entry
 * touched, or at the one after it (an edit whose digest was recomputed shows as a broken
 * link in the next entry); only a rewrite of the chain from that point to its end goes
 * unnoticed, which is what an export kept elsewhere is for.
 *
 * @module
 */
import { RequestError, digestJson } from '#protocol'
import type { Clock, NodeContext } from '../context.ts'
import type { AnyNodeEvent } from '../events.ts'
import type { OutboxConsumer } from '../outbox/outbox.ts'
import type { AuditEntryRecord, MetadataStore, Repositories } from '../store/metadata_store.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** The chain of events that belong to no case (offers refused before anything was stored). */
export const FEDERATION_AUDIT_CASE = '_federation'

/** Page size when a whole chain is read (verification, export). */
export const AUDIT_PAGE_SIZE = 500

/** Strings in `data` longer than this are cut (an error message, never content). */
const MAX_DATA_STRING = 1000

/** Keys that must never reach the trail: secrets and signed objects. */
const FORBIDDEN_DATA_KEY = /(?:token|secret|password|passphrase|key|jws|credentials?)$/i

export type AuditFailureReason = 'digest' | 'link' | 'sequence'

/**
 * The result of verifying a chain. On failure, `seq` is the first position (from 1) that does
 * not verify: entries 1 … seq − 1 are intact. `sequence`: the entry there is not entry `seq`
 * of this case (one was removed, moved or taken from another chain); `digest`: its digest is
 * not the digest of its content (it was edited); `link`: its `prev` is not the digest of the
 * entry before it (one was inserted, or the one before was edited and re-digested).
 */
export type AuditVerification = { ok: true; entries: number } | { ok: false; seq: number; caseId: string; reason: AuditFailureReason }

/** What an entry says, before it has a place in a chain. */
export interface AuditContent {
  caseId: string
  type: string
  actor: Record<string, unknown>
  data: Record<string, unknown>
}

/** The digest of an entry: SHA-256 of the canonical JSON of every field but `digest` (CW-AUD-002). */
export function auditEntryDigest(entry: Omit<AuditEntryRecord, 'digest'>): string {
  const { caseId, seq, at, type, actor, data, prev } = entry
  return digestJson({ caseId, seq, at, type, actor, data, prev })
}

/**
 * The case, type, actor and data of `event`. `data` is everything else the event carries:
 * ids, digests, sizes, counts, codes. A nested value or a key that names a secret is a
 * programming error (CW-AUD-005) and throws `TypeError`.
 */
export function auditContentOf(event: AnyNodeEvent): AuditContent {
  const { type, actor, ...rest } = event
  const caseId = 'caseId' in event ? event.caseId : FEDERATION_AUDIT_CASE
  delete (rest as { caseId?: unknown }).caseId
  const data: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue
    if (FORBIDDEN_DATA_KEY.test(key)) throw new TypeError(`audit data must not carry "${key}"`)
    data[key] = auditValue(key, value)
  }
  return { caseId, type, actor: { ...actor }, data }
}

function auditValue(key: string, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => auditScalar(key, item))
  return auditScalar(key, value)
}

function auditScalar(key: string, value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_DATA_STRING ? value.slice(0, MAX_DATA_STRING) + '…' : value
  if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value
  throw new TypeError(`audit data "${key}" must be a string, number, boolean, null or a list of them`)
}

/**
 * Appends `content` as the next entry of its case's chain: reads the last entry and appends
 * in one store transaction, so concurrent appends (even from another connection) cannot leave
 * a gap or fork the chain (CW-AUD-001).
 */
export async function appendAuditEntry(store: MetadataStore, clock: Clock, content: AuditContent): Promise<AuditEntryRecord> {
  return store.transaction((tx) => appendAuditEntryIn(tx, content, Math.floor(clock.now().getTime() / 1000)))
}

/** Appends `content` at time `at` inside transaction `tx` (the caller's). */
async function appendAuditEntryIn(tx: Repositories, content: AuditContent, at: number): Promise<AuditEntryRecord> {
  const last = await tx.audit.last(content.caseId)
  const entry = {
    caseId: content.caseId,
    seq: (last?.seq ?? 0) + 1,
    at,
    type: content.type,
    actor: content.actor,
    data: content.data,
    prev: last?.digest ?? null,
  }
  const record: AuditEntryRecord = { ...entry, digest: auditEntryDigest(entry) }
  await tx.audit.append(record)
  return record
}

/**
 * `NodeContext.transaction` for a tool that acts on a node's database without running the
 * node (`caseway tokens create`): the action's events are appended to the audit trail in the
 * action's own store transaction, so they commit together. No other consumer sees them.
 */
export function auditedTransaction(store: MetadataStore, clock: Clock): NodeContext['transaction'] {
  return async (work) => {
    let effects: Array<() => void> = []
    const value = await store.transaction(async (txStore) => {
      const events: AnyNodeEvent[] = []
      effects = []
      const result = await work({ store: txStore, record: (event) => void events.push(event), afterCommit: (effect) => void effects.push(effect) })
      const at = Math.floor(clock.now().getTime() / 1000)
      for (const event of events) await appendAuditEntryIn(txStore, auditContentOf(event), at)
      return result
    })
    for (const effect of effects) effect()
    return value
  }
}

/** The outbox consumer name of the audit trail (stored in outbox rows: never rename). */
export const AUDIT_CONSUMER = 'audit'

/**
 * The audit trail as an outbox consumer (wired in `buildContext`): every event, in the order
 * its case's actions committed, dated when its action committed. The entry is appended in the
 * transaction that removes the outbox row, so each event is in the trail exactly once, even
 * when the node crashed between the action and its entry (CW-AUD-001).
 */
export function auditConsumer(store: MetadataStore): OutboxConsumer {
  return {
    name: AUDIT_CONSUMER,
    accepts: () => true,
    async handle(_caseId, entries) {
      for (const entry of entries) {
        await store.transaction(async (tx) => {
          // Gone: another replica's drainer handled it (the row lock of the delete made this one wait for its commit).
          if (!(await tx.outbox.delete(AUDIT_CONSUMER, entry.eventId))) return
          await appendAuditEntryIn(tx, auditContentOf(entry.event as unknown as AnyNodeEvent), entry.recordedAt)
        })
        crashPoint('audit.appended')
      }
    },
  }
}

/**
 * Appends events as they come, outside any outbox (tests and tools that build a chain
 * directly). Appends for one case run one after the other, in the order given; the returned
 * promise resolves once the entry is committed.
 */
export function auditSubscriber(deps: { store: MetadataStore; clock: Clock }): (event: AnyNodeEvent) => Promise<void> {
  const tails = new Map<string, Promise<unknown>>()
  return (event) => {
    const content = auditContentOf(event)
    const appended = (tails.get(content.caseId) ?? Promise.resolve()).then(() => appendAuditEntry(deps.store, deps.clock, content))
    const tail = appended.then(
      () => undefined,
      () => undefined,
    )
    tails.set(content.caseId, tail)
    void tail.then(() => {
      if (tails.get(content.caseId) === tail) tails.delete(content.caseId)
    })
    return appended.then(() => undefined)
  }
}

/**
 * Verifies a chain entry by entry, so a long chain can be read page by page. After the first
 * failure, further entries are ignored.
 */
export class AuditChainVerifier {
  #caseId: string | undefined
  #count = 0
  #prev: string | null = null
  #failure: AuditVerification | undefined

  /** `caseId`: the chain expected (default: the first entry's). */
  constructor(caseId?: string) {
    this.#caseId = caseId
  }

  /** Checks the next entry; false once the chain is broken. */
  push(entry: AuditEntryRecord): boolean {
    if (this.#failure !== undefined) return false
    const seq = this.#count + 1
    const caseId = (this.#caseId ??= entry.caseId)
    let reason: AuditFailureReason | undefined
    if (entry.seq !== seq || entry.caseId !== caseId) reason = 'sequence'
    else if (!digestMatches(entry)) reason = 'digest'
    else if (entry.prev !== this.#prev) reason = 'link'
    if (reason !== undefined) {
      this.#failure = { ok: false, seq, caseId, reason }
      return false
    }
    this.#count = seq
    this.#prev = entry.digest
    return true
  }

  result(): AuditVerification {
    return this.#failure ?? { ok: true, entries: this.#count }
  }
}

function digestMatches(entry: AuditEntryRecord): boolean {
  try {
    return auditEntryDigest(entry) === entry.digest
  } catch {
    // Not JSON any more (a hand edit): it cannot match.
    return false
  }
}

/** Verifies `entries` as one chain, in the order given (CW-AUD-003). */
export function verifyAuditChain(entries: Iterable<AuditEntryRecord>, caseId?: string): AuditVerification {
  const verifier = new AuditChainVerifier(caseId)
  for (const entry of entries) if (!verifier.push(entry)) break
  return verifier.result()
}

/** Pages of the chain of `caseId`, up to its last entry when the call started. */
export async function* auditPages(store: MetadataStore, caseId: string, pageSize = AUDIT_PAGE_SIZE): AsyncGenerator<AuditEntryRecord[]> {
  const end = (await store.audit.last(caseId))?.seq ?? 0
  let after = 0
  while (after < end) {
    const page = await store.audit.list(caseId, { afterSeq: after, limit: Math.min(pageSize, end - after) })
    if (page.length === 0) return
    yield page
    after = page[page.length - 1]!.seq
  }
}

/** Verifies the stored chain of `caseId`, reading it page by page. */
export async function verifyStoredAuditChain(store: MetadataStore, caseId: string, pageSize = AUDIT_PAGE_SIZE): Promise<AuditVerification> {
  const verifier = new AuditChainVerifier(caseId)
  for await (const page of auditPages(store, caseId, pageSize)) {
    for (const entry of page) if (!verifier.push(entry)) return verifier.result()
  }
  return verifier.result()
}

/**
 * The whole chain of `caseId` as one JSON document
 * `{ caseId, exportedAt, node, entries: [...] }`, in pieces: one page of entries at a time,
 * never the whole text at once.
 */
export async function* auditExportText(
  store: MetadataStore,
  caseId: string,
  options: { node: string; exportedAt: number; pageSize?: number },
): AsyncGenerator<string> {
  yield `{"caseId":${JSON.stringify(caseId)},"exportedAt":${JSON.stringify(options.exportedAt)},"node":${JSON.stringify(options.node)},"entries":[`
  let first = true
  for await (const page of auditPages(store, caseId, options.pageSize)) {
    yield (first ? '' : ',') + page.map((entry) => JSON.stringify(entry)).join(',')
    first = false
  }
  yield ']}\n'
}

/** Where a trail belongs: a local case, or an external case (by its inbound share id). */
export type AuditScope = 'case' | 'external-case'

/** @throws {RequestError} `CW_ERR_NOT_FOUND` when there is no such case. */
export async function requireAuditedCase(ctx: NodeContext, scope: AuditScope, id: string): Promise<void> {
  const found = scope === 'case' ? await ctx.store.cases.get(id) : await ctx.store.inboundShares.get(id)
  if (found === undefined) throw new RequestError('CW_ERR_NOT_FOUND', scope === 'case' ? 'case not found' : 'external case not found')
}

export interface AuditPage {
  caseId: string
  entries: AuditEntryRecord[]
  /** The `after` of the next page; null when this page ends the chain. */
  next: number | null
}

/** One page of a case's trail: entries after seq `after`, at most `limit`. */
export async function listCaseAudit(ctx: NodeContext, scope: AuditScope, id: string, page: { after?: number; limit?: number } = {}): Promise<AuditPage> {
  await requireAuditedCase(ctx, scope, id)
  const limit = page.limit ?? 100
  const rows = await ctx.store.audit.list(id, { afterSeq: page.after ?? 0, limit: limit + 1 })
  const entries = rows.slice(0, limit)
  return { caseId: id, entries, next: rows.length > limit ? entries[entries.length - 1]!.seq : null }
}

/** Verifies a case's stored trail. */
export async function verifyCaseAudit(ctx: NodeContext, scope: AuditScope, id: string): Promise<AuditVerification> {
  await requireAuditedCase(ctx, scope, id)
  return verifyStoredAuditChain(ctx.store, id)
}

/** A case's whole trail as an export document, in pieces (see {@link auditExportText}). */
export async function exportCaseAudit(ctx: NodeContext, scope: AuditScope, id: string): Promise<AsyncGenerator<string>> {
  await requireAuditedCase(ctx, scope, id)
  return auditExportText(ctx.store, id, { node: ctx.config.org, exportedAt: Math.floor(ctx.clock.now().getTime() / 1000) })
}
