/**
 * Version negotiation between real node processes over mutual TLS (SPEC.md §15): a v0.2 node
 * and a node configured as a v0.1 node (`federation.protocolVersions: ["0.1"]`) share both ways
 * at 0.1, and two v0.2 nodes share at 0.2 with the sender identity shown on the receiver's
 * external case and import details (CW-MAN-005).
 */
import t from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { pair, startOrg, type OrgProcess } from '../support/processes.ts'

const transfers = { chunkSize: 262_144 as const, retryBaseMs: 100, retryMaxMs: 1000 }
const permissions = { view: true as const, download: true, import: true, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } }

/** `from` shares a new one-item case with `to`; resolves with `to`'s external case once delivered. */
async function shareOneItem(from: OrgProcess, to: OrgProcess, caseNumber: string) {
  const policy = await from.api.createPolicy({
    name: `To ${to.node.org}`,
    permissions,
    content: { caseFields: ['caseNumber'], evidenceCategories: ['document'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await from.api.assignPolicy(to.node.org, policy.id)
  const theCase = await from.api.createCase({ caseNumber })
  await from.api.uploadEvidence(
    theCase.id,
    { name: `${caseNumber}.pdf`, category: 'document', mediaType: 'application/pdf' },
    generatedContent(5000, caseNumber),
  )
  const share = await from.api.createShare({ caseId: theCase.id, partnerOrg: to.node.org, scope: 'case' })
  await waitFor(
    `${caseNumber} delivered`,
    async (seen) => {
      const current = await from.api.getShare(share.id)
      seen(`${current.status} ${current.statusCode ?? ''}`)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs: 30_000 },
  )
  const summary = (await to.api.listExternalCases()).find((external) => external.shareId === share.id)
  if (summary === undefined) throw new Error(`${to.node.org} holds no external case for ${caseNumber}`)
  return to.api.getExternalCase(summary.id)
}

// spec: CW-VER-003, CW-VER-004, CW-VER-005, CW-MAN-005, CW-MAN-006
t.test('a v0.2 node shares with a v0.1 node at 0.1 without sender identity, and v0.2 nodes share at 0.2 with it', async (t) => {
  // One after the other: three node processes starting at once can take long on a busy machine.
  const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } })
  const county = await startOrg(t, { org: 'county-da', name: 'County DA', settings: { transfers } })
  const legacy = await startOrg(t, { org: 'legacy-so', name: 'Legacy SO', settings: { transfers, federation: { protocolVersions: ['0.1'] } } })
  await Promise.all([pair(metro, county), pair(metro, legacy)])

  const atLatest = await shareOneItem(metro, county, 'MPD-2')
  t.equal(atLatest.protocolVersion, '0.2', 'two v0.2 nodes exchange a 0.2 manifest')
  t.ok(atLatest.sharedBy !== undefined && atLatest.sharedBy.name.length > 0, 'the external case names who shared')
  t.match(atLatest.sharedBy?.id, /^u\.[A-Za-z0-9_-]{43}$/, 'by an opaque id')
  const imported = await county.api.importExternalCase(atLatest.id)
  const details = await county.api.getImportDetails(imported.id)
  t.equal(details.sharedBy, atLatest.sharedBy?.name, 'the import details show who shared')
  t.equal(details.sharedById, atLatest.sharedBy?.id)

  const toLegacy = await shareOneItem(metro, legacy, 'MPD-1')
  t.equal(toLegacy.protocolVersion, '0.1', 'a v0.1 partner gets a 0.1 manifest')
  t.equal(toLegacy.sharedBy, undefined, 'without the sender identity 0.1 does not define')

  const fromLegacy = await shareOneItem(legacy, metro, 'LSO-1')
  t.equal(fromLegacy.protocolVersion, '0.1', "a v0.1 partner's 0.1 manifest is accepted by a v0.2 node")
  t.equal(fromLegacy.sharedBy, undefined)
})
