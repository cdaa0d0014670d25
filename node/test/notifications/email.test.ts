/**
 * E-mail notifications against a real SMTP server on 127.0.0.1: who receives the message,
 * what it says (and does not say), and how delivery survives a server that is down or busy.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { freePort } from '../../../testkit/node_process.ts'
import type { NotificationChannel } from '../../src/store/metadata_store.ts'
import { startNotifyingNode, type NotifyingNode } from '../support/notifying_node.ts'
import { startSmtpServer } from '../../../testkit/smtp_receiver.ts'

const PASSWORD = 'smtp-pw-' + randomBytes(12).toString('hex')
const FROM = 'Caseway <caseway@county-pd.example>'

/** SMTP on `port`; e-mail recipients the partner names may be in our domain or the lab's (CW-NOT-006). */
function smtpConfig(port: number, extra: Record<string, unknown> = {}) {
  return { smtp: { host: '127.0.0.1', port, from: FROM, ...extra }, allowedDomains: ['county-pd.example', 'lab.example'] }
}

function eventsOf(node: NotifyingNode, type: string, channel: NotificationChannel = 'email') {
  return node.events.filter((e) => e.type === type && (e as { channel?: string }).channel === channel)
}

// spec: CW-NOT-005
t.test('the e-mail goes to the named users, group members, badge holders and e-mail recipients, with sender, case and message', async (t) => {
  const smtp = await startSmtpServer(t, { credentials: { user: 'caseway', password: PASSWORD } })
  const node = await startNotifyingNode(t, { notifications: smtpConfig(smtp.port, { user: 'caseway', password: PASSWORD }) })
  await node.addUser({ id: 'det-smith', email: 'smith@county-pd.example' })
  await node.addUser({ id: 'det-jones', email: 'Jones@County-PD.example' })
  await node.addUser({ id: 'det-old', email: 'old@county-pd.example', disabled: true })
  await node.addUser({ id: 'det-lee', email: 'lee@county-pd.example', badge: '4411' })
  await node.addUser({ id: 'det-nomail' })
  await node.addUser({ id: 'det-bystander', email: 'bystander@county-pd.example' })
  await node.ctx.store.principals.upsertGroup({ id: 'robbery', name: 'Robbery unit', createdAt: 0 })
  await node.ctx.store.principals.setGroupMembers('robbery', ['det-jones', 'det-smith', 'det-old', 'det-nomail'])

  const { inboundId } = await node.offer({
    recipients: [
      { kind: 'user', id: 'det-smith' },
      { kind: 'group', id: 'robbery' },
      { kind: 'badge', id: '4411' },
      { kind: 'email', id: 'analyst@lab.example' },
    ],
    message: 'Please review the statement before Friday.\nThanks, ADA Ruiz',
    fields: { caseNumber: 'DA-2024-117', title: 'Robbery at 5th and Main', description: 'Suspect seen leaving in a blue van' },
    items: { statement: randomBytes(2000), 'bank-video': randomBytes(3000) },
  })
  const [mail] = await smtp.waitForMessages(1)
  t.same(
    [...mail!.to].sort(),
    // (the domain part comes back in lower case: SMTP domains are case-insensitive)
    ['Jones@county-pd.example', 'analyst@lab.example', 'lee@county-pd.example', 'smith@county-pd.example'],
    'each address once (det-smith is also in the group); disabled users, users without an address and non-recipients are left out',
  )
  t.equal(mail!.user, 'caseway', 'logged in with the configured user')
  t.equal(mail!.from, 'caseway@county-pd.example')
  t.equal(mail!.subject, '[Caseway] Org county-da shared case DA-2024-117 – Robbery at 5th and Main')
  t.match(mail!.text, /Org county-da \(county-da\) shared a case with Org county-pd\./)
  t.match(mail!.text, /Case number: DA-2024-117\nTitle: Robbery at 5th and Main\nEvidence items: 2\n/)
  t.match(mail!.text, /Message from Org county-da:\n {2}Please review the statement before Friday\.\n {2}Thanks, ADA Ruiz\n/)
  t.match(mail!.text, inboundId, 'names the external case')
  t.notMatch(mail!.text, /blue van/, 'no case field beyond number and title')
  t.notMatch(mail!.text, /statement\.pdf|bank-video/, 'no evidence names')
  t.notMatch(mail!.raw, /https?:\/\//, 'no links')
  t.notMatch(mail!.headers.get('content-type') ?? '', /multipart/, 'no attachment: a single text part')
  t.equal(mail!.headers.get('auto-submitted'), 'auto-generated')

  const state = await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'sent')
  t.match(state, { status: 'sent', attempts: 1, lastError: null })
  t.equal(eventsOf(node, 'notification.sent').length, 1)
})

t.test('a share to the entire agency goes to the agency address when no user has one', async (t) => {
  const smtp = await startSmtpServer(t)
  const node = await startNotifyingNode(t, { notifications: { ...smtpConfig(smtp.port), agencyAddress: 'records@county-pd.example' } })
  await node.addUser({ id: 'det-nomail' })
  // No recipients named: the entire agency (the default).
  const { inboundId } = await node.offer({ fields: { caseNumber: 'DA-9' } })
  const [mail] = await smtp.waitForMessages(1)
  t.same(mail!.to, ['records@county-pd.example'])
  t.equal(mail!.subject, '[Caseway] Org county-da shared case DA-9')
  t.notMatch(mail!.text, /Message from/, 'no message section without a message')
  await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'sent')

  // Once users have addresses, they get it instead.
  await node.addUser({ id: 'det-a', email: 'a@county-pd.example' })
  await node.addUser({ id: 'det-b', email: 'b@county-pd.example' })
  await node.offer({ recipients: [{ kind: 'agency', id: node.ctx.identity.org }], fields: { title: 'Fraud' } })
  const second = (await smtp.waitForMessages(2))[1]!
  t.same([...second.to].sort(), ['a@county-pd.example', 'b@county-pd.example'])
  t.equal(second.subject, '[Caseway] Org county-da shared case "Fraud"')
})

