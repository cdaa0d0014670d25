/**
 * Test support: an organization's PKI, evidence files on disk, and a package written in each
 * format through the real layout and stream.
 */
import { execFile } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { crc32 } from 'node:zlib'
import { createOrgCa, issueSigningCertificate } from '#certs'
import { digestBytes, digestJson, type Signer } from '#protocol'
import { buildPackage, layoutPackage, packageContent, streamLayout, type BuildPackageInput, type BuiltPackage, type PackageEvidence } from '#packaging'

export interface TestOrgPki {
  org: string
  caPem: string
  signer: Signer
}

export async function createTestOrgPki(org = 'metro-pd', now = new Date()): Promise<TestOrgPki> {
  const ca = await createOrgCa({ org, name: `Org ${org}`, now })
  const signing = await issueSigningCertificate(ca, { org, name: `Org ${org}`, now })
  const caPem = ca.certificate.toString('pem')
  return { org, caPem, signer: { privateKey: signing.privateKey, chain: [signing.certificate.toString('pem'), caPem] } }
}

export interface EvidenceSpec {
  name: string
  folders?: string[]
  content: Buffer
  transcript?: string
}

/** Writes each item's content to `dir` and returns it as processed evidence. */
export async function evidenceOnDisk(dir: string, specs: readonly EvidenceSpec[]): Promise<{ evidence: PackageEvidence[]; files: Map<string, string> }> {
  const files = new Map<string, string>()
  const evidence: PackageEvidence[] = []
  for (const [index, spec] of specs.entries()) {
    const id = `ev-${index + 1}`
    const file = join(dir, `${id}.bin`)
    await writeFile(file, spec.content)
    files.set(`evidence:${id}`, file)
    const item: PackageEvidence = {
      id,
      name: spec.name,
      folders: spec.folders ?? [],
      category: 'video',
      size: spec.content.length,
      sha256: digestBytes(spec.content),
      crc32: crc32(spec.content),
      createdAt: 1_700_000_000,
      uploadedAt: 1_700_000_100,
      uploadedBy: 'alice',
    }
    if (spec.transcript !== undefined) {
      const bytes = Buffer.from(spec.transcript)
      const tfile = join(dir, `${id}.vtt`)
      await writeFile(tfile, bytes)
      files.set(`transcript:${id}`, tfile)
      item.transcript = { name: `${spec.name}.vtt`, size: bytes.length, sha256: digestBytes(bytes), crc32: crc32(bytes) }
    }
    evidence.push(item)
  }
  return { evidence, files }
}

/** A hash-chained audit trail of `n` entries (CW-AUD-002). */
export function auditEntries(caseId: string, n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  let prev: string | null = null
  for (let seq = 1; seq <= n; seq++) {
    const content = {
      caseId,
      seq,
      at: 1_700_000_000 + seq,
      type: seq === 1 ? 'case.created' : 'evidence.uploaded',
      actor: { kind: 'user', id: 'alice' },
      data: { n: seq },
      prev,
    }
    const digest = digestJson(content)
    out.push({ ...content, digest })
    prev = digest
  }
  return out
}

export type PackageOverrides = Partial<Omit<BuildPackageInput, 'signer' | 'caCertificate' | 'evidence'>>

/** Builds a package and writes it to `out`. */
export async function writeTestPackage(
  pki: TestOrgPki,
  evidence: { evidence: PackageEvidence[]; files: Map<string, string> },
  out: string,
  overrides: PackageOverrides = {},
  isoOptions?: { maxExtentSize?: number },
): Promise<BuiltPackage> {
  const built = await buildPackage({
    packageId: 'pkg-1',
    format: 'zip',
    createdAt: Math.floor(Date.now() / 1000) - 60,
    expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    sender: { org: pki.org, name: `Org ${pki.org}`, user: 'Alice Example' },
    case: { id: 'case-1', fields: { number: '2024-0001', title: 'Burglary, 12 Elm St' } },
    evidence: evidence.evidence,
    retainFolderStructure: true,
    tableOfContents: true,
    transcripts: true,
    auditTrail: auditEntries('case-1', 5),
    message: 'Here is the case file for the hearing on Monday.',
    signer: pki.signer,
    caCertificate: pki.caPem,
    ...overrides,
  })
  const layout = layoutPackage(built, isoOptions)
  const open = packageContent(built, (id, kind, start, end) => createReadStream(evidence.files.get(`${kind}:${id}`)!, { start, end: end - 1 }))
  await pipeline(Readable.from(streamLayout(layout, open)), createWriteStream(out))
  return built
}

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export function run(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, [...args], { encoding: 'utf8', cwd: options.cwd, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
    })
  })
}
