/**
 * The SMTP password and the webhook secret never reach the logs (at trace level, through
 * failures and successes), the stored jobs, the notification states or the events.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startNotifyingNode, type NotifyingNode } from '../support/notifying_node.ts'
import { startSmtpServer } from '../../../testkit/smtp_receiver.ts'
import { startWebhookReceiver } from '../support/webhook_receiver.ts'

const USER = 'caseway-relay'
const PASSWORD = 'pw-' + randomBytes(16).toString('hex')
const WRONG_PASSWORD = 'pw-' + randomBytes(16).toString('hex')
const SECRET = 'whsec-' + randomBytes(24).toString('hex')

/** Every form in which a secret could leak: as is, its first half, and the SMTP AUTH encodings. */
function leaks(secret: string): string[] {
  return [
    secret,
    secret.slice(0, Math.ceil(secret.length / 2)),
    Buffer.from(secret).toString('base64'),
    Buffer.from(`\0${USER}\0${secret}`).toString('base64'),
    Buffer.from(secret).toString('hex'),
  ]
}

async function everythingStored(node: NotifyingNode, inboundId: string): Promise<string> {
  return JSON.stringify({
    jobs: await node.ctx.store.jobs.list(),
    notifications: await node.ctx.store.notifications.list(inboundId),
    events: node.events,
  })
}

t.test('the SMTP password and the webhook secret appear in no log line, job, state or event', async (t) => {
  const smtp = await startSmtpServer(t, { credentials: { user: USER, password: PASSWORD }, refusing: true })
  const receiver = await startWebhookReceiver(t, 500, 401, 200)
  const node = await startNotifyingNode(t, {
    notifications: {
      smtp: { host: '127.0.0.1', port: smtp.port, user: USER, password: PASSWORD, from: 'caseway@county-pd.example' },
      webhook: { url: receiver.url, secret: SECRET },
      allowedDomains: ['county-pd.example'],
    },
  })
  // Something may log the configuration itself: the redaction list covers its secrets.
  node.ctx.log.info({ config: node.ctx.config }, 'configuration')
  node.ctx.log.info({ notifications: node.ctx.config.notifications }, 'notification settings')

  const { inboundId } = await node.offer({ recipients: [{ kind: 'email', id: 'duty@county-pd.example' }] })
  await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'failed')
  smtp.refuse(false)
  await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'sent')
  await node.waitForNotification(inboundId, 1, 'webhook', (n) => n.status === 'sent')
  t.equal(smtp.received[0]?.user, USER, 'the password was used to log in')

  // A second node whose password the server refuses: the failed login is logged too.
  const refused = await startNotifyingNode(t, {
    notifications: {
      smtp: { host: '127.0.0.1', port: smtp.port, user: USER, password: WRONG_PASSWORD, from: 'caseway@county-pd.example' },
      allowedDomains: ['county-pd.example'],
    },
  })
  refused.ctx.log.info({ config: refused.ctx.config }, 'configuration')
  const other = await refused.offer({ recipients: [{ kind: 'email', id: 'duty@county-pd.example' }] })
  // 535 is a permanent reply: the notification is dead at once (CW-NOT-007).
  const failed = await refused.waitForNotification(other.inboundId, 1, 'email', (n) => n.status === 'dead')
  t.match(failed.lastError, /^SMTP permanent 535 EAUTH at AUTH: Invalid login: 535/, 'the refusal is shown, without the credentials')

  const logs = node.logs.join('') + refused.logs.join('')
  const lines = [...node.logs, ...refused.logs].map((line) => JSON.parse(line) as Record<string, unknown>)
  t.ok(
    lines.some((line) => line['level'] === 40 && line['kind'] === 'notify-email' && typeof line['retryInMs'] === 'number'),
    'failures were logged, with the retry delay',
  )
  t.ok(
    lines.some(
      (line) =>
        line['level'] === 30 &&
        line['component'] === 'notifications' &&
        line['channel'] === 'email' &&
        line['inboundId'] === inboundId &&
        typeof line['attempts'] === 'number',
    ),
    'deliveries were logged, with channel, external case and attempts',
  )
  t.match(logs, /"password":"\[Redacted\]"/, 'the configuration was logged, redacted')
  t.match(logs, /"secret":"\[Redacted\]"/)
  const stored = (await everythingStored(node, inboundId)) + (await everythingStored(refused, other.inboundId))
  for (const leak of [...leaks(PASSWORD), ...leaks(WRONG_PASSWORD), ...leaks(SECRET)]) {
    t.notOk(logs.includes(leak), `no log line holds ${leak.slice(0, 6)}…`)
    t.notOk(stored.includes(leak), `nothing stored holds ${leak.slice(0, 6)}…`)
  }
})
