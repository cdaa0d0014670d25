import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { x509 } from '#protocol/x509'
import { initOrg } from '../src/init_org.ts'
import { renewNodeCertificate, renewSigningCertificate, RENEWAL_WINDOW_DAYS } from '../src/renew.ts'

const DAY = 86_400_000
const read = (dir: string, file: string) => new x509.X509Certificate(readFileSync(join(dir, file), 'utf8'))
const hostsOf = (cert: x509.X509Certificate) =>
  cert
    .getExtension(x509.SubjectAlternativeNameExtension)!
    .names.items.filter((n) => n.type !== 'url')
    .map((n) => n.value)

async function orgDir(t: Test, validityDays = 397): Promise<string> {
  const out = join(t.testdir(), 'org')
  await initOrg({ org: 'metro-pd', name: 'Metro PD', hosts: ['node.metro.example', '10.1.2.3'], out, validityDays })
  return out
}

// spec: CW-ID-003, CW-ID-005
t.test('issue-node renews from the same CA with a new key, keeping org, name and hosts', async (t) => {
  const dir = await orgDir(t)
  const before = read(dir, 'node.crt')
  const keyBefore = readFileSync(join(dir, 'node.key'), 'utf8')
  const result = await renewNodeCertificate({ dir, force: true })
  const after = read(dir, 'node.crt')
  t.not(after.serialNumber, before.serialNumber)
  t.equal(result.previous?.serialNumber, before.serialNumber)
  t.not(readFileSync(join(dir, 'node.key'), 'utf8'), keyBefore, 'a new key')
  t.equal(statSync(join(dir, 'node.key')).mode & 0o777, 0o600)
  t.equal(after.subject, before.subject)
  t.same(hostsOf(after), ['node.metro.example', '10.1.2.3'], 'hosts of the previous certificate')
  t.ok(await after.verify({ publicKey: read(dir, 'ca.crt').publicKey, signatureOnly: true }), 'issued by the same CA')

  await renewNodeCertificate({ dir, hosts: ['gw.metro.example'], force: true })
  t.same(hostsOf(read(dir, 'node.crt')), ['gw.metro.example'], 'hosts given replace them')
})

t.test(`a certificate valid for more than ${RENEWAL_WINDOW_DAYS} days is only replaced with force`, async (t) => {
  const dir = await orgDir(t)
  const notAfter = read(dir, 'signing.crt').notAfter.getTime()
  const serial = read(dir, 'signing.crt').serialNumber
  await t.rejects(renewSigningCertificate({ dir }), { code: 'CW_CERTS_STILL_VALID' })
  await t.rejects(renewNodeCertificate({ dir }), { code: 'CW_CERTS_STILL_VALID' })
  await t.rejects(renewSigningCertificate({ dir, now: new Date(notAfter - (RENEWAL_WINDOW_DAYS + 2) * DAY) }), { code: 'CW_CERTS_STILL_VALID' })
  t.equal(read(dir, 'signing.crt').serialNumber, serial, 'untouched')
  await renewSigningCertificate({ dir, now: new Date(notAfter - (RENEWAL_WINDOW_DAYS - 1) * DAY) })
  t.not(read(dir, 'signing.crt').serialNumber, serial, 'renewed inside the window without force')
})

t.test('a short-lived or missing leaf is renewed without force', async (t) => {
  const dir = await orgDir(t, 10)
  const serial = read(dir, 'node.crt').serialNumber
  await renewNodeCertificate({ dir })
  t.not(read(dir, 'node.crt').serialNumber, serial)
  unlinkSync(join(dir, 'signing.crt'))
  await renewSigningCertificate({ dir })
  t.ok(read(dir, 'signing.crt'))
  unlinkSync(join(dir, 'node.crt'))
  await t.rejects(renewNodeCertificate({ dir }), TypeError, 'no previous hosts and none given')
})

t.test('an unreadable existing certificate needs force; a missing CA key is refused', async (t) => {
  const dir = await orgDir(t)
  writeFileSync(join(dir, 'node.crt'), 'garbage\n')
  await t.rejects(renewNodeCertificate({ dir, hosts: ['node.metro.example'] }), { code: 'CW_CERTS_FILE_EXISTS' })
  await renewNodeCertificate({ dir, hosts: ['node.metro.example'], force: true })
  unlinkSync(join(dir, 'ca.key'))
  await t.rejects(renewSigningCertificate({ dir, force: true }), { code: 'CW_CERTS_ORG_DIR_INVALID' })
})
