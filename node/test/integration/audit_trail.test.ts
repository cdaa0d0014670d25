/**
 * Two node processes exchange a share; each keeps its own audit trail of it. The sender's case
 * shows the whole story from creation to delivery, the receiver's external case what arrived,
 * and `caseway audit verify` checks both databases while the nodes keep running.
 */
import t from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import type { AuditVerification } from '../../src/audit/audit_trail.ts'
import { verifyAuditChain } from '../../src/audit/audit_trail.ts'
import type { AuditEntryRecord } from '../../src/store/metadata_store.ts'
import { caseway, lines } from '../../../test/support/cli.ts'
import { pair, startOrg, type OrgProcess } from '../support/processes.ts'

const settings = { transfers: { chunkSize: 262_144 as const, retryBaseMs: 100, retryMaxMs: 1000 } }

async function get<T>(org: OrgProcess, path: string): Promise<T> {
  const response = await fetch(`${org.api.baseUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${org.token}` } })
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

const trail = async (org: OrgProcess, path: string): Promise<AuditEntryRecord[]> =>
  (await get<{ entries: AuditEntryRecord[] }>(org, `${path}/audit?limit=1000`)).entries

/** Waits until the trail at `path` holds an entry of `type`. */
function trailWith(org: OrgProcess, path: string, type: string): Promise<AuditEntryRecord[]> {
  return waitFor(
    `${type} in ${org.org}'s trail of ${path}`,
    async (seen) => {
      const entries = await trail(org, path)
      seen(entries.map((e) => e.type).join(', '))
      return entries.some((e) => e.type === type) ? entries : undefined
    },
    { timeoutMs: 30_000 },
  )
}

// spec: CW-AUD-001, CW-AUD-003, CW-AUD-004, CW-AUD-005
t.test('a share from offer to receipt is on both trails, and both verify while the nodes run', async (t) => {
  const [metro, county] = await Promise.all([
    startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings }),
    startOrg(t, { org: 'county-da', name: 'County DA', settings }),
  ])
  await pair(metro, county)
  const policy = await metro.api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', policy.id)
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-7', title: 'Robbery' })
  const video = await metro.api.uploadEvidence(
    theCase.id,
    { name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4' },
    generatedContent(300_000, 'video'),
  )
  const share = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' })

  // Sender: the case's trail, from creation to the verified receipt.
  const sent = await trailWith(metro, `/cases/${theCase.id}`, 'share.delivered')
  const types = sent.map((e) => e.type)
  for (const type of ['case.created', 'evidence.uploaded', 'share.created', 'share.offered', 'receipt.verified', 'share.delivered']) {
    t.ok(types.includes(type), `sender trail has ${type}`)
  }
  t.equal(types[0], 'case.created')
  t.ok(types.indexOf('evidence.uploaded') < types.indexOf('share.created'), 'uploaded before shared')
  t.ok(types.indexOf('share.created') < types.indexOf('share.offered'), 'shared before offered')
  t.equal(types.indexOf('share.delivered'), types.indexOf('receipt.verified') + 1, 'delivered once the receipt verified')
  const byType = (type: string) => sent.find((e) => e.type === type)!
  t.same(byType('case.created').actor, { kind: 'user', id: 'admin' })
  t.same(byType('evidence.uploaded').data, { evidenceId: video.id, digest: video.digest, size: 300_000 })
  t.same(byType('share.offered').actor, { kind: 'system' })
  t.match(byType('share.offered').data, { shareId: share.id, partner: 'county-da', revision: 1 })
  t.same(byType('receipt.verified').actor, { kind: 'partner', org: 'county-da' }, "the receipt was verified as the partner's")
  t.match(byType('receipt.verified').data, { shareId: share.id, partner: 'county-da', revision: 1, status: 'delivered' })
  t.same(verifyAuditChain(sent), { ok: true, entries: sent.length })

  // Receiver: the external case's trail, under its inbound id.
  const [external] = await county.api.listExternalCases()
  const received = await trailWith(county, `/external-cases/${external!.id}`, 'inbound.completed')
  const receivedTypes = received.map((e) => e.type)
  t.ok(receivedTypes.indexOf('inbound.received') >= 0 && receivedTypes.indexOf('inbound.received') < receivedTypes.indexOf('inbound.completed'))
  const arrival = received.find((e) => e.type === 'inbound.received')!
  t.same(arrival.actor, { kind: 'partner', org: 'metro-pd' })
  t.same(arrival.data, { sender: 'metro-pd', shareId: share.id, revision: 1, items: 1 })
  t.match(received.find((e) => e.type === 'inbound.completed')!.data, { sender: 'metro-pd', shareId: share.id, revision: 1, bytes: 300_000 })
  t.same(await get<AuditVerification>(county, `/external-cases/${external!.id}/audit/verify`), { ok: true, entries: received.length })
  const elsewhere = await fetch(`${county.api.baseUrl}/api/v1/cases/${theCase.id}/audit`, { headers: { authorization: `Bearer ${county.token}` } })
  t.equal(elsewhere.status, 404, "the sender's case has no trail on the receiver")

  // The export verifies on its own; nothing secret is in either trail.
  const exported = await get<{ caseId: string; node: string; entries: AuditEntryRecord[] }>(metro, `/cases/${theCase.id}/audit/export`)
  t.equal(exported.node, 'metro-pd')
  t.same(verifyAuditChain(exported.entries).ok, true)
  for (const text of [JSON.stringify(exported), JSON.stringify(received)]) {
    t.notMatch(text, metro.token, 'no bearer token')
    t.notMatch(text, /eyJ[\w-]+\.eyJ/, 'no signed object')
    t.notMatch(text, /PRIVATE KEY|BEGIN CERTIFICATE/, 'no key or certificate')
  }

  // The CLI reads each node's database next to the running node.
  const [metroCheck, countyCheck] = await Promise.all([
    caseway(['audit', 'verify', '--dir', metro.node.dir]),
    caseway(['audit', 'verify', '--dir', county.node.dir, '--case', external!.id]),
  ])
  t.equal(metroCheck.code, 0, metroCheck.stderr)
  t.ok(
    lines(metroCheck.stdout).some((line) => new RegExp(`^ok ${theCase.id} \\d+ entries$`).test(line)),
    metroCheck.stdout,
  )
  t.equal(countyCheck.code, 0, countyCheck.stderr)
  t.match(countyCheck.stdout, new RegExp(`^ok ${external!.id} \\d+ entries\\n$`))
  t.ok(metro.running && county.running, 'both nodes kept running')
})
