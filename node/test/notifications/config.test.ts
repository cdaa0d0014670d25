/**
 * The `notifications` section of caseway.json: off by default, and only settings that keep the
 * webhook on https (or loopback http) with a strong secret.
 */
import t from 'tap'
import { parseConfig } from '../../src/config/load.ts'
import { notificationChannels } from '../../src/notifications/notification_consumer.ts'

const base = { org: 'county-da', name: 'County DA', federation: { port: 0, publicUrl: 'https://county-da.test' }, local: { port: 0 } }
const secret = 's'.repeat(32)

function parse(notifications: unknown) {
  return parseConfig(notifications === undefined ? base : { ...base, notifications }, '/tmp')
}

t.test('notifications are off unless configured; smtp defaults to STARTTLS when offered', async (t) => {
  t.same(parse(undefined).notifications, { allowedDomains: [] }, 'no channel, and no domain a partner may name for e-mail')
  t.same(notificationChannels(parse(undefined)), [])
  const config = parse({
    smtp: { host: 'smtp.example', port: 587, from: 'Caseway <caseway@county-da.example>' },
    webhook: { url: 'https://hooks.example/in', secret },
  })
  t.same(config.notifications.smtp, { host: 'smtp.example', port: 587, from: 'Caseway <caseway@county-da.example>', secure: false, requireTLS: false })
  t.same(notificationChannels(config), ['email', 'webhook'])
})

// spec: CW-NOT-006
t.test('allowedDomains are domain names, nothing else', async (t) => {
  t.same(parse({ allowedDomains: ['county-da.example', 'LAB.example'] }).notifications.allowedDomains, ['county-da.example', 'LAB.example'])
  for (const domain of ['*.example', '@lab.example', 'lab.example.', 'lab', '', 'a b.example', 'lab.example\nBcc']) {
    t.throws(() => parse({ allowedDomains: [domain] }), { name: 'ConfigError', message: /notifications\.allowedDomains/ }, JSON.stringify(domain))
  }
})

// spec: CW-NOT-001
t.test('the webhook URL is https, or http on loopback only, without user info', async (t) => {
  for (const url of [
    'https://hooks.example/in',
    'https://hooks.example:8443/a?b=c',
    'http://127.0.0.1:9000/hook',
    'http://localhost/hook',
    'http://[::1]:81/',
  ]) {
    t.doesNotThrow(() => parse({ webhook: { url, secret } }), url)
  }
  for (const url of [
    'http://hooks.example/in',
    'http://10.0.0.5/hook',
    'http://localhost.evil.example/',
    'http://localhost:80@evil.example/',
    'https://user:pw@hooks.example/',
    'ftp://hooks.example/',
    'https://',
  ]) {
    t.throws(() => parse({ webhook: { url, secret } }), { name: 'ConfigError', message: /notifications\.webhook\.url/ }, url)
  }
})

// spec: CW-NOT-002
t.test('the webhook secret has at least 32 characters; SMTP user and password go together', async (t) => {
  t.throws(() => parse({ webhook: { url: 'https://hooks.example/', secret: 's'.repeat(31) } }), { message: /notifications\.webhook\.secret/ })
  t.throws(() => parse({ smtp: { host: 'h', port: 25, from: 'a@b.example', user: 'u' } }), { message: /notifications\.smtp/ })
  t.throws(() => parse({ smtp: { host: 'h', port: 25, from: 'a@b.example', password: 'p' } }), { message: /notifications\.smtp/ })
  t.throws(() => parse({ smtp: { host: 'h', port: 25, from: 'not an address' } }), { message: /notifications\.smtp\.from/ })
  t.throws(() => parse({ agencyAddress: 'Records <records@county-da.example>' }), { message: /notifications\.agencyAddress/ })
  t.throws(() => parse({ pager: {} }), { message: /unknown field "pager"/ })
})
