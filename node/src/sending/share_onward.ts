/**
 * Sharing an external case onward (SPEC.md §11, CW-PROV-001..009): a recipient of a share whose
 * effective policy allows onward sharing passes (part of) it to a further partner. The onward
 * manifest carries the received chain plus our onward grant; items keep the originator's digests
 * and chunk lists (never re-chunked), and we serve the partner only chunks we hold under the
 * onward share's chunk index.
 *
 * The onward share is an outbound share whose `caseId` is the external case id, so a revocation
 * of the inbound share cascades to it (`revocation/accept_revocation.ts`).
 *
 * @module
 */
import { withoutDefaults } from '../partners/policies.ts'
import { randomUUID } from 'node:crypto'
import {
  assertAttenuated,
  onwardGrant,
  PolicyError,
  RequestError,
  signGrant,
  type CaseManifest,
  type EvidenceItem,
  type Folder,
  type Grant,
  type Recipient,
  type SharingPolicy,
} from '#protocol'
import { applyVersioning, manifestVersioning, policyForVersion } from './shared_by.ts'
import type { NodeContext } from '../context.ts'
import { SHARE_LIMITS } from '../limits.ts'
import { userActor, type Actor } from '../events.ts'
import { JOB } from '../jobs/kinds.ts'
import type { InboundShareRecord, OutboundRevisionRecord, OutboundShareRecord } from '../store/metadata_store.ts'
import { requireExternalAccess, type AccessPrincipal } from '../access/case_access.ts'
import { appliedView } from '../receiving/applied.ts'
import { checkRecipients, idList, signRevision, type CreatedShare } from './share_case.ts'

export interface OnwardShareInput {
  /** The external case (inbound share) shared onward. */
  inboundId: string
  partnerOrg: string
  /** A stored policy version, or an inline policy; default the partner's assigned policy. */
  policy?: { id: string; version: number } | SharingPolicy
  /** A subset of the external case's items; default all the onward policy allows. */
  evidenceIds?: string[]
  message?: string
  recipients?: Recipient[]
}

/** The payload of a verified grant JWS (verified when the manifest carrying it was accepted). */
export function grantPayload(jws: string): Grant {
  const part = jws.split('.')[1]
  if (part === undefined) throw new TypeError('not a JWS')
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Grant
}

/**
 * Checks, as the receiver will (CW-PROV-004), that `onward` may follow `effective` to `partnerOrg`.
 *
 * @throws {PolicyError} `CW_ERR_CHAIN_DEPTH_EXCEEDED`, `CW_ERR_PARTNER_NOT_ALLOWED`, `CW_ERR_POLICY_WIDENED`.
 */
export function checkOnward(effective: SharingPolicy, onward: SharingPolicy, partnerOrg: string): void {
  const { shareOnward } = effective.permissions
  if (!shareOnward.allowed || (shareOnward.maxDepth ?? 0) < 1) {
    throw new PolicyError('CW_ERR_CHAIN_DEPTH_EXCEEDED', `policy "${effective.id}" v${effective.version} does not allow sharing onward`, {
      at: '/permissions/shareOnward',
    })
  }
  if (shareOnward.partners !== undefined && !shareOnward.partners.includes(partnerOrg)) {
    throw new PolicyError('CW_ERR_PARTNER_NOT_ALLOWED', `policy "${effective.id}" v${effective.version} does not allow sharing onward with "${partnerOrg}"`, {
      at: '/partnerOrg',
    })
  }
  assertAttenuated(onward, effective)
}

/**
 * Shares external case `input.inboundId` onward to `input.partnerOrg` for `principal` (a
 * recipient with content access). The share is complete (we hold its chunks), neither revoked
 * nor expired.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_CONFLICT` (not complete, partner unknown,
 *   disabled, trust-only or without policy), `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`, `CW_ERR_BAD_REQUEST`.
 * @throws {PolicyError} `CW_ERR_CHAIN_DEPTH_EXCEEDED`, `CW_ERR_PARTNER_NOT_ALLOWED`, `CW_ERR_POLICY_WIDENED`,
 *   `CW_ERR_POLICY_VIOLATION`.
 */
export async function shareOnward(ctx: NodeContext, principal: AccessPrincipal, input: OnwardShareInput): Promise<CreatedShare> {
  const { share: inbound } = await requireExternalAccess(ctx, principal, input.inboundId, 'content', 'external.share-onward')
  return shareReceivedOnward(ctx, inbound, input, { createdBy: principal.userId, actor: userActor(principal.userId) })
}

/** Who shares onward: the share's `createdBy` and the actor of its event. */
export interface OnwardSharer {
  createdBy: string
  actor: Actor
}

/**
 * {@link shareOnward} without a user's access check, once the caller decided `by` may share
 * external case `inbound` onward (the conformance control endpoint EP-9 acts for the partner
 * that sent it). Every other rule is the same.
 *
 * @throws as {@link shareOnward}.
 */
