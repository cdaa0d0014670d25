/**
 * Sharing a case with a link (SPEC.md §22, CW-LOC-032…CW-LOC-035): a link share names one
 * recipient, a selection of the case and the package's options; the `link-package` job builds
 * its package. Who may see, download and revoke it is decided here, for both listeners.
 *
 * Do-not-disclose evidence is never packaged: naming it is refused, a case or folder selection
 * leaves it out, and so it does with an attachment of such an item.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { isEmailAddress, PolicyError, RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { userActor, type Actor } from '../events.ts'
import { JOB } from '../jobs/kinds.ts'
import { requireCase } from '../cases/cases.ts'
import { relationTo, type AccessPrincipal } from '../access/case_access.ts'
import { scopedEvidence } from '../sending/share_case.ts'
import type { EvidenceRecord, FolderRecord, LinkRecipient, LinkShareRecord, PackageFormat, ShareScope } from '../store/metadata_store.ts'

export interface CreateLinkShareInput {
  caseId: string
  createdBy: string
  recipient: LinkRecipient
  scope: ShareScope
  folderIds?: string[]
  evidenceIds?: string[]
  format: PackageFormat
  retainFolderStructure?: boolean
  attachments?: { auditTrail?: boolean; tableOfContents?: boolean; transcripts?: boolean }
  message?: string
  /** How long the link lasts from now; cut to `links.maxDurationSeconds`. */
  expiresInSeconds?: number
}

/**
 * Creates a link share, processing, and queues the job that builds its package, in one
 * transaction with its `link.created` event.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (case), `CW_ERR_CONFLICT` (an imported case;
 *   an unknown local user or group, or partner), `CW_ERR_BAD_REQUEST` (selection, recipient).
 * @throws {PolicyError} `CW_ERR_DO_NOT_DISCLOSE` (do-not-disclose evidence named).
 */
export async function createLinkShare(ctx: NodeContext, input: CreateLinkShareInput): Promise<LinkShareRecord> {
  const caseRecord = await requireCase(ctx, input.caseId)
  if (caseRecord.importedFrom !== null) {
    // Another organization's evidence travels only under the chain it came with.
    throw new RequestError('CW_ERR_CONFLICT', `case "${caseRecord.id}" was imported from a share; it cannot be shared with a link`)
  }
  await checkRecipient(ctx, input.recipient)
  const folderIds = input.scope === 'folders' ? (input.folderIds ?? []) : []
  const evidenceIds = input.scope === 'evidence' ? (input.evidenceIds ?? []) : []
  if (input.scope === 'folders' && folderIds.length === 0) throw bad('a folder selection names at least one folder', '/folderIds')
  if (input.scope === 'evidence' && evidenceIds.length === 0) throw bad('an evidence selection names at least one item', '/evidenceIds')
  const [folders, items] = await Promise.all([ctx.store.cases.listFolders(caseRecord.id), ctx.store.cases.listEvidence(caseRecord.id)])
  // Checked now so the caller hears of a bad selection; selected again when the package is built.
  selectLinkEvidence({ caseId: caseRecord.id, scope: input.scope, folderIds, evidenceIds }, folders, items)

  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  const record: LinkShareRecord = {
    id: randomUUID(),
    caseId: caseRecord.id,
    createdBy: input.createdBy,
    recipient: { kind: input.recipient.kind, value: input.recipient.value },
    scope: input.scope,
    folderIds,
    evidenceIds,
    format: input.format,
    retainFolderStructure: input.retainFolderStructure ?? true,
    attachments: {
      auditTrail: input.attachments?.auditTrail ?? false,
      tableOfContents: input.attachments?.tableOfContents ?? true,
      transcripts: input.attachments?.transcripts ?? true,
    },
    message: input.message === undefined || input.message === '' ? null : input.message,
    state: 'processing',
    failure: null,
    createdAt: now,
    updatedAt: now,
    // spec: CW-LOC-032 — never longer than the node allows.
    expiresAt: now + Math.min(input.expiresInSeconds ?? Infinity, ctx.config.links.maxDurationSeconds),
    revokedAt: null,
    revokedBy: null,
    package: null,
    tokenHash: null,
  }
  await ctx.transaction(async (tx) => {
    await tx.store.linkShares.insert(record)
    await ctx.jobs.enqueue(tx, JOB.linkPackage, record.id)
    tx.record({
      type: 'link.created',
      caseId: record.caseId,
      actor: userActor(record.createdBy),
      linkShareId: record.id,
      recipient: `${record.recipient.kind}:${record.recipient.value}`,
      format: record.format,
      expiresAt: record.expiresAt,
    })
  })
  ctx.log.info({ linkShareId: record.id, caseId: record.caseId, format: record.format }, 'link share created')
  return record
}

