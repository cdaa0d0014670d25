/**
 * Batched chunk pulls between real node processes over mutual TLS (SPEC.md §16, CW-VER-007,
 * CW-BAT-001..006): a case of many small items goes from metro-pd to county-da in EP-20 batches
 * — the sender's request log shows batch requests and next to no EP-2 pulls — and every item
 * downloads byte for byte; a sender configured without the feature (`federation.chunkBatches:
 * false`, as a v0.1 or older v0.2 node) lists none, and is pulled from on EP-2 only.
 */
import t, { type Test } from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { chunkRequests, pair, startOrg, type OrgProcess } from '../support/processes.ts'

const transfers = { chunkSize: 65_536 as const, retryBaseMs: 100, retryMaxMs: 1000 }
const permissions = { view: true as const, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } }
const ITEMS = 150
const ITEM_BYTES = 5000

/** `from` shares a new case of `count` small documents with `to`; resolves once delivered, with the share and `to`'s external case. */
async function shareSmallItems(from: OrgProcess, to: OrgProcess, caseNumber: string, count: number) {
  const policy = await from.api.createPolicy({
    name: `To ${to.node.org}`,
    permissions,
    content: { caseFields: ['caseNumber'], evidenceCategories: ['document'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await from.api.assignPolicy(to.node.org, policy.id)
  const theCase = await from.api.createCase({ caseNumber })
  const uploaded = new Map<string, string>()
  for (let index = 0; index < count; index += 1) {
    const name = `${caseNumber}-${index}.pdf`
    // One item a bit over 64 KiB: its chunks are pulled as before (EP-2), next to the batches.
    const size = index === 0 ? 70_000 : ITEM_BYTES + index
    const item = await from.api.uploadEvidence(theCase.id, { name, category: 'document', mediaType: 'application/pdf' }, generatedContent(size, name))
    uploaded.set(name, item.digest)
  }
  const share = await from.api.createShare({ caseId: theCase.id, partnerOrg: to.node.org, scope: 'case' })
  await waitFor(
    `${caseNumber} delivered`,
    async (seen) => {
      const current = await from.api.getShare(share.id)
      seen(`${current.status} ${current.statusCode ?? ''}`)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  )
  const summary = (await to.api.listExternalCases()).find((external) => external.shareId === share.id)
  if (summary === undefined) throw new Error(`${to.node.org} holds no external case for ${caseNumber}`)
  return { share, uploaded, external: await to.api.getExternalCase(summary.id) }
}

/** Every item of the external case downloads with the digest the sender was given. */
async function expectByteIdentical(t: Test, to: OrgProcess, external: Awaited<ReturnType<typeof shareSmallItems>>['external'], uploaded: Map<string, string>) {
  t.equal(external.status, 'complete')
  t.equal(external.evidence.length, uploaded.size)
  let identical = 0
  for (const item of external.evidence) {
    const download = await to.api.downloadExternalEvidence(external.id, item.id)
    if (download.digest === uploaded.get(item.name) && item.digest === uploaded.get(item.name)) identical += 1
  }
  t.equal(identical, uploaded.size, 'every item downloads with the digest of the bytes the sender was given')
}

/** The sender's EP-2 lines and EP-20 lines for `shareId`. */
function pulls(logs: ReadonlyArray<Record<string, unknown>>, shareId: string) {
  const batchPath = `/federation/v1/shares/${encodeURIComponent(shareId)}/chunk-batches`
  const single = logs.filter(
    (line) =>
      line['msg'] === 'chunk request answered' && typeof line['url'] === 'string' && line['url'].includes(`/shares/${encodeURIComponent(shareId)}/chunks/`),
  )
  const batches = logs.filter((line) => line['msg'] === 'chunk batch answered' && line['url'] === batchPath)
  return { single: single.length, batches: batches.length }
}

// spec: CW-VER-007, CW-BAT-001, CW-BAT-003, CW-BAT-004, CW-BAT-005, CW-BAT-006, CW-FED-007, CW-FED-008
t.test('many small items travel in batches, few requests, byte for byte; a sender without the feature is pulled on EP-2 only', async (t) => {
  // One after the other: three node processes starting at once can take long on a busy machine.
  const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } })
  const county = await startOrg(t, { org: 'county-da', name: 'County DA', settings: { transfers } })
  const legacy = await startOrg(t, { org: 'legacy-so', name: 'Legacy SO', settings: { transfers, federation: { chunkBatches: false } } })
  await Promise.all([pair(metro, county), pair(legacy, county)])

  const batched = await shareSmallItems(metro, county, 'MPD-7', ITEMS)
  await expectByteIdentical(t, county, batched.external, batched.uploaded)
  const metroLogs = await metro.logs()
  const seen = pulls(metroLogs, batched.share.id)
  const chunks = ITEMS + 1 // the first item has two chunks
  t.ok(seen.batches >= Math.ceil((ITEMS - 1) / 64) && seen.batches < chunks / 10, `the small chunks came in a few batches (${seen.batches})`)
  t.ok(seen.single <= 2, `EP-2 only for the chunks over 64 KiB or alone (${seen.single})`)
  const requested = chunkRequests(metroLogs, batched.share.id)
  t.equal(requested.size, chunks, 'every chunk was asked for')
  t.ok(
    [...requested.values()].every((count) => count >= 1),
    'each at least once',
  )

  const plain = await shareSmallItems(legacy, county, 'LSO-3', 40)
  await expectByteIdentical(t, county, plain.external, plain.uploaded)
  const legacyLogs = await legacy.logs()
  t.equal(pulls(legacyLogs, plain.share.id).batches, 0, 'no batch asked of a sender that lists no chunk-batch (CW-BAT-004)')
  t.notOk(
    legacyLogs.some((line) => typeof line['url'] === 'string' && line['url'].endsWith('/chunk-batches')),
    'not even one that falls back on a 404',
  )
  t.equal(pulls(legacyLogs, plain.share.id).single, 41, 'every chunk pulled on EP-2')
})
