/**
 * What a case package holds, and its signed manifest (SPEC.md §22): evidence under
 * `evidence/` (in its folders, or flat), transcripts under `transcripts/`, and at the root the
 * signed package manifest (`package-manifest.jws`, its payload `package-manifest.json` and its
 * signature for OpenSSL `package-manifest.sig`), the sender's CA and signing certificates,
 * `SHA256SUMS`, `VERIFY.txt`, the table of contents (HTML, CSV), the audit trail (JSON lines
 * and a readable rendering) and the sender's message.
 *
 * Generated files are small and held in memory; evidence never is: the caller opens it.
 *
 * @module
 */
import { createHash, X509Certificate } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { canonicalJson, digestBytes, signPackageManifest, type PackageManifest, type Signer } from '#protocol'
import type { PackageMember } from './layout.ts'
import { allocatePaths } from './names.ts'
import { joseSignatureToDer } from './signature.ts'
import type { OpenContent } from './stream.ts'
import { renderAuditText, renderTocCsv, renderTocHtml, renderVerifyText, type TocRow } from './render.ts'

/** One evidence item, as processed by the node: size, SHA-256 and CRC-32 known. */
export interface PackageEvidence {
  id: string
  name: string
  /** Folder names from the top of the case. */
  folders: readonly string[]
  category?: string
  size: number
  /** `sha256:<hex>`. */
  sha256: string
  crc32: number
  createdAt?: number
  uploadedAt?: number
  uploadedBy?: string
  /** A text or WebVTT transcript, when the item has one. */
  transcript?: { name: string; size: number; sha256: string; crc32: number }
}

export interface BuildPackageInput {
  packageId: string
  format: 'zip' | 'tar' | 'iso'
  /** Seconds since the epoch: package creation (every member's mtime, `iat`). */
  createdAt: number
  /** Seconds since the epoch: link expiry (`exp`). */
  expiresAt: number
  sender: { org: string; name: string; user?: string }
  case: { id: string; fields: Record<string, string> }
  evidence: readonly PackageEvidence[]
  retainFolderStructure: boolean
  tableOfContents: boolean
  transcripts: boolean
  /** The case's audit entries (CW-AUD-002), oldest first; included when given. */
  auditTrail?: readonly Record<string, unknown>[]
  message?: string
  signer: Signer
  /** The sending organization's CA certificate, PEM. */
  caCertificate: string
}

/** Where a member's bytes come from. */
export type MemberSource = { kind: 'generated'; bytes: Uint8Array } | { kind: 'evidence'; id: string } | { kind: 'transcript'; id: string }

export interface BuiltPackage {
  manifest: PackageManifest
  jws: string
  /** Archive members in order: the fixed root files first, then every listed file by path. */
  members: PackageMember[]
  sources: Map<string, MemberSource>
}

/** Reads part of an evidence item or its transcript. */
export type OpenEvidence = (id: string, kind: 'evidence' | 'transcript', start: number, end: number) => ReturnType<OpenContent>

const encoder = new TextEncoder()

function generated(path: string, text: string | Uint8Array): { path: string; bytes: Uint8Array } {
  return { path, bytes: typeof text === 'string' ? encoder.encode(text) : text }
}

/**
 * Lays out and signs a package: allocates safe paths, renders the generated files, signs the
 * package manifest. Evidence is not read (its digests come from processing).
 */