async function checkRecipient(ctx: NodeContext, recipient: LinkRecipient): Promise<void> {
  switch (recipient.kind) {
    case 'email':
      if (!isEmailAddress(recipient.value)) throw bad('an e-mail recipient is an e-mail address', '/recipient/value')
      // spec: CW-LOC-038 — the link is e-mailed and served by the download listener: both must be on.
      if (ctx.config.links.downloadListener === undefined || ctx.config.notifications.smtp === undefined)
        throw conflict('e-mail recipients need the download listener (links.downloadListener) and an SMTP server (notifications.smtp)')
      return
    case 'local-user':
      if ((await ctx.store.principals.getUser(recipient.value)) === undefined) throw conflict(`no user "${recipient.value}"`)
      return
    case 'local-group':
      if ((await ctx.store.principals.getGroup(recipient.value)) === undefined) throw conflict(`no group "${recipient.value}"`)
      return
    case 'partner-user':
    case 'partner-group': {
      // `<partner org>/<user or group id there>`
      const slash = recipient.value.indexOf('/')
      if (slash <= 0 || slash === recipient.value.length - 1) throw bad('a partner recipient is "<partner org>/<id>"', '/recipient/value')
      const partner = await ctx.store.partners.get(recipient.value.slice(0, slash))
      if (partner === undefined || !partner.enabled || partner.trustOnly) throw conflict(`"${recipient.value.slice(0, slash)}" is not an enabled partner`)
      // spec: CW-PKG-011 — the id there is one the partner's node knows (checked by it, CW-PKG-012).
      if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(recipient.value.slice(slash + 1)))
        throw bad('a partner recipient is "<partner org>/<id>"', '/recipient/value')
      return
    }
  }
}

/** What the package of a link share holds: its evidence in case order. */
export function selectLinkEvidence(
  selection: Pick<LinkShareRecord, 'caseId' | 'scope' | 'folderIds' | 'evidenceIds'>,
  folders: FolderRecord[],
  items: EvidenceRecord[],
): EvidenceRecord[] {
  const byId = new Map(items.map((item) => [item.id, item]))
  const candidates = scopedEvidence(selection, folders, items, byId, (item, index) => {
    // spec: CW-LOC-033 — naming do-not-disclose evidence is refused.
    if (item.doNotDisclose)
      throw new PolicyError('CW_ERR_DO_NOT_DISCLOSE', `evidence "${item.id}" (${item.name}) is marked do-not-disclose`, { at: `/evidenceIds/${index}` })
  })
  const unique = new Set<string>()
  return candidates.filter((item) => {
    if (unique.has(item.id) || withheld(item, byId)) return false
    unique.add(item.id)
    return true
  })
}

/** Whether `item` or an item it is (transitively) an attachment of is do-not-disclose. */
function withheld(item: EvidenceRecord, byId: ReadonlyMap<string, EvidenceRecord>): boolean {
  let current: EvidenceRecord | undefined = item
  for (let depth = 0; current !== undefined && depth <= byId.size; depth++) {
    if (current.doNotDisclose) return true
    current = current.attachmentOf === null ? undefined : byId.get(current.attachmentOf)
  }
  return false
}

/** What a caller asks of a link share. */
export type LinkAccessMode = 'read' | 'download' | 'revoke'

/** The same answer for a missing link share and one the caller may not see. */
export function linkShareNotFound(id: string): RequestError {
  return new RequestError('CW_ERR_NOT_FOUND', `no link share "${id}"`)
}

/**
 * spec: CW-LOC-034 — link share `id` if `principal` may `mode` it: its creator and the case's
 * owner, team and administrators may do everything; a local user or group recipient may read
 * and download it. Anyone else gets the answer a missing id gets (and the refusal is recorded).
 */
