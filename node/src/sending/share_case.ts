/**
 * Sharing a case with a partner (sender side): selecting what the partner's policy allows,
 * building and signing the origin grant and the first manifest revision, storing them, and
 * queueing the offer (SPEC.md §9–§11).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import {
  digestOfJwsPayload,
  enforceManifestPolicy,
  isEmailAddress,
  originGrant,
  PolicyError,
  RequestError,
  signGrant,
  signManifest,
  VerificationError,
  type CaseManifest,
  type EvidenceItem,
  type Folder,
  type Recipient,
  type SharingPolicy,
} from '#protocol'
import type { NodeContext } from '../context.ts'
import { SHARE_LIMITS } from '../limits.ts'
import { userActor, type Actor } from '../events.ts'
import { JOB } from '../jobs/kinds.ts'
import type {
  CaseRecord,
  EvidenceRecord,
  FolderRecord,
  HeldBackItem,
  HeldBackReason,
  OutboundRevisionRecord,
  OutboundShareRecord,
  Page,
  PageRequest,
  ShareScope,
} from '../store/metadata_store.ts'
import { requireCase } from '../cases/cases.ts'
import { applyVersioning, manifestVersioning, policyForVersion } from './shared_by.ts'
import { crashPoint } from '../operations/crash_points.ts'

export interface CreateShareInput {
  caseId: string
  partnerOrg: string
  /** The entire case, selected folders (with their subfolders), or a subset of evidence. */
  scope: ShareScope
  /** With scope `folders`: the folders shared. */
  folderIds?: string[]
  /** With scope `evidence`: the items shared. */
  evidenceIds?: string[]
  message?: string
  recipients?: Recipient[]
  /** How long the share lasts, as the sharer chose (integer ≥ 1); the configured share duration and the policy's maxDurationSeconds still bound it. */
  expiresInSeconds?: number
  /** The user who shares. */
  createdBy: string
  /** Who the `share.created` event names; default the user `createdBy`. */
  actor?: Actor
}

export interface CreatedShare {
  share: OutboundShareRecord
  revision: OutboundRevisionRecord
  manifest: CaseManifest
}

const SCOPES: ReadonlySet<string> = new Set<ShareScope>(['case', 'folders', 'evidence'])
const RECIPIENT_KINDS: ReadonlySet<string> = new Set<Recipient['kind']>(['user', 'group', 'email', 'badge', 'agency'])
/** Limits of the manifest schema's share block. */
const {
  maxMessageLength: MAX_MESSAGE_LENGTH,
  maxRecipients: MAX_RECIPIENTS,
  maxRecipientIdLength: MAX_RECIPIENT_ID_LENGTH,
  maxEvidenceIds: MAX_SELECTION,
} = SHARE_LIMITS

/**
 * Shares (part of) a case with a partner under the policy assigned to it.
 *
 * - The partner must be known, enabled and have a policy; the policy version is copied into
 *   the share, so a later policy version never changes it (CW-POL-007).
 * - Evidence is selected by scope; do-not-disclose items, categories the policy excludes and
 *   attachments it excludes are refused when named explicitly and left out of a case or folder
 *   share (CW-POL-002). An attachment goes only with the item it belongs to.
 * - Case fields are filtered to the policy's; folders are those holding shared items, with
 *   their ancestors.
 * - The origin grant (depth 0) and the manifest (revision 1) expire at
 *   now + min(expiresInSeconds if given, configured share duration, policy.maxDurationSeconds)
 *   (CW-POL-004).
 * - Share, revision and the offer job are stored in one transaction.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (case), `CW_ERR_CONFLICT` (partner unknown,
 *   disabled or without policy), `CW_ERR_BAD_REQUEST` (selection, message, recipients, expiresInSeconds).
 * @throws {PolicyError} `CW_ERR_DO_NOT_DISCLOSE`, `CW_ERR_POLICY_VIOLATION`.
 */
