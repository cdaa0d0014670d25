import { writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { x509 } from '#protocol/x509'
import { createOrgCa, issueCertificate } from '../src/issue.ts'
import { initOrg } from '../src/init_org.ts'
import { inspectCertificate, inspectFile, inspectPath } from '../src/inspect.ts'

const out = join(t.testdir(), 'org')
const init = await initOrg({ org: 'metro-pd', name: 'Metro PD', hosts: ['node.metro.example', '10.1.2.3'], out })

// spec: CW-ID-001, CW-ID-002, CW-ID-003, CW-ID-004, CW-TRUST-001
t.test('describes the three certificates of an organization directory', async (t) => {
  const files = await inspectPath(out)
  t.same(
    files.map((f) => f.path),
    ['ca.crt', 'node.crt', 'signing.crt'].map((f) => join(out, f)),
  )
  const [ca, node, signing] = files.map((f) => f.certificates[0]!)
  for (const info of [ca!, node!, signing!]) {
    t.equal(info.org, 'metro-pd')
    t.equal(info.keyAlgorithm, 'EC P-256')
    t.equal(info.status, 'valid')
  }
  t.equal(ca!.fingerprint, init.bundle.caFingerprint)
  t.ok(ca!.selfSigned)
  t.same(ca!.basicConstraints, { critical: true, ca: true, pathLength: 0 })
  t.same(ca!.keyUsage, { critical: true, usages: ['keyCertSign', 'cRLSign'] })
  t.equal(ca!.extendedKeyUsage, null)
  t.notOk(node!.selfSigned)
  t.same(node!.basicConstraints, { critical: true, ca: false })
  t.same(node!.keyUsage, { critical: true, usages: ['digitalSignature'] })
  t.same(node!.extendedKeyUsage, { critical: false, usages: ['serverAuth', 'clientAuth'] })
  t.same(node!.subjectAltNames, { uris: ['urn:caseway:org:metro-pd'], dns: ['node.metro.example'], ips: ['10.1.2.3'], other: [] })
  t.same(signing!.extendedKeyUsage, { critical: false, usages: ['documentSigning'] })
  t.same(signing!.subjectAltNames.dns, [])
})

// spec: CW-ID-006
t.test('reports a certificate without an org URI instead of failing', async (t) => {
  const ca = await createOrgCa({ org: 'metro-pd', name: 'Metro PD' })
  const stray = await issueCertificate(ca, { subject: 'CN=stray', uris: [], hosts: ['stray.example'], keyUsage: x509.KeyUsageFlags.digitalSignature })
  const info = inspectCertificate(stray.certificate.toString('pem'))
  t.equal(info.org, null)
  t.match(info.orgError, /^CW_ERR_CERT_ORG_INVALID/)
  t.same(info.subjectAltNames.dns, ['stray.example'])
})

t.test('validity status and days left follow the clock', async (t) => {
  const pem = readFileSync(join(out, 'node.crt'), 'utf8')
  const notAfter = new Date(inspectCertificate(pem).notAfter).getTime()
  t.equal(inspectCertificate(pem, { now: new Date(notAfter - 10.5 * 86_400_000) }).daysLeft, 10)
  t.equal(inspectCertificate(pem, { now: new Date(notAfter + 1000) }).status, 'expired')
  t.equal(inspectCertificate(pem, { now: new Date(0) }).status, 'not yet valid')
})

t.test('reads DER, several PEM certificates, and refuses files without one', async (t) => {
  const dir = t.testdir()
  const pem = readFileSync(join(out, 'ca.crt'), 'utf8')
  writeFileSync(join(dir, 'ca.der'), Buffer.from(new x509.X509Certificate(pem).rawData))
  t.equal((await inspectFile(join(dir, 'ca.der'))).certificates[0]!.fingerprint, init.bundle.caFingerprint)
  writeFileSync(join(dir, 'chain.pem'), readFileSync(join(out, 'node.crt'), 'utf8') + pem)
  t.same(
    (await inspectFile(join(dir, 'chain.pem'))).certificates.map((c) => c.selfSigned),
    [false, true],
  )
  await t.rejects(inspectFile(join(out, 'ca.key')), { code: 'CW_CERTS_NO_CERTIFICATE' })
  writeFileSync(join(dir, 'junk.bin'), 'junk')
  await t.rejects(inspectFile(join(dir, 'junk.bin')), { code: 'CW_CERTS_NO_CERTIFICATE' })
  await t.rejects(inspectPath(t.testdir()), { code: 'CW_CERTS_NO_CERTIFICATE' }, 'directory without certificates')
})
