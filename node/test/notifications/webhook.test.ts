/**
 * Webhook notifications against a local HTTP server standing in for the agency's system: the
 * event it receives, its signature, and retries until a 2xx.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { freePort } from '../../../testkit/node_process.ts'
import { verifyWebhookSignature } from '../../src/notifications/signature.ts'
import { startNotifyingNode } from '../support/notifying_node.ts'
import { startWebhookReceiver, type WebhookRequest } from '../support/webhook_receiver.ts'

const SECRET = 'whsec-' + randomBytes(24).toString('hex')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function webhookConfig(url: string) {
  return { webhook: { url, secret: SECRET } }
}

function signatureOf(request: WebhookRequest): string | undefined {
  const header = request.headers['caseway-signature']
  return Array.isArray(header) ? header[0] : header
}

// spec: CW-NOT-001, CW-NOT-002, CW-NOT-003, CW-NOT-005
t.test('the agency system receives a signed share.received event and verifies it', async (t) => {
  const receiver = await startWebhookReceiver(t, 200)
  const node = await startNotifyingNode(t, { notifications: webhookConfig(receiver.url) })
  const recipients = [
    { kind: 'group' as const, id: 'robbery' },
    { kind: 'email' as const, id: 'analyst@lab.example' },
  ]
  const { inboundId, manifest } = await node.offer({
    recipients,
    message: 'Call me about the van',
    fields: { caseNumber: 'DA-2024-117', title: 'Robbery at 5th and Main' },
    items: { statement: randomBytes(1000), video: randomBytes(2000) },
  })
  const [request] = await receiver.waitForRequests(1)
  t.equal(request!.method, 'POST')
  t.equal(request!.url, '/caseway/events')
  t.match(request!.headers['content-type'], /^application\/json/)

  const verified = verifyWebhookSignature(SECRET, signatureOf(request!), request!.body, new Date())
  t.equal(verified.valid, true, 'the signature verifies over the raw body')
  t.ok(verified.valid && Math.abs(verified.timestamp - Date.now() / 1000) < 30, 'signed now')

  const event = JSON.parse(request!.body.toString('utf8')) as Record<string, unknown>
  t.same(event, {
    type: 'share.received',
    id: request!.headers['caseway-event-id'],
    occurredAt: event['occurredAt'],
    node: 'county-pd',
    externalCase: inboundId,
    sender: { org: 'county-da', name: 'Org county-da' },
    share: { id: manifest.share.id, revision: 1 },
    recipients,
    items: 2,
  })
  t.match(event['id'], UUID)
  t.equal(new Date(event['occurredAt'] as string).toISOString(), event['occurredAt'], 'occurredAt is ISO 8601 UTC')
  t.notMatch(request!.body.toString('utf8'), /DA-2024-117|Robbery|van|statement/, 'no case fields, message or evidence names')

  const state = await node.waitForNotification(inboundId, 1, 'webhook', (n) => n.status === 'sent')
  t.match(state, { status: 'sent', attempts: 1, lastError: null })
})

// spec: CW-NOT-001, CW-NOT-004
t.test('a 500 is retried: the same event, signed again, is delivered on the 200', async (t) => {
  const receiver = await startWebhookReceiver(t, 500, 200)
  const node = await startNotifyingNode(t, { notifications: webhookConfig(receiver.url) })
  const { inboundId } = await node.offer()
  const [first, second] = await receiver.waitForRequests(2)
  t.equal(first!.answered, 500)
  t.equal(second!.answered, 200)
  t.ok(first!.body.equals(second!.body), 'the same body bytes')
  t.equal(first!.headers['caseway-event-id'], second!.headers['caseway-event-id'], 'the same event id, so the receiver can drop duplicates')
  for (const request of [first!, second!]) t.equal(verifyWebhookSignature(SECRET, signatureOf(request), request.body, new Date()).valid, true)

  const state = await node.waitForNotification(inboundId, 1, 'webhook', (n) => n.status === 'sent')
  t.match(state, { attempts: 2, lastError: null })
  t.match(
    node.events.filter((e) => e.type.startsWith('notification.')),
    [
      { type: 'notification.failed', caseId: inboundId, channel: 'webhook', revision: 1, attempts: 1, error: 'webhook answered HTTP 500', dead: false },
      { type: 'notification.sent', caseId: inboundId, channel: 'webhook', revision: 1, attempts: 2 },
    ],
  )
  t.equal(receiver.requests.length, 2, 'nothing after the 200')
})

// spec: CW-NOT-003
t.test('a body changed on the way fails verification', async (t) => {
  const receiver = await startWebhookReceiver(t, 200)
  const node = await startNotifyingNode(t, { notifications: webhookConfig(receiver.url) })
  await node.offer()
  const [request] = await receiver.waitForRequests(1)
  const header = signatureOf(request!)
  const now = new Date()
  t.equal(verifyWebhookSignature(SECRET, header, request!.body, now).valid, true, 'the original verifies')
  const event = JSON.parse(request!.body.toString('utf8')) as { externalCase: string }
  const tampered = JSON.stringify({ ...event, externalCase: 'another-case' })
  t.same(verifyWebhookSignature(SECRET, header, tampered, now), { valid: false, reason: 'mismatch' })
  const reformatted = JSON.stringify(JSON.parse(request!.body.toString('utf8')), null, 2)
  t.same(verifyWebhookSignature(SECRET, header, reformatted, now), { valid: false, reason: 'mismatch' }, 'the raw bytes are signed, not the JSON value')
  t.same(verifyWebhookSignature('another-secret-of-at-least-32-characters', header, request!.body, now), { valid: false, reason: 'mismatch' })
  t.same(
    verifyWebhookSignature(SECRET, header, request!.body, new Date(now.getTime() + 301_000)),
    { valid: false, reason: 'stale' },
    'a replay after five minutes',
  )
})

// spec: CW-NOT-004
t.test('redirects and unreachable receivers are failures; after maxAttempts the notification is dead', async (t) => {
  const receiver = await startWebhookReceiver(t, 302)
  const node = await startNotifyingNode(t, { notifications: webhookConfig(receiver.url), maxAttempts: 2 })
  const { inboundId } = await node.offer()
  const dead = await node.waitForNotification(inboundId, 1, 'webhook', (n) => n.status === 'dead')
  t.match(dead, { attempts: 2, lastError: 'webhook answered HTTP 302' })
  t.equal(receiver.requests.length, 2, 'the redirect is not followed')
  t.match(
    node.events.filter((e) => e.type === 'notification.failed'),
    [
      { dead: false, attempts: 1 },
      { dead: true, attempts: 2 },
    ],
  )
  t.match(await node.waitForJobEnd(inboundId, 1, 'webhook'), { state: 'dead', attempts: 2 }, 'the job is dead too')

  const closed = await freePort()
  const other = await startNotifyingNode(t, { notifications: webhookConfig(`http://127.0.0.1:${closed}/hook`) })
  const second = await other.offer()
  const failed = await other.waitForNotification(second.inboundId, 1, 'webhook', (n) => n.status === 'failed')
  t.equal(failed.lastError, 'webhook unreachable: ECONNREFUSED')
})

t.test('nothing is queued when no channel is configured, and a revision is queued once', async (t) => {
  const quiet = await startNotifyingNode(t)
  const { inboundId } = await quiet.offer()
  t.same(await quiet.ctx.store.notifications.list(inboundId), [])
  t.same((await quiet.ctx.store.jobs.list(`${inboundId}:1`)).length, 0)

  const receiver = await startWebhookReceiver(t, 200)
  const node = await startNotifyingNode(t, { notifications: webhookConfig(receiver.url) })
  const offered = await node.offer()
  await node.waitForNotification(offered.inboundId, 1, 'webhook', (n) => n.status === 'sent')
  const received = node.events.find((e) => e.type === 'inbound.received')!
  await node.ctx.record(received)
  await node.runner.onIdle()
  t.equal(receiver.requests.length, 1, 'the same event again sends nothing')
  t.equal((await node.ctx.store.jobs.list(`${offered.inboundId}:1`)).length, 1)
})