export async function buildPackage(input: BuildPackageInput): Promise<BuiltPackage> {
  const sources = new Map<string, MemberSource>()
  const files: PackageManifest['files'] = []
  const blobs: { path: string; bytes: Uint8Array; role: PackageManifest['files'][number]['role'] }[] = []
  const sizes = new Map<string, { size: number; crc32: number }>()

  const evidencePaths = allocatePaths('evidence', input.evidence, { retainFolderStructure: input.retainFolderStructure })
  const withTranscript = input.transcripts ? input.evidence.filter((item) => item.transcript !== undefined) : []
  const transcriptPaths = allocatePaths(
    'transcripts',
    withTranscript.map((item) => ({ folders: item.folders, name: `${item.name}.${item.transcript!.name.split('.').pop() ?? 'txt'}` })),
    { retainFolderStructure: input.retainFolderStructure },
  )
  const rows: TocRow[] = []
  input.evidence.forEach((item, index) => {
    const path = evidencePaths[index]!
    sources.set(path, { kind: 'evidence', id: item.id })
    sizes.set(path, { size: item.size, crc32: item.crc32 })
    const evidence = { id: item.id, originalName: item.name.toWellFormed(), ...(item.category === undefined ? {} : { category: item.category }) }
    files.push({ path, size: item.size, sha256: item.sha256, role: 'evidence', evidence })
    rows.push({ path, role: 'evidence', item, originalName: item.name })
  })
  withTranscript.forEach((item, index) => {
    const path = transcriptPaths[index]!
    const transcript = item.transcript!
    sources.set(path, { kind: 'transcript', id: item.id })
    sizes.set(path, { size: transcript.size, crc32: transcript.crc32 })
    files.push({
      path,
      size: transcript.size,
      sha256: transcript.sha256,
      role: 'transcript',
      evidence: { id: item.id, originalName: transcript.name.toWellFormed() },
    })
    rows.push({ path, role: 'transcript', item: { ...item, size: transcript.size, sha256: transcript.sha256 }, originalName: transcript.name })
  })

  const signing = new X509Certificate(input.signer.chain[0]!)
  blobs.push({ ...generated('ca.crt', new X509Certificate(input.caCertificate).toString()), role: 'ca-certificate' })
  blobs.push({ ...generated('signing.crt', signing.toString()), role: 'signing-certificate' })
  blobs.push({ ...generated('VERIFY.txt', renderVerifyText({ sender: input.sender.name, org: input.sender.org })), role: 'verify-instructions' })
  if (input.tableOfContents) {
    blobs.push({ ...generated('table-of-contents.csv', renderTocCsv(rows)), role: 'table-of-contents' })
    blobs.push({ ...generated('table-of-contents.html', renderTocHtml(rows, input)), role: 'table-of-contents' })
  }
  let audit: PackageManifest['audit']
  if (input.auditTrail !== undefined && input.auditTrail.length > 0) {
    const lines = input.auditTrail.map((entry) => canonicalJson(entry) + '\n').join('')
    blobs.push({ ...generated('audit-trail.jsonl', lines), role: 'audit-trail' })
    blobs.push({ ...generated('audit-trail.txt', renderAuditText(input.auditTrail)), role: 'audit-trail' })
    const last = input.auditTrail[input.auditTrail.length - 1]!
    audit = { head: String(last['digest']), seq: Number(last['seq']), path: 'audit-trail.jsonl' }
  }
  if (input.message !== undefined && input.message !== '')
    blobs.push({ ...generated('message.txt', input.message.endsWith('\n') ? input.message : input.message + '\n'), role: 'message' })
  for (const blob of blobs) {
    sources.set(blob.path, { kind: 'generated', bytes: blob.bytes })
    sizes.set(blob.path, { size: blob.bytes.length, crc32: crc32(blob.bytes) })
    files.push({ path: blob.path, size: blob.bytes.length, sha256: digestBytes(blob.bytes), role: blob.role })
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))

  const sums = encoder.encode(renderSha256Sums(files))
  const manifest: PackageManifest = {
    cwv: '0.1',
    iss: input.sender.org,
    iat: input.createdAt,
    exp: input.expiresAt,
    jti: input.packageId,
    sender: { ...input.sender },
    case: { id: input.case.id, fields: { ...input.case.fields } },
    options: {
      format: input.format,
      retainFolderStructure: input.retainFolderStructure,
      auditTrail: audit !== undefined,
      transcripts: input.transcripts,
      tableOfContents: input.tableOfContents,
      message: input.message !== undefined && input.message !== '',
    },
    ...(audit === undefined ? {} : { audit }),
    files,
    sha256sums: digestBytes(sums),
  }
  const jws = await signPackageManifest(manifest, input.signer)
  const [, payload, signature] = jws.split('.') as [string, string, string]
  const fixed = [
    generated('package-manifest.jws', jws + '\n'),
    generated('package-manifest.json', Buffer.from(payload, 'base64url')),
    generated('package-manifest.sig', joseSignatureToDer(Buffer.from(signature, 'base64url'), signing)),
    generated('SHA256SUMS', sums),
  ]
  const members: PackageMember[] = []
  for (const file of fixed) {
    sources.set(file.path, { kind: 'generated', bytes: file.bytes })
    members.push({ path: file.path, size: file.bytes.length, crc32: crc32(file.bytes), mtime: input.createdAt })
  }
  for (const file of files) members.push({ path: file.path, ...sizes.get(file.path)!, mtime: input.createdAt })
  return { manifest, jws, members, sources }
}

/** `SHA256SUMS` as `sha256sum -c` reads it: `<hex>  <path>` per listed file. */
export function renderSha256Sums(files: readonly { path: string; sha256: string }[]): string {
  return files.map((file) => `${file.sha256.slice('sha256:'.length)}  ${file.path}\n`).join('')
}

/** An {@link OpenContent} for a built package: generated files from memory, evidence through `openEvidence`. */
export function packageContent(built: Pick<BuiltPackage, 'sources'>, openEvidence: OpenEvidence): OpenContent {
  return (member, start, end) => {
    const source = built.sources.get(member.path)
    if (source === undefined) throw new TypeError(`not a member of this package: ${member.path}`)
    if (source.kind === 'generated') return [source.bytes.subarray(start, end)]
    return openEvidence(source.id, source.kind, start, end)
  }
}

/** SHA-256 (as a digest) and CRC-32 of a stream, computed together at processing time. */
export async function digestContent(content: AsyncIterable<Uint8Array>): Promise<{ size: number; sha256: string; crc32: number }> {
  const hash = createHash('sha256')
  let crc = 0
  let size = 0
  for await (const chunk of content) {
    hash.update(chunk)
    crc = crc32(chunk, crc)
    size += chunk.length
  }
  return { size, sha256: 'sha256:' + hash.digest('hex'), crc32: crc }
}
