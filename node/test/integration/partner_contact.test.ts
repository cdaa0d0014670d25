/**
 * The last contact with a partner survives a restart (issue 16: "partners and their last
 * contact"): two real node processes exchange a share; after the sender restarts, `caseway
 * status`, `/readyz` and the partner list still give the time of that exchange, from the store.
 */
import t from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { caseway } from '../../../test/support/cli.ts'
import { pair, startOrg } from '../support/processes.ts'

const [metro, county] = await Promise.all([startOrg(t, { org: 'metro-pd', name: 'Metro PD' }), startOrg(t, { org: 'county-da', name: 'County DA' })])
await pair(metro, county)

interface StatusPartner {
  org: string
  lastContact: string | null
}

async function statusPartners(): Promise<StatusPartner[]> {
  const result = await caseway(['status', '--json', '--dir', metro.node.dir])
  if (result.code !== 0) throw new Error(`caseway status exited ${result.code}: ${result.stderr}`)
  return (JSON.parse(result.stdout) as { partners: StatusPartner[] }).partners
}

t.test('contact, restart the node: the last contact is still there', async (t) => {
  const before = Math.floor(Date.now() / 1000)
  const policy = await metro.api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber'], evidenceCategories: ['document'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', policy.id)
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-12', title: 'Forgery' })
  await metro.api.uploadEvidence(theCase.id, { name: 'letter.pdf', category: 'document' }, generatedContent(20_000, 'letter'))
  const share = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' })
  await waitFor('delivered', async (seen) => {
    const current = await metro.api.getShare(share.id)
    seen(current.status)
    return current.status === 'delivered' ? current : undefined
  })
  const stored = (await metro.api.listPartners()).find((partner) => partner.org === 'county-da')?.lastContactAt
  t.ok(typeof stored === 'number' && stored >= before, `the partner list has the contact (${String(stored)})`)

  await metro.stop()
  await metro.start()

  const listed = (await metro.api.listPartners()).find((partner) => partner.org === 'county-da')
  t.equal(listed?.lastContactAt, stored, 'the partner list still has it after the restart')
  const partner = (await statusPartners()).find((candidate) => candidate.org === 'county-da')
  t.ok(partner?.lastContact, 'caseway status shows it')
  t.equal(Date.parse(partner!.lastContact!) / 1000, stored, 'the same time, read from the store')
  const table = await caseway(['partner', 'list', '--dir', metro.node.dir])
  t.equal(table.code, 0, table.stderr)
  const row = table.stdout.split('\n').find((line) => line.startsWith('county-da '))
  t.match(row, new RegExp(`\\s${new Date(stored! * 1000).toISOString().slice(0, 16)}\\S*$`), 'caseway partner list ends the row with it')
})
