/**
 * Two node processes on 127.0.0.1: when the share arrives, the receiving node e-mails the
 * recipient through a real SMTP server and POSTs a signed event to the agency's webhook (which
 * fails once), and its external case shows both delivered. The node's own log file holds
 * neither the SMTP password nor the webhook secret.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import type { ExternalCase } from '../../../client/local_client.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { verifyWebhookSignature } from '../../src/notifications/signature.ts'
import { startSmtpServer } from '../../../testkit/smtp_receiver.ts'
import { startWebhookReceiver } from '../support/webhook_receiver.ts'
import { pair, startOrg, type StartOrgOptions } from '../support/processes.ts'

const PASSWORD = 'pw-' + randomBytes(16).toString('hex')
const SECRET = 'whsec-' + randomBytes(24).toString('hex')
const transfers = { chunkSize: 262_144 as const, retryBaseMs: 100, retryMaxMs: 1000 }

type Notification = { revision: number; channel: string; status: string; attempts: number; lastError: string | null }

// spec: CW-NOT-001, CW-NOT-002, CW-NOT-003, CW-NOT-004, CW-NOT-005, CW-NOT-006
t.test('a share that arrives is e-mailed and posted to the webhook, and the external case shows both sent', async (t) => {
  const smtp = await startSmtpServer(t, { credentials: { user: 'relay', password: PASSWORD } })
  const receiver = await startWebhookReceiver(t, 503, 200)
  // Merged into caseway.json like the other sections.
  const countySettings = {
    transfers,
    notifications: {
      smtp: { host: '127.0.0.1', port: smtp.port, user: 'relay', password: PASSWORD, from: 'Caseway <caseway@county-da.example>' },
      webhook: { url: receiver.url, secret: SECRET },
      allowedDomains: ['county-da.example'],
    },
  } as StartOrgOptions['settings']
  const [metro, county] = await Promise.all([
    startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } }),
    startOrg(t, { org: 'county-da', name: 'County DA', settings: countySettings }),
  ])
  await pair(metro, county)
  const policy = await metro.api.createPolicy({
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video'], attachments: false },
    maxDurationSeconds: 86_400,
  })
  await metro.api.assignPolicy('county-da', policy.id)
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-7', title: 'Burglary', suspectName: 'J. Doe' })
  await metro.api.uploadEvidence(theCase.id, { name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4' }, generatedContent(300_000, 'bodycam'))
  const share = await metro.api.createShare({
    caseId: theCase.id,
    partnerOrg: 'county-da',
    scope: 'case',
    message: 'Arraignment is on Monday.',
    recipients: [
      { kind: 'email', id: 'intake@county-da.example' },
      { kind: 'email', id: 'tips@press.example' },
    ],
  })
  await waitFor('delivered', async () => ((await metro.api.getShare(share.id)).status === 'delivered' ? true : undefined), { timeoutMs: 30_000 })

  const [mail] = await smtp.waitForMessages(1, 30_000)
  t.same(mail!.to, ['intake@county-da.example'], 'an address outside notifications.allowedDomains is not mailed (CW-NOT-006)')
  t.equal(mail!.user, 'relay')
  t.equal(mail!.subject, '[Caseway] Metro PD shared case MPD-7 – Burglary')
  t.match(mail!.text, /Arraignment is on Monday\./)
  t.notMatch(mail!.text, /J\. Doe|bodycam/, 'nothing the policy withheld, no evidence names')

  const [failed, delivered] = await receiver.waitForRequests(2, 30_000)
  t.equal(failed!.answered, 503)
  t.ok(failed!.body.equals(delivered!.body), 'the retry sends the same event')
  t.equal(verifyWebhookSignature(SECRET, delivered!.headers['caseway-signature'] as string, delivered!.body, new Date()).valid, true)
  const [external] = await county.api.listExternalCases()
  const event = JSON.parse(delivered!.body.toString('utf8')) as Record<string, unknown>
  t.match(event, {
    type: 'share.received',
    node: 'county-da',
    externalCase: external!.id,
    sender: { org: 'metro-pd', name: 'Metro PD' },
    share: { id: share.id, revision: 1 },
    items: 1,
  })

  const shown = await waitFor(
    'notifications sent',
    async () => {
      const current = (await county.api.getExternalCase(external!.id)) as ExternalCase & { notifications: Notification[] }
      return current.notifications.every((n) => n.status === 'sent') && current.notifications.length === 2 ? current : undefined
    },
    { timeoutMs: 15_000 },
  )
  t.equal(shown.status, 'complete')
  t.match(shown.notifications, [
    { revision: 1, channel: 'email', status: 'sent', attempts: 1, lastError: null },
    { revision: 1, channel: 'webhook', status: 'sent', attempts: 2, lastError: null },
  ])

  const trail = await county.api.listExternalCaseAudit(external!.id)
  // In channel order: the webhook, answered on its second attempt, may be recorded before the e-mail.
  const channel = (entry: (typeof trail)[number]) => String(entry.data['channel'])
  t.match(
    trail.filter((entry) => entry.type === 'notification.sent').sort((a, b) => channel(a).localeCompare(channel(b))),
    [{ data: { channel: 'email', withheld: 1 } }, { data: { channel: 'webhook' } }],
    'the withheld address is recorded',
  )

  const logs = JSON.stringify(await county.logs())
  t.match(logs, /notification sent/, 'the node logged the deliveries')
  t.notOk(logs.includes(PASSWORD), 'no SMTP password in the node log')
  t.notOk(logs.includes(SECRET), 'no webhook secret in the node log')
})