export async function requireLinkShare(ctx: NodeContext, principal: AccessPrincipal, id: string, mode: LinkAccessMode): Promise<LinkShareRecord> {
  const link = await ctx.store.linkShares.get(id)
  if (link === undefined) throw linkShareNotFound(id)
  if (link.createdBy === principal.userId || relationTo(principal, await ctx.store.cases.getAccess(link.caseId)) !== 'none') return link
  const { kind, value } = link.recipient
  const recipient = (kind === 'local-user' && value === principal.userId) || (kind === 'local-group' && principal.groups.includes(value))
  if (recipient && mode !== 'revoke') return link
  await ctx.record({ type: 'action.refused', caseId: link.caseId, actor: userActor(principal.userId), action: `link.${mode}`, code: 'CW_ERR_NOT_FOUND' })
  throw linkShareNotFound(id)
}

/**
 * spec: CW-LOC-035 — a link share's package may be downloaded only while it is ready, unexpired
 * and unrevoked.
 *
 * @throws {RequestError} `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED` (410), `CW_ERR_CONFLICT` (processing or failed).
 */
export function requireDownloadable(
  ctx: NodeContext,
  link: LinkShareRecord,
): asserts link is LinkShareRecord & { package: NonNullable<LinkShareRecord['package']> } {
  if (link.state === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', `link share "${link.id}" was revoked`)
  if (link.expiresAt <= Math.floor(ctx.clock.now().getTime() / 1000)) throw new RequestError('CW_ERR_SHARE_EXPIRED', `link share "${link.id}" expired`)
  if (link.state !== 'ready' || link.package === null) {
    throw new RequestError('CW_ERR_CONFLICT', `link share "${link.id}" is ${link.state}${link.failure === null ? '' : `: ${link.failure}`}`)
  }
}

/** A link share as the local API shows it: never its token's hash; `expired` once past its expiry. */
export interface LinkShareView extends Omit<LinkShareRecord, 'state' | 'tokenHash' | 'updatedAt' | 'package'> {
  status: LinkShareRecord['state'] | 'expired'
  package: (NonNullable<LinkShareRecord['package']> & { fileName: string }) | null
}

export function describeLinkShare(ctx: NodeContext, link: LinkShareRecord): LinkShareView {
  const { state, tokenHash: _tokenHash, updatedAt: _updatedAt, package: built, ...rest } = link
  const expired = state !== 'revoked' && link.expiresAt <= Math.floor(ctx.clock.now().getTime() / 1000)
  return { ...rest, status: expired ? 'expired' : state, package: built === null ? null : { ...built, fileName: packageFileName(link) } }
}

/** The name a package downloads as: the case and the link share, with the format's extension. */
export function packageFileName(link: Pick<LinkShareRecord, 'id' | 'caseId' | 'format'>): string {
  return `case-${link.caseId}-${link.id.slice(0, 8)}.${link.format}`
}

/** The link shares of case `caseId`, oldest first. */
export function listLinkShares(ctx: NodeContext, caseId: string): Promise<LinkShareRecord[]> {
  return ctx.store.linkShares.list(caseId)
}

/**
 * Revokes a link share at once: its package is refused from then on (`link.revoked` on the
 * case's trail), and a partner recipient's node is sent the revocation (CW-PKG-015). Revoking a
 * revoked link share changes nothing.
 */
export async function revokeLinkShare(ctx: NodeContext, link: LinkShareRecord, actor: Actor & { kind: 'user' }): Promise<LinkShareRecord> {
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  await ctx.transaction(async (tx) => {
    if (!(await tx.store.linkShares.revoke(link.id, actor.id, now))) return
    tx.record({ type: 'link.revoked', caseId: link.caseId, actor, linkShareId: link.id })
    // spec: CW-PKG-015 — the partner's node is told, whatever became of the offer.
    if (link.recipient.kind === 'partner-user' || link.recipient.kind === 'partner-group') await ctx.jobs.enqueue(tx, JOB.packageRevoke, link.id)
  })
  const current = await ctx.store.linkShares.get(link.id)
  if (current === undefined) throw linkShareNotFound(link.id)
  return current
}

function bad(message: string, at: string): RequestError {
  return new RequestError('CW_ERR_BAD_REQUEST', message, { at })
}

function conflict(message: string): RequestError {
  return new RequestError('CW_ERR_CONFLICT', message, { at: '/recipient/value' })
}
