/**
 * Two organizations, two node processes, real mutual TLS on 127.0.0.1: a folder share goes
 * from offer to receipt, and the receiver's users see and download exactly the sender's bytes.
 */
import t from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { blobFiles, pair, startOrg } from '../support/processes.ts'

const settings = { transfers: { chunkSize: 262_144 as const, retryBaseMs: 100, retryMaxMs: 1000 } }

async function bytesOf(size: number, seed: string): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const part of generatedContent(size, seed)) parts.push(part)
  return Buffer.concat(parts)
}

// spec: CW-FED-001, CW-FED-003, CW-FED-007, CW-FED-008, CW-FED-009, CW-REC-001, CW-TLS-002, CW-TLS-003, CW-TLS-004, CW-POL-002
t.test('a folder with two items is delivered and downloads byte for byte', async (t) => {
  const [metro, county] = await Promise.all([
    startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings }),
    startOrg(t, { org: 'county-da', name: 'County DA', settings }),
  ])
  await pair(metro, county)
  const policy = await metro.api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video', 'document'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', policy.id)

  const theCase = await metro.api.createCase({ caseNumber: 'MPD-1', title: 'Burglary', suspectName: 'J. Doe' })
  const shared = await metro.api.createFolder(theCase.id, 'Shared')
  const other = await metro.api.createFolder(theCase.id, 'Other')
  const sizes = { 'bodycam.mp4': 700_001, 'statement.pdf': 300_000 } as const
  const video = await metro.api.uploadEvidence(
    theCase.id,
    { name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4', folderId: shared.id },
    generatedContent(sizes['bodycam.mp4'], 'video'),
  )
  const document = await metro.api.uploadEvidence(
    theCase.id,
    { name: 'statement.pdf', category: 'document', mediaType: 'application/pdf', folderId: shared.id },
    generatedContent(sizes['statement.pdf'], 'document'),
  )
  await metro.api.uploadEvidence(theCase.id, { name: 'elsewhere.pdf', category: 'document', folderId: other.id }, generatedContent(1000, 'elsewhere'))

  const share = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'folders', folderIds: [shared.id] })
  t.equal(share.status, 'processing', 'the new share is processing')
  const delivered = await waitFor(
    'delivered',
    async (seen) => {
      const current = await metro.api.getShare(share.id)
      seen(`${current.status} ${current.statusCode ?? ''}`)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs: 30_000 },
  )
  t.equal(delivered.statusCode, null)

  const summaries = await county.api.listExternalCases()
  t.equal(summaries.length, 1, 'one external case on the receiver')
  const external = await county.api.getExternalCase(summaries[0]!.id)
  t.equal(external.status, 'complete')
  t.same(external.sender, { org: 'metro-pd', name: 'Metro PD' }, 'marked with the sharing organization')
  t.equal(external.shareId, share.id)
  t.same(external.case.fields, { caseNumber: 'MPD-1', title: 'Burglary' }, 'only the fields the policy allows')
  t.same(
    external.evidence.map((item) => [item.name, item.size, item.digest]).sort(),
    [
      ['bodycam.mp4', video.size, video.digest],
      ['statement.pdf', document.size, document.digest],
    ],
    "the two items of the folder, with the sender's digests",
  )

  for (const item of external.evidence) {
    const download = await county.api.downloadExternalEvidence(external.id, item.id, { keepBytes: true })
    const expected = await bytesOf(sizes[item.name as keyof typeof sizes], item.name === 'bodycam.mp4' ? 'video' : 'document')
    t.equal(download.digest, item.digest, `${item.name}: SHA-256 of the download is the manifest digest`)
    t.ok(download.bytes!.equals(expected), `${item.name}: the receiver serves the sender's bytes`)
  }

  // Chunks are content addressed on the receiver too: exactly the chunks of the two items.
  const stored = await blobFiles(county.node)
  t.equal(stored.size, Math.ceil(sizes['bodycam.mp4'] / 262_144) + Math.ceil(sizes['statement.pdf'] / 262_144))
})
