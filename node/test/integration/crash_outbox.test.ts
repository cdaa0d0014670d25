/**
 * Nothing lost between an action's commit and its consumers (the transactional outbox,
 * SPEC.md CW-AUD-001): each node is killed with SIGKILL at the crash point
 * `outbox.after-commit` — its action committed, no consumer has run — and restarted.
 *
 * county-da is killed right after it stored a share's offer: after the restart its audit trail
 * has the arrival and its recipient gets the e-mail (a real SMTP receiver). metro-pd is killed
 * right after an evidence upload commits: after the restart the case's audit trail has the
 * upload, and the live share carries it as revision 2 to county-da.
 */
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { startNodeProcess, type NodeProcess } from '../../../testkit/node_process.ts'
import { startSmtpServer } from '../../../testkit/smtp_receiver.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { CRASH_POINT_VARIABLE } from '../../src/operations/crash_points.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'
import { pair, startOrg, type OrgProcess, type StartOrgOptions } from '../support/processes.ts'

const transfers = { chunkSize: 262_144 as const, retryBaseMs: 100, retryMaxMs: 500 }
const RECIPIENT = 'intake@county-da.example'
const CRASH = 'outbox.after-commit'

/** Stops `org` cleanly and starts its node again with the crash point armed (killed at teardown if still running). */
async function restartArmed(t: Test, org: OrgProcess): Promise<NodeProcess> {
  await org.stop()
  const armed = await startNodeProcess({ dir: org.node.dir, logFile: org.node.logFile, env: { [CRASH_POINT_VARIABLE]: CRASH } })
  t.teardown(() => armed.stop('SIGKILL'))
  return armed
}

/** Reads the node's database next to (or after) its process, read-only. */
async function inStore<T>(org: OrgProcess, read: (store: Awaited<ReturnType<typeof openSqliteMetadataStore>>) => Promise<T>): Promise<T> {
  const store = await openSqliteMetadataStore(join(org.node.config.dir, org.node.config.storage.database), { readOnly: true })
  try {
    return await read(store)
  } finally {
    await store.close()
  }
}

// spec: CW-AUD-001, CW-REVN-001, CW-NOT-001
t.test('killed between commit and consumers: the audit entry, the e-mail and the live revision come after the restart', { timeout: 300_000 }, async (t) => {
  const smtp = await startSmtpServer(t)
  const countySettings = {
    transfers,
    notifications: { smtp: { host: smtp.host, port: smtp.port, from: 'Caseway <caseway@county-da.example>' }, allowedDomains: ['county-da.example'] },
  } as StartOrgOptions['settings']
  // One after the other: start-up is bounded, and two at once on a busy machine can overrun it.
  const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } })
  const county = await startOrg(t, { org: 'county-da', name: 'County DA', settings: countySettings })
  await pair(metro, county)
  const policy = await metro.api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: true, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', policy.id)
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-9', title: 'Robbery' })
  await metro.api.uploadEvidence(theCase.id, { name: 'cctv.mp4', category: 'video', mediaType: 'video/mp4' }, generatedContent(100_000, 'cctv'))

  // county-da is killed as soon as it stored the offer of the share.
  const countyArmed = await restartArmed(t, county)
  // A live share (the entire case): evidence added later is shared as a new revision.
  const share = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', recipients: [{ kind: 'email', id: RECIPIENT }] })
  t.match(await countyArmed.exited, { signal: 'SIGKILL' })
  t.match(countyArmed.stderr(), `crash point ${CRASH} reached`)
  const stored = await inStore(county, async (store) => {
    const [inbound] = await store.inboundShares.list()
    return {
      inbound: inbound?.shareId,
      audit: inbound === undefined ? [] : (await store.audit.list(inbound.id)).map((e) => e.type),
      pending: (await store.outbox.list('notifications', 10)).map((e) => e.event['type']),
    }
  })
  t.equal(stored.inbound, share.id, 'the offer was stored')
  t.same(stored.audit, [], 'its arrival was not on the record yet')
  t.same(stored.pending, ['inbound.received'], 'nor its e-mail queued')
  t.equal(smtp.received.length, 0)

  // Restarted: the outbox is drained at start; the sender's offer, retried, gets the same answer.
  await county.start()
  const mail = await waitFor('the e-mail', () => smtp.received[0], { timeoutMs: 30_000 })
  t.same(mail.to, [RECIPIENT])
  const [external] = await county.api.listExternalCases()
  await waitFor('revision 1 delivered', async () => ((await metro.api.getShare(share.id)).status === 'delivered' ? true : undefined), { timeoutMs: 30_000 })
  const arrivals = await inStore(county, async (store) => (await store.audit.list(external!.id)).filter((e) => e.type === 'inbound.received').length)
  t.equal(arrivals, 1, 'the arrival on the record exactly once')

  // metro-pd is killed as soon as an upload commits.
  const metroArmed = await restartArmed(t, metro)
  const upload = metro.api.uploadEvidence(theCase.id, { name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4' }, generatedContent(120_000, 'bodycam'))
  await t.rejects(upload, 'the request dies with the process')
  t.match(await metroArmed.exited, { signal: 'SIGKILL' })
  t.match(metroArmed.stderr(), `crash point ${CRASH} reached`)
  // Committed: the evidence and its outbox entries; not yet handled: no audit entry, no revision.
  const before = await inStore(metro, async (store) => ({
    evidence: (await store.cases.listEvidence(theCase.id)).map((e) => e.name),
    uploads: (await store.audit.list(theCase.id)).filter((e) => e.type === 'evidence.uploaded').length,
    pending: (await store.outbox.list('revisions', 10)).map((e) => e.event['type']),
    revision: (await store.outboundShares.get(share.id))?.revision,
  }))
  t.same(before.evidence, ['cctv.mp4', 'bodycam.mp4'])
  t.equal(before.uploads, 1, 'the second upload is not in the trail yet')
  t.same(before.pending, ['evidence.uploaded'])
  t.equal(before.revision, 1)

  await metro.start()
  const trail = await waitFor(
    'the upload in the audit trail',
    async () => {
      const entries = await metro.api.listCaseAudit(theCase.id)
      return entries.some((e) => e.type === 'share.revised') ? entries : undefined
    },
    { timeoutMs: 30_000 },
  )
  t.equal(trail.filter((e) => e.type === 'evidence.uploaded').length, 2, 'each upload on the record exactly once')
  t.equal(trail.filter((e) => e.type === 'share.revised').length, 1, 'one live revision')
  t.same(await metro.api.verifyCaseAudit(theCase.id), { ok: true, entries: trail.length })
  // The live revision reaches county-da (held as an update there, CW-REVN-003) and is answered.
  await waitFor(
    'revision 2 received',
    async () => {
      const revisions = await inStore(county, (store) => store.inboundShares.listRevisions(external!.id))
      return revisions.some((r) => r.revision === 2 && r.transfer === 'verified') ? true : undefined
    },
    { timeoutMs: 30_000 },
  )
  t.equal((await metro.api.getShare(share.id)).revision, 2)
})
