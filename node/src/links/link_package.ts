/**
 * The package of a link share (SPEC.md §22): built and signed once by the `link-package` job,
 * then streamed byte-identically on every download, whole or any byte range.
 *
 * Building reads each evidence item once (its CRC-32, which ZIP headers need in advance, and
 * its SHA-256, checked against the stored digest) and never copies it: the generated members
 * (manifest, SHA256SUMS, VERIFY.txt, table of contents, audit trail) are kept as blobs, the
 * evidence by id, and the archive's layout follows from the members in order.
 *
 * @module
 */
import { addAbortSignal, Readable } from 'node:stream'
import { digestBytes } from '#protocol'
import { buildPackage, digestContent, layoutMembers, streamLayout, type Layout, type PackageEvidence, type PackageMember } from '#packaging'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { JOB } from '../jobs/kinds.ts'
import { openChunks } from '../cases/evidence.ts'
import { auditPages } from '../audit/audit_trail.ts'
import type { AuditEntryRecord, EvidenceRecord, FolderRecord, LinkShareMember, LinkShareRecord } from '../store/metadata_store.ts'
import type { ByteRange } from '../store/blob_store.ts'
import { selectLinkEvidence } from './link_shares.ts'

/** A package that cannot be built as asked: the link share fails with this reason, no retry. */
class PackageRefused extends Error {}

/** The handler of the `link-package` job (ref = link share id). */
export function linkPackageJobHandler(ctx: NodeContext): JobHandler {
  return async (job, signal) => {
    const link = await ctx.store.linkShares.get(job.ref)
    if (link === undefined) throw new PermanentJobError(`no link share ${job.ref}`)
    if (link.state !== 'processing') return
    const log = ctx.log.child({ linkShareId: link.id, caseId: link.caseId })
    let built: Awaited<ReturnType<typeof buildLinkPackage>>
    try {
      built = await buildLinkPackage(ctx, link, signal)
    } catch (error) {
      if (signal.aborted || !(error instanceof PackageRefused)) throw error
      const at = Math.floor(ctx.clock.now().getTime() / 1000)
      await ctx.transaction(async (tx) => {
        if (await tx.store.linkShares.fail(link.id, error.message, at))
          tx.record({ type: 'link.failed', caseId: link.caseId, actor: SYSTEM_ACTOR, linkShareId: link.id, error: error.message })
      })
      log.warn({ reason: error.message }, 'link share failed')
      return
    }
    const at = Math.floor(ctx.clock.now().getTime() / 1000)
    await ctx.transaction(async (tx) => {
      // A link share revoked while its package was built stays revoked.
      if (await tx.store.linkShares.complete(link.id, built.record, built.members, at)) {
        // The capability link of an e-mail recipient; a notice to a local user or group when the node mails.
        const kind = link.recipient.kind
        if (kind === 'email' || (ctx.config.notifications.smtp !== undefined && (kind === 'local-user' || kind === 'local-group')))
          await ctx.jobs.enqueue(tx, JOB.linkEmail, link.id)
        // spec: CW-PKG-011 — a partner's user or group: offered to its node once built.
        if (kind === 'partner-user' || kind === 'partner-group') await ctx.jobs.enqueue(tx, JOB.packageOffer, link.id)
        tx.record({
          type: 'link.ready',
          caseId: link.caseId,
          actor: SYSTEM_ACTOR,
          linkShareId: link.id,
          items: built.record.items,
          bytes: built.record.size,
          packageDigest: built.record.digest,
        })
      }
    })
    log.info({ items: built.record.items, bytes: built.record.size }, 'link share ready')
  }
}