t.test('with nobody to write to, the e-mail notification is dead at once and the share is untouched', async (t) => {
  const smtp = await startSmtpServer(t)
  const node = await startNotifyingNode(t, { notifications: { ...smtpConfig(smtp.port), agencyAddress: 'records@county-pd.example' } })
  await node.addUser({ id: 'det-nomail' })
  const { inboundId } = await node.offer({ recipients: [{ kind: 'user', id: 'det-nomail' }] })
  const state = await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'dead')
  t.match(state, { attempts: 1, lastError: 'no recipient of the share has an e-mail address' })
  t.equal(smtp.connections(), 0, 'the agency address is only for shares to the entire agency')
  t.match(eventsOf(node, 'notification.failed'), [{ dead: true, attempts: 1 }])
  t.equal((await node.ctx.store.inboundShares.get(inboundId))?.status, 'receiving', 'the share is where the offer left it')
})

t.test('an SMTP server that is not there yet: the e-mail is retried and delivered once it is up', async (t) => {
  const port = await freePort()
  const node = await startNotifyingNode(t, { notifications: smtpConfig(port) })
  const { inboundId } = await node.offer({ recipients: [{ kind: 'email', id: 'duty@county-pd.example' }] })
  const failed = await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'failed')
  t.match(failed.lastError, /^SMTP .*ECONNREFUSED/, 'the connection error is shown')
  t.match(eventsOf(node, 'notification.failed')[0], { dead: false, attempts: 1 })

  const smtp = await startSmtpServer(t, { port })
  const [mail] = await smtp.waitForMessages(1)
  t.same(mail!.to, ['duty@county-pd.example'])
  const sent = await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'sent')
  t.ok(sent.attempts >= 2, `sent at attempt ${sent.attempts}`)
  t.equal(sent.lastError, null)
  t.equal(smtp.received.length, 1, 'sent once')
})

t.test('an SMTP server answering 421 (busy): the e-mail is retried and delivered when it accepts', async (t) => {
  const smtp = await startSmtpServer(t, { refusing: true })
  const node = await startNotifyingNode(t, { notifications: smtpConfig(smtp.port) })
  const { inboundId } = await node.offer({ recipients: [{ kind: 'email', id: 'duty@county-pd.example' }] })
  const failed = await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'failed' && n.attempts >= 2)
  t.match(failed.lastError, /421/, 'the server reply is shown')
  t.equal(smtp.received.length, 0)
  smtp.refuse(false)
  await smtp.waitForMessages(1)
  const sent = await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'sent')
  t.ok(sent.attempts >= 3)
  t.equal(smtp.received.length, 1, 'sent once')
})

t.test('each revision is announced once; an update says so', async (t) => {
  const smtp = await startSmtpServer(t)
  const node = await startNotifyingNode(t, { notifications: smtpConfig(smtp.port) })
  const recipients = [{ kind: 'email' as const, id: 'duty@county-pd.example' }]
  const first = await node.offer({ recipients, fields: { caseNumber: 'DA-5' } })
  await smtp.waitForMessages(1)
  await node.offer({
    shareId: first.manifest.share.id,
    revision: 2,
    previous: first.manifest,
    recipients,
    fields: { caseNumber: 'DA-5' },
    message: 'Added the lab report.',
  })
  const [, update] = await smtp.waitForMessages(2)
  t.equal(update!.subject, '[Caseway] Org county-da updated case DA-5')
  t.match(update!.text, /sent an update \(revision 2\) of a case shared with Org county-pd\./)
  t.match(update!.text, /Added the lab report\./)
  await node.waitForNotification(first.inboundId, 2, 'email', (n) => n.status === 'sent')
  t.same(
    (await node.ctx.store.notifications.list(first.inboundId)).map((n) => [n.revision, n.channel, n.status]),
    [
      [1, 'email', 'sent'],
      [2, 'email', 'sent'],
    ],
  )
  t.equal(smtp.received.length, 2)
})

// spec: CW-NOT-007
t.test('an SMTP server refusing the recipient with 550 (permanent): the e-mail is dead at once, the reply on its status', async (t) => {
  const smtp = await startSmtpServer(t)
  smtp.rejectRecipients(['gone@county-pd.example'])
  const node = await startNotifyingNode(t, { notifications: smtpConfig(smtp.port) })
  const { inboundId } = await node.offer({ recipients: [{ kind: 'email', id: 'gone@county-pd.example' }] })
  const dead = await node.waitForNotification(inboundId, 1, 'email', (n) => n.status === 'dead')
  t.equal(dead.attempts, 1, 'not retried')
  t.match(dead.lastError, /^SMTP permanent 550 .*5\.1\.1/, "the server's reply is shown")
  t.match(eventsOf(node, 'notification.failed'), [{ dead: true, attempts: 1 }])
  const job = await node.waitForJobEnd(inboundId, 1, 'email')
  t.equal(job.state, 'dead', 'the job is dead too: no later attempt')
  t.equal(job.attempts, 1)
  t.equal(smtp.received.length, 0)
})
