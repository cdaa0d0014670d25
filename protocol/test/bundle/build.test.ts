import t from 'tap'
import { createOrgCa } from '#certs'
import { buildPartnerBundle } from '../../src/bundle/build.ts'
import { assertPartnerBundle } from '../../src/schema/validate.ts'
import { certificateFingerprint } from '../../src/x509/fingerprint.ts'

const ca = await createOrgCa({ org: 'metro-pd', name: 'Metro PD' })
const input = { org: 'metro-pd', name: 'Metro PD', endpoint: 'https://node.metro.example:8443', caCertificatePem: ca.certificate.toString('pem') }

// spec: CW-TRUST-001
t.test('builds a schema-valid bundle with the CA fingerprint', async (t) => {
  const bundle = buildPartnerBundle(input)
  t.doesNotThrow(() => assertPartnerBundle(bundle))
  t.same(Object.keys(bundle).sort(), ['caCertificate', 'caFingerprint', 'cwv', 'endpoint', 'name', 'org'])
  t.equal(bundle.cwv, '0.1')
  t.equal(bundle.caFingerprint, certificateFingerprint(input.caCertificatePem))
  t.equal(bundle.caCertificate, input.caCertificatePem.trim() + '\n')
})

t.test('bad input is a caller TypeError', async (t) => {
  t.throws(() => buildPartnerBundle({ ...input, org: 'Metro PD' }), TypeError)
  t.throws(() => buildPartnerBundle({ ...input, endpoint: 'http://node.metro.example' }), TypeError)
  t.throws(() => buildPartnerBundle({ ...input, name: '' }), TypeError)
  t.throws(() => buildPartnerBundle({ ...input, caCertificatePem: 'not a certificate' }), TypeError)
  t.throws(() => buildPartnerBundle({ ...input, caCertificatePem: input.caCertificatePem + input.caCertificatePem }), TypeError)
})