/** Builds and signs the package of `link`, stores its generated members as blobs; stores nothing else. */
async function buildLinkPackage(
  ctx: NodeContext,
  link: LinkShareRecord,
  signal: AbortSignal,
): Promise<{ record: NonNullable<LinkShareRecord['package']>; members: LinkShareMember[] }> {
  const caseRecord = await ctx.store.cases.get(link.caseId)
  if (caseRecord === undefined) throw new PackageRefused(`case ${link.caseId} no longer exists`)
  const [folders, items] = await Promise.all([ctx.store.cases.listFolders(link.caseId), ctx.store.cases.listEvidence(link.caseId)])
  let selected: EvidenceRecord[]
  try {
    selected = selectLinkEvidence(link, folders, items)
  } catch (error) {
    throw new PackageRefused(error instanceof Error ? error.message : String(error))
  }
  const folderPath = folderPaths(folders)
  const transcripts = link.attachments.transcripts ? transcriptsOf(selected) : new Map<string, EvidenceRecord>()
  const transcriptIds = new Set([...transcripts.values()].map((transcript) => transcript.id))
  // A stopping node aborts the read of a large item, not only the loop between items.
  const digest = async (item: EvidenceRecord) => {
    signal.throwIfAborted()
    const digested = await digestContent(addAbortSignal(signal, openChunks(ctx, item.chunks)))
    if (digested.sha256 !== item.digest || digested.size !== item.size) throw new PackageRefused(`evidence ${item.id} does not match its stored digest`)
    return digested
  }
  const evidence: PackageEvidence[] = []
  for (const item of selected) {
    if (transcriptIds.has(item.id)) continue
    const digested = await digest(item)
    const transcript = transcripts.get(item.id)
    evidence.push({
      ...(transcript === undefined
        ? {}
        : { transcript: { name: transcript.name, size: transcript.size, sha256: transcript.digest, crc32: (await digest(transcript)).crc32 } }),
      id: item.id,
      name: item.name,
      folders: item.folderId === null ? [] : (folderPath.get(item.folderId) ?? []),
      category: item.category,
      size: item.size,
      sha256: item.digest,
      crc32: digested.crc32,
      createdAt: item.createdAt,
    })
  }
  let auditTrail: Record<string, unknown>[] | undefined
  if (link.attachments.auditTrail) {
    auditTrail = []
    for await (const page of auditPages(ctx.store, link.caseId)) auditTrail.push(...page.map(auditEntryObject))
  }
  const createdAt = Math.floor(ctx.clock.now().getTime() / 1000)
  const built = await buildPackage({
    packageId: link.id,
    format: link.format,
    createdAt,
    expiresAt: link.expiresAt,
    sender: { org: ctx.identity.org, name: ctx.identity.name, user: link.createdBy },
    case: { id: caseRecord.id, fields: Object.fromEntries(Object.entries(caseRecord.fields).map(([name, value]) => [name, [value].flat().join(', ')])) },
    evidence,
    retainFolderStructure: link.retainFolderStructure,
    tableOfContents: link.attachments.tableOfContents,
    transcripts: link.attachments.transcripts,
    ...(auditTrail === undefined ? {} : { auditTrail }),
    ...(link.message === null ? {} : { message: link.message }),
    signer: ctx.identity.signer,
    caCertificate: ctx.identity.caCertificate,
  })
  const members: LinkShareMember[] = []
  for (const member of built.members) {
    const source = built.sources.get(member.path)!
    if (source.kind === 'generated') {
      const digest = digestBytes(source.bytes)
      await ctx.blobs.put(digest, source.bytes)
      members.push({ path: member.path, size: member.size, crc32: member.crc32, source: { kind: 'generated', digest } })
    } else {
      // A transcript member is named by the item it transcribes: its bytes are the transcript's.
      const id = source.kind === 'transcript' ? transcripts.get(source.id)!.id : source.id
      members.push({ path: member.path, size: member.size, crc32: member.crc32, source: { kind: 'evidence', id } })
    }
  }
  const layout = layoutMembers(link.format, built.members)
  return { record: { createdAt, size: layout.size, digest: digestBytes(built.jws), items: evidence.length }, members }
}

