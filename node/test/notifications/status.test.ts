/**
 * A notification that cannot be delivered never holds up or undoes the share: the external
 * case is received and completed as usual, and its notifications show the failure
 * (`GET /api/v1/external-cases/{id}`).
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import { freePort } from '../../../testkit/node_process.ts'
import { localApp } from '../../src/local/app.ts'
import { createToken } from '../../src/access/tokens.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { startNotifyingNode } from '../support/notifying_node.ts'
import { startWebhookReceiver } from '../support/webhook_receiver.ts'

// spec: CW-NOT-004, CW-NOT-005
t.test('failing notifications leave the external case complete, and the case shows them failing', async (t) => {
  const receiver = await startWebhookReceiver(t, 500)
  const smtpPort = await freePort()
  const node = await startNotifyingNode(t, {
    exchange: true,
    notifications: {
      smtp: { host: '127.0.0.1', port: smtpPort, from: 'caseway@county-pd.example' },
      webhook: { url: receiver.url, secret: 'whsec-' + randomBytes(24).toString('hex') },
      allowedDomains: ['county-pd.example'],
    },
  })
  const { ctx } = node
  const { inboundId } = await node.offer({
    recipients: [
      { kind: 'user', id: 'det-smith' },
      { kind: 'email', id: 'duty@county-pd.example' },
    ],
    items: { statement: randomBytes(5000), photo: randomBytes(7000) },
    storeChunks: true,
  })

  await waitFor('the share to complete', async () => ((await ctx.store.inboundShares.get(inboundId))?.status === 'complete' ? true : undefined), {
    timeoutMs: 15_000,
    intervalMs: 25,
  })
  const [email, webhook] = await Promise.all([
    node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'failed' && n.attempts >= 2),
    node.waitForNotification(inboundId, 1, 'webhook', (n) => n.status === 'failed' && n.attempts >= 2),
  ])
  t.match(email.lastError, /ECONNREFUSED/)
  t.equal(webhook.lastError, 'webhook answered HTTP 500')
  t.match(
    node.events.filter((e) => e.type === 'inbound.completed'),
    [{ caseId: inboundId }],
    'the share completed while its notifications failed',
  )
  const fetches = (await ctx.store.jobs.list(inboundId)).filter((job) => job.kind === 'fetch')
  t.match(fetches, [{ state: 'done' }])

  const app = Fastify({ logger: false })
  await app.register(localApp, { ctx })
  await app.ready()
  t.teardown(() => app.close())
  const member = (await createToken(ctx, { userId: 'det-smith', role: 'member' })).token
  const admin = (await createToken(ctx, { userId: 'admin-1', role: 'admin' })).token
  for (const [who, token] of [
    ['recipient', member],
    ['administrator', admin],
  ] as const) {
    const response = await app.inject({ method: 'GET', url: `/api/v1/external-cases/${inboundId}`, headers: { authorization: `Bearer ${token}` } })
    t.equal(response.statusCode, 200, who)
    const external = response.json() as { status: string; notifications: Array<Record<string, unknown>> }
    t.equal(external.status, 'complete', `${who}: the external case is complete`)
    t.match(
      external.notifications,
      [
        { revision: 1, channel: 'email', status: 'failed', attempts: Number, lastError: /ECONNREFUSED/, updatedAt: Number },
        { revision: 1, channel: 'webhook', status: 'failed', attempts: Number, lastError: 'webhook answered HTTP 500', updatedAt: Number },
      ],
      `${who}: the notifications show the failure`,
    )
    t.equal(external.notifications.length, 2)
  }

  // The agency's system comes back: the webhook is delivered on its next retry.
  receiver.answer(200)
  const sent = await node.waitForNotification(inboundId, 1, 'webhook', (n) => n.status === 'sent')
  t.equal(sent.lastError, null)
  const after = await app.inject({ method: 'GET', url: `/api/v1/external-cases/${inboundId}`, headers: { authorization: `Bearer ${member}` } })
  t.match((after.json() as { notifications: unknown[] }).notifications, [
    { channel: 'email', status: 'failed' },
    { channel: 'webhook', status: 'sent' },
  ])
})