export async function createShare(ctx: NodeContext, input: CreateShareInput): Promise<CreatedShare> {
  const request = checkInput(input)
  const caseRecord = await requireCase(ctx, request.caseId)
  if (caseRecord.importedFrom !== null) {
    // An imported case holds another organization's evidence: it may only travel onward under
    // the chain of the share it came from, never under a new origin grant of ours.
    throw new RequestError('CW_ERR_CONFLICT', `case "${caseRecord.id}" was imported from a share; share it onward from its external case`)
  }
  const policy = await partnerPolicy(ctx, request.partnerOrg)
  const now = ctx.clock.now()
  const iat = Math.floor(now.getTime() / 1000)
  const exp = iat + Math.min(request.expiresInSeconds ?? Infinity, ctx.config.transfers.shareDurationSeconds, policy.maxDurationSeconds)
  const share: OutboundShareRecord = {
    id: randomUUID(),
    caseId: caseRecord.id,
    partnerOrg: request.partnerOrg,
    scope: request.scope,
    folderIds: request.folderIds,
    evidenceIds: request.evidenceIds,
    message: request.message ?? null,
    recipients: request.recipients,
    policy,
    status: 'processing',
    statusCode: null,
    statusDetail: null,
    revision: 1,
    createdBy: request.createdBy,
    createdAt: iat,
    updatedAt: iat,
    expiresAt: exp,
  }
  const built = await buildRevision(ctx, share, 1)
  const { revision, manifest, shared, chunkDigests, heldBack } = built
  const shareId = share.id
  // The offer job and the event are written in the same transaction, so a crash cannot leave
  // a share that no job will ever offer, or one missing from the audit trail.
  await ctx.transaction(async (tx) => {
    await tx.store.outboundShares.insert(share)
    await tx.store.outboundShares.insertRevision(revision, chunkDigests)
    await tx.store.outboundShares.insertHeldBack(shareId, 1, heldBack)
    await ctx.jobs.enqueue(tx, JOB.offer, shareId, { revision: 1 }, iat)
    tx.record({
      type: 'share.created',
      caseId: share.caseId,
      actor: input.actor ?? userActor(share.createdBy),
      shareId,
      partner: share.partnerOrg,
      revision: 1,
      items: shared.length,
    })
  })
  crashPoint('share.created')
  ctx.log.info(
    { shareId, caseId: share.caseId, partner: share.partnerOrg, policyId: policy.id, policyVersion: policy.version, items: shared.length },
    'share created',
  )
  return { share, revision, manifest }
}

/** One revision of a share, signed and ready to store with `outboundShares.insertRevision`. */
export interface BuiltRevision {
  revision: OutboundRevisionRecord
  manifest: CaseManifest
  /** The items of the revision. */
  shared: EvidenceRecord[]
  /** The distinct chunk digests of those items (the chunk index of the revision). */
  chunkDigests: Set<string>
  /** The items of the case or folders the policy left out, and why (CW-LOC-031). */
  heldBack: HeldBackItem[]
}

/**
 * Builds revision `revisionNumber` of `share` from the case as it is now: the evidence its
 * scope selects under the share's own policy version (CW-POL-007, CW-POL-002), case fields and
 * folders, recipients and message of the record, a new origin grant covering that evidence,
 * and — from revision 2 — `previous` = the stored digest of revision n − 1 (CW-MAN-001). Grant
 * and manifest are issued now and expire with the share (`share.expiresAt`). Stores nothing.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (case, previous revision), `CW_ERR_BAD_REQUEST` (selection).
 * @throws {PolicyError} `CW_ERR_DO_NOT_DISCLOSE`, `CW_ERR_POLICY_VIOLATION` (explicit selection).
 * @throws {VerificationError} `CW_ERR_TOO_LARGE` (manifest over the partner's limit).
 */
