/**
 * Nothing lost between an action's commit and its consumers (the transactional outbox,
 * SPEC.md CW-AUD-001): each node is killed with SIGKILL at the crash point
 * `outbox.after-commit` — its action committed, no consumer has run — and restarted.
 *
 * metro-pd is killed right after an evidence upload commits: after the restart the case's
 * audit trail has the upload, and the live share carries it as revision 2. county-da is killed
 * right after it stored that revision's offer: after the restart its audit trail has the
 * arrival, and its recipient gets the e-mail for revision 2 through a real SMTP receiver.
 */
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { startNodeProcess, type NodeProcess } from '../../../testkit/node_process.ts'
import { startSmtpReceiver } from '../../../testkit/smtp_receiver.ts'
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
t.test('killed between commit and consumers: the audit entry, the live revision and the e-mail come after the restart', async (t) => {
  const smtp = await startSmtpReceiver()
  if (smtp === undefined) throw new Error('smtp-server (a devDependency) is not installed')
  t.teardown(() => smtp.close())
  const countySettings = {
    transfers,
    notifications: { smtp: { host: smtp.host, port: smtp.port, from: 'Caseway <caseway@county-da.example>' } },
  } as StartOrgOptions['settings']
  const [metro, county] = await Promise.all([
    startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } }),
    startOrg(t, { org: 'county-da', name: 'County DA', settings: countySettings }),
  ])
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
  // A live share (the entire case): evidence added later is shared as a new revision.
  const share = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', recipients: [{ kind: 'email', id: RECIPIENT }] })
  await waitFor('revision 1 delivered', async () => ((await metro.api.getShare(share.id)).status === 'delivered' ? true : undefined), { timeoutMs: 30_000 })
  await waitFor('the e-mail for revision 1', () => (smtp.caught.length === 1 ? true : undefined), { timeoutMs: 30_000 })
  const [external] = await county.api.listExternalCases()

  // county-da waits, armed, for the revision metro-pd will offer.
  const countyArmed = await restartArmed(t, county)

  // metro-pd is killed as soon as the upload commits.
  const metroArmed = await restartArmed(t, metro)
  const upload = metro.api.uploadEvidence(theCase.id, { name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4' }, generatedContent(120_000, 'bodycam'))
  await t.rejects(upload, 'the request dies with the process')
  t.match(await metroArmed.exited, { signal: 'SIGKILL' })
  t.match(metroArmed.stderr(), `crash point ${CRASH} reached`)
  // Committed: the evidence and its outbox entries; not yet handled: no audit entry, no revision.
  const before = await inStore(metro, async (store) => ({
    evidence: (await store.listEvidence(theCase.id)).map((e) => e.name),
    audit: (await store.listAudit(theCase.id)).map((e) => e.type),
    pending: (await store.listOutbox('audit', 100)).map((e) => e.event['type']),
    revision: (await store.getOutboundShare(share.id))?.revision,
  }))
  t.same(before.evidence, ['cctv.mp4', 'bodycam.mp4'])
  t.equal(before.audit.filter((type) => type === 'evidence.uploaded').length, 1, 'the second upload is not in the trail yet')
  t.same(before.pending, ['evidence.uploaded'])
  t.equal(before.revision, 1)

  // Restarted: the outbox is drained at start.
  await metro.start()
  const trail = await waitFor('the upload in the audit trail', async () => {
    const entries = await metro.api.listCaseAudit(theCase.id)
    return entries.filter((e) => e.type === 'evidence.uploaded').length === 2 ? entries : undefined
  }, { timeoutMs: 20_000 })
  t.equal(trail.filter((e) => e.type === 'evidence.uploaded').length, 2, 'each upload on the record exactly once')
  t.same(await metro.api.verifyCaseAudit(theCase.id), { ok: true, entries: trail.length })
  await waitFor('revision 2 of the live share', async () => ((await metro.api.getShare(share.id)).revision === 2 ? true : undefined), { timeoutMs: 20_000 })

  // metro-pd offers revision 2; county-da is killed once it stored the offer.
  t.match(await countyArmed.exited, { signal: 'SIGKILL' })
  t.match(countyArmed.stderr(), `crash point ${CRASH} reached`)
  const received = await inStore(county, async (store) => ({
    revisions: (await store.listInboundRevisions(external!.id)).map((r) => r.revision),
    audit: (await store.listAudit(external!.id)).filter((e) => e.type === 'inbound.received').map((e) => e.data['revision']),
  }))
  t.same(received.revisions, [2], 'revision 2 was stored')
  t.same(received.audit, [1], 'its arrival was not on the record yet')
  t.equal(smtp.caught.length, 1, 'nor was its e-mail sent')

  await county.start()
  const mail = await waitFor('the e-mail for revision 2', () => smtp.caught[1], { timeoutMs: 30_000 })
  t.same(mail.envelopeTo, [RECIPIENT])
  await waitFor('revision 2 delivered', async () => {
    const current = await metro.api.getShare(share.id)
    return current.revision === 2 && current.status === 'delivered' ? true : undefined
  }, { timeoutMs: 30_000 })
  const arrivals = await inStore(county, async (store) => (await store.listAudit(external!.id)).filter((e) => e.type === 'inbound.received').map((e) => e.data['revision']))
  t.same(arrivals, [1, 2], 'each arrival on the record exactly once')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(smtp.caught.length, 2, 'one e-mail per revision')
})