export async function shareReceivedOnward(
  ctx: NodeContext,
  inbound: InboundShareRecord,
  input: Omit<OnwardShareInput, 'inboundId'>,
  by: OnwardSharer,
): Promise<CreatedShare> {
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  if (inbound.status === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', `external case "${inbound.id}" was revoked`)
  if (inbound.status === 'expired' || inbound.expiresAt <= now) throw new RequestError('CW_ERR_SHARE_EXPIRED', `external case "${inbound.id}" has expired`)
  if (inbound.status !== 'complete') throw new RequestError('CW_ERR_CONFLICT', `external case "${inbound.id}" is still being received`)
  if (typeof input.partnerOrg !== 'string') throw bad('partnerOrg must be an organization id', '/partnerOrg')
  if (input.message !== undefined && (typeof input.message !== 'string' || input.message.length > SHARE_LIMITS.maxMessageLength)) {
    throw bad(`message must be a string of at most ${SHARE_LIMITS.maxMessageLength} characters`, '/message')
  }
  const evidenceIds = idList(input.evidenceIds, '/evidenceIds')
  const recipients = checkRecipients(input.recipients, input.partnerOrg)
  if (recipients.length === 0) recipients.push({ kind: 'agency', id: input.partnerOrg })

  const partner = await ctx.store.partners.get(input.partnerOrg)
  if (partner === undefined)
    throw new RequestError('CW_ERR_CONFLICT', `"${input.partnerOrg}" is not a partner: import its partner bundle first`, { at: '/partnerOrg' })
  if (!partner.enabled) throw new RequestError('CW_ERR_CONFLICT', `partner "${input.partnerOrg}" is disabled`, { at: '/partnerOrg' })
  // spec: CW-PROV-008 — a trust-only partner is an anchor for signed objects, never a share's partner.
  if (partner.trustOnly) {
    throw new RequestError('CW_ERR_CONFLICT', `"${input.partnerOrg}" is pinned as a trust anchor only; import it as a partner to share with it`, {
      at: '/partnerOrg',
    })
  }
  const policy = await onwardPolicy(ctx, input.policy, partner.policyId, partner.policyVersion, input.partnerOrg)
  // spec: CW-PROV-004, CW-POL-005 — refused here exactly as the receiver would refuse it.
  checkOnward(inbound.policy, policy, input.partnerOrg)

  const shareId = randomUUID()
  const built = await buildOnwardManifest(ctx, inbound, {
    shareId,
    partnerOrg: input.partnerOrg,
    policy,
    evidenceIds,
    message: input.message,
    recipients,
    now,
    createdBy: by.createdBy,
  })
  const share: OutboundShareRecord = {
    id: shareId,
    caseId: inbound.id,
    partnerOrg: input.partnerOrg,
    scope: built.manifest.share.scope,
    folderIds: [],
    evidenceIds,
    message: input.message ?? null,
    recipients,
    policy,
    status: 'processing',
    statusCode: null,
    statusDetail: null,
    revision: 1,
    createdBy: by.createdBy,
    createdAt: now,
    updatedAt: now,
    expiresAt: built.manifest.exp,
  }
  await ctx.transaction(async (tx) => {
    await tx.store.outboundShares.insert(share)
    await tx.store.outboundShares.insertRevision(built.revision, built.chunkDigests)
    await ctx.jobs.enqueue(tx, JOB.offer, shareId, { revision: 1 }, now)
    tx.record({
      type: 'share.created',
      caseId: inbound.id,
      actor: by.actor,
      shareId,
      partner: share.partnerOrg,
      revision: 1,
      items: built.manifest.evidence.length,
    })
  })
  ctx.log.info({ shareId, inboundId: inbound.id, partner: share.partnerOrg, policyId: policy.id, items: built.manifest.evidence.length }, 'shared onward')
  return { share, revision: built.revision, manifest: built.manifest }
}

async function onwardPolicy(
  ctx: NodeContext,
  given: OnwardShareInput['policy'],
  assignedId: string | null,
  assignedVersion: number | null,
  partnerOrg: string,
): Promise<SharingPolicy> {
  if (given !== undefined && (typeof given !== 'object' || given === null)) throw bad('policy is {id, version} or a policy', '/policy')
  // spec: CW-POL-008 — addRecipients goes on the wire only when true.
  if (given !== undefined && 'permissions' in given) return withoutDefaults(given)
  const id = given?.id ?? assignedId
  const version = given?.version ?? assignedVersion
  if (id === null || version === null) {
    throw new RequestError('CW_ERR_CONFLICT', `partner "${partnerOrg}" has no sharing policy: name one or have an administrator assign one`, {
      at: '/partnerOrg',
    })
  }
  const record = await ctx.store.policies.get(id, version)
  if (record === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no policy "${id}" version ${version}`, { at: '/policy' })
  return record.policy
}

export interface OnwardManifestOptions {
  shareId: string
  partnerOrg: string
  policy: SharingPolicy
  evidenceIds: string[]
  message: string | undefined
  recipients: Recipient[]
  now: number
  /** Who shares onward (CW-MAN-005: named in a 0.2 manifest); none named when absent. */
  createdBy?: string
}

/**
 * The signed onward manifest (revision 1) and its chunk index. Checks nothing about whether
 * the onward policy may follow the received one (`checkOnward` does). Stores nothing.
 */
export async function buildOnwardManifest(
  ctx: NodeContext,
  inbound: InboundShareRecord,
  options: OnwardManifestOptions,
): Promise<{ manifest: CaseManifest; revision: OutboundRevisionRecord; chunkDigests: Set<string> }> {
  const { policy, now } = options
  const grants = inbound.manifest.grants
  const parent = grantPayload(grants[grants.length - 1]!)
  const granted = new Set(parent.evidence)
  const view = await appliedView(ctx.store, inbound)
  const byId = new Map(view.evidence.map((item) => [item.id, item]))
  for (const [index, id] of options.evidenceIds.entries()) {
    if (!byId.has(id)) throw bad(`"${id}" is not evidence of external case "${inbound.id}"`, `/evidenceIds/${index}`)
  }
  const selected = options.evidenceIds.length > 0 ? new Set(options.evidenceIds) : undefined
  const categories = new Set(policy.content.evidenceCategories)
  const allowed = (item: EvidenceItem): boolean =>
    granted.has(item.digest) && !item.doNotDisclose && categories.has(item.category) && (item.attachmentOf === undefined || policy.content.attachments)
  const keep = new Set<string>()
  for (const item of view.evidence) {
    if ((selected === undefined || selected.has(item.id)) && allowed(item)) keep.add(item.id)
  }
  // An attachment goes only with the item it belongs to.
  const evidence = view.evidence.filter((item) => {
    let current: EvidenceItem | undefined = item
    for (let hops = 0; current !== undefined && hops <= view.evidence.length; hops++) {
      if (!keep.has(current.id)) return false
      if (current.attachmentOf === undefined) return true
      current = byId.get(current.attachmentOf)
    }
    return false
  })
  const exp = Math.min(parent.exp, inbound.expiresAt, now + Math.min(ctx.config.transfers.shareDurationSeconds, policy.maxDurationSeconds))
  // spec: CW-VER-004, CW-MAN-005, CW-MAN-006, CW-POL-008 — the highest common version decides the
  // manifest's version, who shared, and whether the onward grant may say addRecipients.
  const versioning = await manifestVersioning(ctx, options.partnerOrg, options.createdBy)
  const grant = onwardGrant(parent, {
    aud: options.partnerOrg,
    share: options.shareId,
    revision: 1,
    policy: policyForVersion(policy, versioning.cwv),
    iat: now,
    exp,
    evidence: evidence.map((item) => item.digest),
  })
  const grantJws = await signGrant(grant, ctx.identity.signer)
  const fieldNames = new Set(policy.content.caseFields)
  const fields: CaseManifest['case']['fields'] = {}
  for (const [name, value] of Object.entries(view.case.fields)) if (fieldNames.has(name)) fields[name] = value
  const share: CaseManifest['share'] = { id: options.shareId, revision: 1, scope: selected === undefined ? 'case' : 'evidence', live: false }
  if (options.message !== undefined) share.message = options.message
  if (options.recipients.length > 0) share.recipients = options.recipients
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: ctx.identity.org,
    aud: options.partnerOrg,
    iat: now,
    exp,
    jti: randomUUID(),
    share,
    case: { id: view.case.id, fields, folders: foldersOf(view.case.folders, evidence) },
    evidence: evidence.map((item) => ({ ...item })),
    grants: [...grants, grantJws],
  }
  applyVersioning(manifest, versioning)
  // spec: CW-POL-002
  const { revision, chunkDigests } = await signRevision(ctx, manifest, policy, now)
  return { manifest, revision, chunkDigests }
}

/** The folders holding the items and their ancestors, parents first. */
function foldersOf(folders: Folder[], items: EvidenceItem[]): Folder[] {
  const byId = new Map(folders.map((folder) => [folder.id, folder]))
  const needed = new Set<string>()
  for (const item of items) {
    let current = item.folder === undefined ? undefined : byId.get(item.folder)
    while (current !== undefined && !needed.has(current.id)) {
      needed.add(current.id)
      current = current.parent === undefined ? undefined : byId.get(current.parent)
    }
  }
  // The received folders are already parents-first (CW-MAN-002 tree order is kept).
  return folders.filter((folder) => needed.has(folder.id))
}

function bad(message: string, at: string): RequestError {
  return new RequestError('CW_ERR_BAD_REQUEST', message, { at })
}