/** An audit entry as the package's `audit-trail.jsonl` line holds it (the fields its digest covers, and the digest). */
function auditEntryObject(entry: AuditEntryRecord): Record<string, unknown> {
  const { caseId, seq, at, type, actor, data, prev, digest } = entry
  return { caseId, seq, at, type, actor, data, prev, digest }
}

/** Each folder's names from the top of the case. */
function folderPaths(folders: readonly FolderRecord[]): Map<string, string[]> {
  const byId = new Map(folders.map((folder) => [folder.id, folder]))
  const paths = new Map<string, string[]>()
  const pathOf = (folder: FolderRecord, depth: number): string[] => {
    const known = paths.get(folder.id)
    if (known !== undefined) return known
    const parent = folder.parentId === null || depth > folders.length ? undefined : byId.get(folder.parentId)
    const path = parent === undefined ? [folder.name] : [...pathOf(parent, depth + 1), folder.name]
    paths.set(folder.id, path)
    return path
  }
  for (const folder of folders) pathOf(folder, 0)
  return paths
}

/** Media types a transcript is kept in (plain text, WebVTT). */
const TRANSCRIPT_MEDIA_TYPES = new Set(['text/plain', 'text/vtt'])

/**
 * The transcript of each selected item that has one, by the item's id: an attachment of it in
 * the selection whose media type is plain text or WebVTT (the first, in case order). It goes under
 * `transcripts/` beside its item instead of being an item of its own.
 */
function transcriptsOf(selected: readonly EvidenceRecord[]): Map<string, EvidenceRecord> {
  const byId = new Map(selected.map((item) => [item.id, item]))
  const transcripts = new Map<string, EvidenceRecord>()
  for (const item of selected) {
    // Of an item that is itself no attachment: that item stays in the package to hold it.
    const parent = item.attachmentOf === null ? undefined : byId.get(item.attachmentOf)
    const mediaType = item.mediaType.split(';')[0]!.trim().toLowerCase()
    if (parent === undefined || parent.attachmentOf !== null || transcripts.has(parent.id) || !TRANSCRIPT_MEDIA_TYPES.has(mediaType)) continue
    transcripts.set(parent.id, item)
  }
  return transcripts
}

/** A ready link share's package: its layout, and its bytes (whole or an inclusive range) as a stream. */
export interface LinkPackage {
  layout: Layout
  open(range: ByteRange | undefined): Readable
}

/** The package of ready link share `link`, laid out again from its stored members. */
export async function openLinkPackage(ctx: NodeContext, link: LinkShareRecord & { package: NonNullable<LinkShareRecord['package']> }): Promise<LinkPackage> {
  const stored = await ctx.store.linkShares.listMembers(link.id)
  const mtime = link.package.createdAt
  const members: PackageMember[] = stored.map((member) => ({ path: member.path, size: member.size, crc32: member.crc32, mtime }))
  const layout = layoutMembers(link.format, members)
  const sources = new Map(stored.map((member) => [member.path, member.source]))
  const evidence = new Map<string, EvidenceRecord>()
  const openContent = async (member: PackageMember, start: number, end: number): Promise<Readable> => {
    const source = sources.get(member.path)!
    const range = { start, end: end - 1 }
    if (source.kind === 'generated') return ctx.blobs.get(source.digest, range)
    let item = evidence.get(source.id)
    if (item === undefined) {
      item = await ctx.store.cases.getEvidence(source.id)
      if (item === undefined) throw new Error(`evidence ${source.id} of link share ${link.id} is gone`)
      evidence.set(source.id, item)
    }
    return openChunks(ctx, item.chunks, { range, chunkSize: item.chunkSize })
  }
  return {
    layout,
    open: (range) =>
      Readable.from(streamLayout(layout, openContent, range === undefined ? undefined : { start: range.start, end: range.end + 1 }), { objectMode: false }),
  }
}