export async function buildRevision(ctx: NodeContext, share: OutboundShareRecord, revisionNumber: number): Promise<BuiltRevision>
export async function buildRevision(
  ctx: NodeContext,
  share: OutboundShareRecord,
  revisionNumber: number,
  unchanged: (manifest: CaseManifest) => boolean,
): Promise<BuiltRevision | undefined>
export async function buildRevision(
  ctx: NodeContext,
  share: OutboundShareRecord,
  revisionNumber: number,
  unchanged?: (manifest: CaseManifest) => boolean,
): Promise<BuiltRevision | undefined> {
  const caseRecord = await requireCase(ctx, share.caseId)
  const { policy } = share
  const [folders, items] = await Promise.all([ctx.store.cases.listFolders(caseRecord.id), ctx.store.cases.listEvidence(caseRecord.id)])
  const { shared, heldBack } = selectEvidence(share, policy, folders, items)
  let previous: string | undefined
  if (revisionNumber > 1) {
    const prior = await ctx.store.outboundShares.getRevision(share.id, revisionNumber - 1)
    if (prior === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `share "${share.id}" has no revision ${revisionNumber - 1}`)
    previous = prior.manifestDigest
  }

  const iat = Math.floor(ctx.clock.now().getTime() / 1000)
  const exp = share.expiresAt
  // spec: CW-VER-004, CW-MAN-005, CW-MAN-006, CW-POL-008 — the highest common version decides the
  // manifest's version, who shared, and whether the grant may say addRecipients.
  const versioning = await manifestVersioning(ctx, share.partnerOrg, share.createdBy)
  const grant = originGrant({
    iss: ctx.identity.org,
    aud: share.partnerOrg,
    share: share.id,
    revision: revisionNumber,
    policy: policyForVersion(policy, versioning.cwv),
    iat,
    exp,
    evidence: shared.map((item) => item.digest),
  })
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: ctx.identity.org,
    aud: share.partnerOrg,
    iat,
    exp,
    jti: randomUUID(),
    share: shareBlock(share, revisionNumber, previous),
    case: { id: caseRecord.id, fields: allowedFields(caseRecord, policy), folders: sharedFolders(folders, shared) },
    evidence: shared.map(toItem),
    grants: [],
  }
  applyVersioning(manifest, versioning)
  // Asked before anything is signed: signing a large manifest costs seconds.
  if (unchanged?.(manifest) === true) return undefined
  manifest.grants = [await signGrant(grant, ctx.identity.signer)]
  const { revision, chunkDigests } = await signRevision(ctx, manifest, policy, iat)
  return { revision, manifest, shared, chunkDigests, heldBack }
}

/** A signed revision ready to store, and the chunk digests it makes servable to its partner. */
export interface SignedRevision {
  revision: OutboundRevisionRecord
  chunkDigests: Set<string>
}

/**
 * Checks a built manifest against its own policy (CW-POL-002: what was selected must pass the
 * receiver's check), signs it, refuses one a partner could not accept, and indexes its chunks.
 */
export async function signRevision(ctx: NodeContext, manifest: CaseManifest, policy: SharingPolicy, createdAt: number): Promise<SignedRevision> {
  enforceManifestPolicy(manifest, policy)
  const manifestJws = await signManifest(manifest, ctx.identity.signer)
  if (manifestJws.length > ctx.config.limits.manifestBytes) {
    throw new VerificationError(
      'CW_ERR_TOO_LARGE',
      `the manifest would be ${manifestJws.length} bytes; a partner accepts at most ${ctx.config.limits.manifestBytes}`,
    )
  }
  const chunkDigests = new Set<string>()
  for (const item of manifest.evidence) for (const digest of item.chunks) chunkDigests.add(digest)
  const revision: OutboundRevisionRecord = {
    shareId: manifest.share.id,
    revision: manifest.share.revision,
    manifestJws,
    // What was signed is the manifest's canonical JSON: its digest without serializing it again.
    manifestDigest: digestOfJwsPayload(manifestJws),
    createdAt,
    receiptJws: null,
  }
  return { revision, chunkDigests }
}

/**
 * A page of the shares of case `caseId`, newest first (CW-LOC-054).
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`
 */
export async function listSharePage(ctx: NodeContext, caseId: string, page: PageRequest): Promise<Page<OutboundShareRecord>> {
  await requireCase(ctx, caseId)
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  const found = await ctx.store.outboundShares.listOfCase(caseId, page)
  return { items: found.items.map((share) => withEffectiveStatus(share, now)), next: found.next }
}

