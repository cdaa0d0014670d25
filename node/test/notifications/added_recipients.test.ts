/**
 * Recipients the receiving side added are notified like the first ones (SPEC.md CW-LOC-026):
 * the webhook gets a signed `share.recipients_added` event naming only the added recipients.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { verifyWebhookSignature } from '../../src/notifications/signature.ts'
import { addExternalRecipients } from '../../src/receiving/added_recipients.ts'
import { startNotifyingNode } from '../support/notifying_node.ts'
import { startWebhookReceiver } from '../support/webhook_receiver.ts'
import { waitFor } from '../../../testkit/wait.ts'

const SECRET = 'whsec-' + randomBytes(24).toString('hex')

// spec: CW-LOC-026, CW-NOT-001
t.test('adding recipients sends share.recipients_added naming the added ones, once', async (t) => {
  const receiver = await startWebhookReceiver(t, 200)
  const node = await startNotifyingNode(t, { notifications: { webhook: { url: receiver.url, secret: SECRET } } })
  await node.addUser({ id: 'reader' })
  await node.addUser({ id: 'newcomer' })
  const policy = { ...node.policy, permissions: { ...node.policy.permissions, addRecipients: true } }
  const { inboundId, manifest } = await node.offer({ policy, recipients: [{ kind: 'user', id: 'reader' }], items: { statement: randomBytes(100) } })
  const [first] = await receiver.waitForRequests(1)
  t.equal(JSON.parse(first!.body.toString('utf8')).type, 'share.received')

  const reader = { userId: 'reader', role: 'member' as const, groups: [] }
  await addExternalRecipients(node.ctx, reader, inboundId, { recipients: [{ kind: 'user', id: 'newcomer' }] })
  await addExternalRecipients(node.ctx, reader, inboundId, { recipients: [{ kind: 'user', id: 'newcomer' }] })
  const requests = await receiver.waitForRequests(2)
  const second = requests[1]!
  t.equal(verifyWebhookSignature(SECRET, second.headers['caseway-signature'] as string, second.body, new Date()).valid, true)
  const event = JSON.parse(second.body.toString('utf8')) as Record<string, unknown>
  t.match(event, {
    type: 'share.recipients_added',
    node: 'county-pd',
    externalCase: inboundId,
    share: { id: manifest.share.id, revision: 1 },
    recipients: [{ kind: 'user', id: 'newcomer' }],
    items: 1,
  })
  const sent = await waitFor('both notifications recorded', () => {
    const found = node.events.filter((e) => e.type === 'notification.sent' && e.caseId === inboundId)
    return found.length >= 2 ? found : undefined
  })
  t.equal(sent.length, 2, 'one for the share, one for the addition; adding the same user again notified no one')
  t.equal((await node.ctx.store.notifications.get(inboundId, 1, 'webhook'))?.attempts, 1, "the revision's own state is untouched")
})
