import t from 'tap'
import { createHash, X509Certificate } from 'node:crypto'
import { issueCertificate } from '#certs'
import { x509 } from '#protocol/x509'
import { certificateFingerprint } from '../../src/x509/fingerprint.ts'
import { orgOfCertificate } from '../../src/x509/org.ts'
import { orgUri } from '../../src/x509/org_uri.ts'
import { parseCertificates, pemToX509 } from '../../src/x509/parse.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'
import { der64, pem } from '../helpers/pki.ts'

const a = await createTestOrg('org-a')
const b = await createTestOrg('org-b')
const der = new Uint8Array(a.ca.certificate.rawData)

// spec: CW-TRUST-001, CW-FMT-002
t.test('fingerprint is sha256: + hex SHA-256 of the DER, from PEM or DER', async (t) => {
  const expected = 'sha256:' + createHash('sha256').update(der).digest('hex')
  t.equal(certificateFingerprint(pem(a.ca)), expected)
  t.equal(certificateFingerprint(der), expected)
  t.equal(certificateFingerprint(Buffer.from(der)), expected)
  t.equal(certificateFingerprint(pem(a.ca).replaceAll('\n', '\r\n')), expected, 'CRLF PEM')
  t.not(certificateFingerprint(pem(b.ca)), expected)
  t.match(expected, /^sha256:[0-9a-f]{64}$/)
})

t.test('fingerprint input must be one certificate', async (t) => {
  t.throws(() => certificateFingerprint('not a pem'), TypeError)
  t.throws(() => certificateFingerprint(pem(a.ca) + pem(b.ca)), TypeError, 'two PEM blocks')
  t.throws(() => certificateFingerprint(new Uint8Array([1, 2, 3])), TypeError)
  t.throws(() => certificateFingerprint(new Uint8Array([...der, 0])), TypeError, 'trailing byte')
  t.throws(() => certificateFingerprint(42 as unknown as string), TypeError)
})

// spec: CW-ID-002, CW-ID-006
t.test('org comes from the single org URI SAN', async (t) => {
  t.equal(orgOfCertificate(pemToX509(pem(a.ca))), 'org-a')
  t.equal(orgOfCertificate(pemToX509(pem(a.signing))), 'org-a')
  t.equal(orgOfCertificate(pemToX509(pem(a.tls))), 'org-a')
  const profile = { subject: 'CN=org-b, O=org-b', keyUsage: x509.KeyUsageFlags.digitalSignature }
  const extraUri = await issueCertificate(a.ca, { ...profile, uris: ['https://org-b.test/', orgUri('org-a')], hosts: ['org-b.test'] })
  t.equal(orgOfCertificate(pemToX509(pem(extraUri))), 'org-a', 'other URIs, DNS names and the subject DN do not count')
  for (const [name, uris] of [
    ['none', []],
    ['two', [orgUri('org-a'), orgUri('org-b')]],
    ['same twice', [orgUri('org-a'), orgUri('org-a')]],
    ['malformed id', ['urn:caseway:org:ORG-A']],
    ['empty id', ['urn:caseway:org:']],
    ['upper-case prefix', ['URN:CASEWAY:ORG:org-a']],
    ['path after id', ['urn:caseway:org:org-a/x']],
  ] as const) {
    const cert = await issueCertificate(a.ca, { ...profile, uris })
    t.throws(() => orgOfCertificate(pemToX509(pem(cert))), { code: 'CW_ERR_CERT_ORG_INVALID' }, name)
  }
})

// spec: CW-SIG-003
t.test('parseCertificates reads base64 DER, leaf first', async (t) => {
  const certs = parseCertificates([der64(a.signing), der64(a.ca)])
  t.equal(certs.length, 2)
  t.ok(certs[0] instanceof X509Certificate)
  t.ok(certs[1]!.raw.equals(Buffer.from(der)))
  for (const [name, value] of [
    ['empty array', []],
    ['garbage', ['!!!']],
    ['empty string', ['']],
    ['base64 of junk', [Buffer.from('junk junk').toString('base64')]],
    ['truncated', [der64(a.ca).slice(0, -1)]],
    ['whitespace', [der64(a.ca).slice(0, 10) + '\n' + der64(a.ca).slice(10)]],
    ['PEM', [pem(a.ca)]],
  ] as const) {
    t.throws(() => parseCertificates(value as unknown as string[]), { code: 'CW_ERR_X5C_INVALID' }, name)
  }
})

t.test('pemToX509 takes exactly one certificate', async (t) => {
  t.ok(pemToX509(pem(a.ca)).raw.equals(Buffer.from(der)))
  t.throws(() => pemToX509(''), TypeError)
  t.throws(() => pemToX509('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), TypeError)
  t.throws(() => pemToX509(pem(a.ca) + pem(b.ca)), TypeError)
})