/** The shares of case `caseId`, oldest first (the case's access overview). @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function listShares(ctx: NodeContext, caseId: string): Promise<OutboundShareRecord[]> {
  await requireCase(ctx, caseId)
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  return (await ctx.store.outboundShares.list(caseId)).map((share) => withEffectiveStatus(share, now))
}

/** One share with its status. @throws {RequestError} `CW_ERR_NOT_FOUND` */
export async function getShare(ctx: NodeContext, id: string): Promise<OutboundShareRecord> {
  const share = await ctx.store.outboundShares.get(id)
  if (share === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no share "${id}"`)
  return withEffectiveStatus(share, Math.floor(ctx.clock.now().getTime() / 1000))
}

/** A share past its expiry reads as expired even before a job has marked it. */
function withEffectiveStatus(share: OutboundShareRecord, now: number): OutboundShareRecord {
  if (share.expiresAt <= now && share.status !== 'revoked' && share.status !== 'rejected' && share.status !== 'expired') {
    return { ...share, status: 'expired' }
  }
  return share
}

interface CheckedInput {
  caseId: string
  partnerOrg: string
  scope: ShareScope
  folderIds: string[]
  evidenceIds: string[]
  message: string | undefined
  recipients: Recipient[]
  expiresInSeconds: number | undefined
  createdBy: string
}

function checkInput(input: CreateShareInput): CheckedInput {
  if (typeof input !== 'object' || input === null) throw bad('the share request must be an object', '')
  const { caseId, partnerOrg, scope, message, createdBy } = input
  if (typeof caseId !== 'string') throw bad('caseId must be a case id', '/caseId')
  if (typeof partnerOrg !== 'string') throw bad('partnerOrg must be an organization id', '/partnerOrg')
  if (typeof scope !== 'string' || !SCOPES.has(scope)) throw bad('scope must be "case", "folders" or "evidence"', '/scope')
  if (typeof createdBy !== 'string' || createdBy.length === 0) throw bad('createdBy must name the user', '/createdBy')
  if (message !== undefined && (typeof message !== 'string' || message.length > MAX_MESSAGE_LENGTH)) {
    throw bad(`message must be a string of at most ${MAX_MESSAGE_LENGTH} characters`, '/message')
  }
  const { expiresInSeconds } = input
  if (expiresInSeconds !== undefined && (!Number.isSafeInteger(expiresInSeconds) || expiresInSeconds < 1)) {
    throw bad('expiresInSeconds must be an integer ≥ 1', '/expiresInSeconds')
  }
  const folderIds = idList(input.folderIds, '/folderIds')
  const evidenceIds = idList(input.evidenceIds, '/evidenceIds')
  if (scope === 'folders' && folderIds.length === 0) throw bad('a folder share names at least one folder', '/folderIds')
  if (scope === 'evidence' && evidenceIds.length === 0) throw bad('an evidence share names at least one item', '/evidenceIds')
  if (scope !== 'folders' && folderIds.length > 0) throw bad(`folderIds is only for scope "folders"`, '/folderIds')
  if (scope !== 'evidence' && evidenceIds.length > 0) throw bad(`evidenceIds is only for scope "evidence"`, '/evidenceIds')
  const checkedRecipients = checkRecipients(input.recipients, partnerOrg)
  // A share always names its recipients (SPEC.md CW-LOC-001): none named means the entire agency.
  if (checkedRecipients.length === 0) checkedRecipients.push({ kind: 'agency', id: partnerOrg })
  return { caseId, partnerOrg, scope: scope as ShareScope, folderIds, evidenceIds, message, recipients: checkedRecipients, expiresInSeconds, createdBy }
}

/**
 * Checks a list of recipients at `partnerOrg` (users, groups, e-mail addresses, badges, the
 * agency itself). @throws {RequestError} `CW_ERR_BAD_REQUEST`
 */
export function checkRecipients(value: unknown, partnerOrg: string): Recipient[] {
  const recipients = (value ?? []) as Recipient[]
  if (!Array.isArray(recipients) || recipients.length > MAX_RECIPIENTS) throw bad(`recipients must be a list of at most ${MAX_RECIPIENTS}`, '/recipients')
  return recipients.map((recipient, index) => {
    if (
      typeof recipient !== 'object' ||
      recipient === null ||
      !RECIPIENT_KINDS.has(recipient.kind) ||
      typeof recipient.id !== 'string' ||
      recipient.id.length === 0 ||
      recipient.id.length > MAX_RECIPIENT_ID_LENGTH
    ) {
      throw bad(`a recipient is { kind: user|group|email|badge|agency, id: 1 to ${MAX_RECIPIENT_ID_LENGTH} characters }`, `/recipients/${index}`)
    }
    if (recipient.kind === 'agency' && recipient.id !== partnerOrg)
      throw bad(`an agency recipient names the partner organization "${partnerOrg}"`, `/recipients/${index}/id`)
    if (recipient.kind === 'email' && !isEmailAddress(recipient.id))
      throw bad('an email recipient is one plain e-mail address (name@domain.example)', `/recipients/${index}/id`)
    return { kind: recipient.kind, id: recipient.id }
  })
}

export function idList(value: unknown, at: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > MAX_SELECTION) throw bad(`must be a list of at most ${MAX_SELECTION} ids`, at)
  const seen = new Set<string>()
  for (const [index, id] of value.entries()) {
    if (typeof id !== 'string') throw bad('must be an id', `${at}/${index}`)
    if (seen.has(id)) throw bad(`"${id}" is listed twice`, `${at}/${index}`)
    seen.add(id)
  }
  return [...seen]
}

/** The policy version assigned to an enabled partner. @throws {RequestError} `CW_ERR_CONFLICT` */
export async function partnerPolicy(ctx: NodeContext, org: string): Promise<SharingPolicy> {
  const partner = await ctx.store.partners.get(org)
  if (partner === undefined) {
    throw new RequestError('CW_ERR_CONFLICT', `"${org}" is not a partner: import its partner bundle first`, { at: '/partnerOrg' })
  }
  if (!partner.enabled) throw new RequestError('CW_ERR_CONFLICT', `partner "${org}" is disabled`, { at: '/partnerOrg' })
  // spec: CW-PROV-008 — a trust-only partner is an anchor for signed objects, never a share's partner.
  if (partner.trustOnly)
    throw new RequestError('CW_ERR_CONFLICT', `"${org}" is pinned as a trust anchor only; import it as a partner to share with it`, { at: '/partnerOrg' })
  if (partner.policyId === null || partner.policyVersion === null) {
    throw new RequestError('CW_ERR_CONFLICT', `partner "${org}" has no sharing policy: an administrator assigns one first`, { at: '/partnerOrg' })
  }
  const record = await ctx.store.policies.get(partner.policyId, partner.policyVersion)
  if (record === undefined) {
    throw new RequestError('CW_ERR_CONFLICT', `policy "${partner.policyId}" version ${partner.policyVersion} of partner "${org}" is missing`)
  }
  return record.policy
}

/** The items of a share, and those its scope covers that the policy left out. */
interface Selection {
  shared: EvidenceRecord[]
  heldBack: HeldBackItem[]
}

/**
 * The items of the share, in case order. Linear in the number of items and folders.
 * Explicit selections are refused item by item; case and folder scopes leave items out and
 * say why (CW-LOC-031).
 */
function selectEvidence(
  request: Pick<CheckedInput, 'caseId' | 'scope' | 'folderIds' | 'evidenceIds'>,
  policy: SharingPolicy,
  folders: FolderRecord[],
  items: EvidenceRecord[],
): Selection {
  const byId = new Map(items.map((item) => [item.id, item]))
  const explicit = request.scope === 'evidence'
  const candidates = scopedEvidence(request, folders, items, byId)

  const categories = new Set(policy.content.evidenceCategories)
  const allowed = new Set<string>()
  const heldBack: HeldBackItem[] = []
  const holdBack = (item: EvidenceRecord, reason: HeldBackReason) => heldBack.push({ evidenceId: item.id, name: item.name, reason })
  for (const [index, item] of candidates.entries()) {
    const at = explicit ? `/evidenceIds/${index}` : undefined
    if (item.doNotDisclose) {
      if (explicit) throw new PolicyError('CW_ERR_DO_NOT_DISCLOSE', `evidence "${item.id}" (${item.name}) is marked do-not-disclose`, { at: at! })
      holdBack(item, 'do-not-disclose')
      continue
    }
    if (!categories.has(item.category)) {
      if (explicit) {
        throw new PolicyError(
          'CW_ERR_POLICY_VIOLATION',
          `evidence "${item.id}" has category "${item.category}", which policy "${policy.id}" v${policy.version} does not allow`,
          { at: at! },
        )
      }
      holdBack(item, 'category-excluded')
      continue
    }
    if (item.attachmentOf !== null && !policy.content.attachments) {
      if (explicit) {
        throw new PolicyError('CW_ERR_POLICY_VIOLATION', `evidence "${item.id}" is an attachment; policy "${policy.id}" v${policy.version} allows none`, {
          at: at!,
        })
      }
      holdBack(item, 'attachments-excluded')
      continue
    }
    allowed.add(item.id)
  }

  // An attachment travels only with the item it belongs to (CW-MAN-002), whatever the depth.
  const kept = new Map<string, boolean>()
  const isKept = (item: EvidenceRecord): boolean => {
    const path: EvidenceRecord[] = []
    let current: EvidenceRecord | undefined = item
    let result: boolean
    for (;;) {
      if (current === undefined || !allowed.has(current.id) || path.length > items.length) {
        result = false
        break
      }
      const known = kept.get(current.id)
      if (known !== undefined) {
        result = known
        break
      }
      path.push(current)
      if (current.attachmentOf === null) {
        result = true
        break
      }
      current = byId.get(current.attachmentOf)
    }
    for (const visited of path) kept.set(visited.id, result)
    return result
  }
  const shared: EvidenceRecord[] = []
  for (const [index, item] of candidates.entries()) {
    if (!allowed.has(item.id)) continue
    if (isKept(item)) shared.push(item)
    else if (explicit) {
      throw bad(`evidence "${item.id}" is an attachment of "${item.attachmentOf}", which is not shared: select it too`, `/evidenceIds/${index}`)
    } else holdBack(item, 'parent-not-shared')
  }
  return { shared, heldBack }
}

/** The selected folders and all their descendants. */
/**
 * The items a scope names, before any policy: the whole case, the items of the folders and their
 * subfolders, or the items named (each must be evidence of the case; `check` may refuse one).
 */
export function scopedEvidence(
  selection: { caseId: string; scope: 'case' | 'folders' | 'evidence'; folderIds: string[]; evidenceIds: string[] },
  folders: FolderRecord[],
  items: EvidenceRecord[],
  byId: ReadonlyMap<string, EvidenceRecord>,
  check?: (item: EvidenceRecord, index: number) => void,
): EvidenceRecord[] {
  if (selection.scope === 'case') return items
  if (selection.scope === 'folders') {
    const selected = folderSubtrees(selection.folderIds, folders)
    return items.filter((item) => item.folderId !== null && selected.has(item.folderId))
  }
  return selection.evidenceIds.map((id, index) => {
    const item = byId.get(id)
    if (item === undefined) throw bad(`"${id}" is not evidence of case "${selection.caseId}"`, `/evidenceIds/${index}`)
    check?.(item, index)
    return item
  })
}

export function folderSubtrees(folderIds: string[], folders: FolderRecord[]): Set<string> {
  const children = new Map<string, string[]>()
  const known = new Set<string>()
  for (const folder of folders) {
    known.add(folder.id)
    if (folder.parentId !== null) {
      const siblings = children.get(folder.parentId)
      if (siblings === undefined) children.set(folder.parentId, [folder.id])
      else siblings.push(folder.id)
    }
  }
  const selected = new Set<string>()
  const pending: string[] = []
  for (const [index, id] of folderIds.entries()) {
    if (!known.has(id)) throw bad(`"${id}" is not a folder of this case`, `/folderIds/${index}`)
    pending.push(id)
  }
  while (pending.length > 0) {
    const id = pending.pop()!
    if (selected.has(id)) continue
    selected.add(id)
    for (const child of children.get(id) ?? []) pending.push(child)
  }
  return selected
}

/** Case fields the policy allows (CW-POL-002). */
function allowedFields(caseRecord: CaseRecord, policy: SharingPolicy): Record<string, string | string[]> {
  const names = new Set(policy.content.caseFields)
  const fields: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(caseRecord.fields)) {
    if (names.has(name)) fields[name] = value
  }
  return fields
}

/** The folders holding shared items and their ancestors, parents before children; names only. */
function sharedFolders(folders: FolderRecord[], shared: EvidenceRecord[]): Folder[] {
  const byId = new Map(folders.map((folder) => [folder.id, folder]))
  const emitted = new Set<string>()
  const result: Folder[] = []
  for (const item of shared) {
    const path: FolderRecord[] = []
    let current = item.folderId === null ? undefined : byId.get(item.folderId)
    while (current !== undefined && !emitted.has(current.id)) {
      path.push(current)
      emitted.add(current.id)
      current = current.parentId === null ? undefined : byId.get(current.parentId)
    }
    for (let index = path.length - 1; index >= 0; index--) {
      const folder = path[index]!
      result.push(folder.parentId === null ? { id: folder.id, name: folder.name } : { id: folder.id, name: folder.name, parent: folder.parentId })
    }
  }
  return result
}

function toItem(record: EvidenceRecord): EvidenceItem {
  const item: EvidenceItem = {
    id: record.id,
    name: record.name,
    category: record.category,
    mediaType: record.mediaType,
    size: record.size,
    digest: record.digest,
    chunkSize: record.chunkSize,
    chunks: record.chunks,
    doNotDisclose: false,
  }
  if (record.folderId !== null) item.folder = record.folderId
  if (record.attachmentOf !== null) item.attachmentOf = record.attachmentOf
  return item
}

function shareBlock(share: OutboundShareRecord, revision: number, previous: string | undefined): CaseManifest['share'] {
  const block: CaseManifest['share'] = { id: share.id, revision, scope: share.scope, live: share.scope !== 'evidence' }
  if (previous !== undefined) block.previous = previous
  if (share.message !== null) block.message = share.message
  if (share.recipients.length > 0) block.recipients = share.recipients
  return block
}

function bad(message: string, at: string): RequestError {
  return new RequestError('CW_ERR_BAD_REQUEST', message, { at })
}
