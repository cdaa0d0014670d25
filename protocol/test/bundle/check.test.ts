import { createHash, webcrypto } from 'node:crypto'
import t from 'tap'
import { x509 } from '#protocol/x509'
import { createOrgCa, issueCertificate, issueSigningCertificate } from '#certs'
import { orgUri } from '../../src/x509/org_uri.ts'
import { buildPartnerBundle } from '../../src/bundle/build.ts'
import { checkPartnerBundle } from '../../src/bundle/check.ts'
import { certificateFingerprint } from '../../src/x509/fingerprint.ts'

const DAY = 86_400_000
const { KeyUsageFlags } = x509
const CA_USAGES = KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign

const ca = await createOrgCa({ org: 'metro-pd', name: 'Metro PD' })
const caPem = ca.certificate.toString('pem')
const good = buildPartnerBundle({ org: 'metro-pd', name: 'Metro PD', endpoint: 'https://node.metro.example:8443', caCertificatePem: caPem })
const fingerprint = good.caFingerprint

/** A bundle around `pem` whose caFingerprint is consistent, so only the CA itself is wrong. */
function bundleFor(pem: string, org = 'metro-pd') {
  return { ...good, org, caCertificate: pem, caFingerprint: certificateFingerprint(pem) }
}

interface SelfSignedOptions {
  ca?: boolean
  basicConstraintsCritical?: boolean
  keyUsage?: number | null
  keyUsageCritical?: boolean
  uris?: string[]
  algorithm?: 'P-256' | 'P-384' | 'Ed25519'
  notBefore?: Date
  notAfter?: Date
}

/** A self-signed certificate with every CW-ID-001 field under the test's control. */
async function selfSigned(options: SelfSignedOptions = {}): Promise<string> {
  const algorithm = options.algorithm ?? 'P-256'
  const keyAlgorithm = algorithm === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: algorithm }
  const signingAlgorithm = algorithm === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: algorithm === 'P-384' ? 'SHA-384' : 'SHA-256' }
  const keys = (await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca ?? true, undefined, options.basicConstraintsCritical ?? true),
    new x509.SubjectAlternativeNameExtension((options.uris ?? [orgUri('metro-pd')]).map((value) => ({ type: 'url' as const, value }))),
  ]
  if (options.keyUsage !== null) {
    extensions.push(new x509.KeyUsagesExtension(options.keyUsage ?? CA_USAGES, options.keyUsageCritical ?? true))
  }
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Metro PD Caseway CA, O=Metro PD',
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingAlgorithm,
    keys,
    extensions,
  })
  return certificate.toString('pem')
}

// spec: CW-TRUST-001, CW-TRUST-002
t.test('accepts a bundle whose CA matches the out-of-band fingerprint in any accepted form', async (t) => {
  const hex = fingerprint.slice('sha256:'.length)
  const colon = hex.toUpperCase().match(/../g)!.join(':')
  for (const form of [fingerprint, hex, hex.toUpperCase(), `SHA256:${hex.toUpperCase()}`, colon, `sha256 Fingerprint=${colon}`, ` ${fingerprint}\n`]) {
    t.same(checkPartnerBundle(good, { fingerprint: form }), good, form)
  }
})

// spec: CW-TRUST-001
t.test('the bundle fingerprint is sha256 of the CA DER, lower-case hex', async (t) => {
  t.equal(good.caFingerprint, 'sha256:' + createHash('sha256').update(new Uint8Array(ca.certificate.rawData)).digest('hex'))
  t.match(good.caFingerprint, /^sha256:[0-9a-f]{64}$/)
})

// spec: CW-TRUST-002
t.test('a different out-of-band fingerprint is CW_ERR_FINGERPRINT_MISMATCH', async (t) => {
  const other = await createOrgCa({ org: 'metro-pd', name: 'Metro PD' })
  const otherFingerprint = certificateFingerprint(other.certificate.toString('pem'))
  t.throws(() => checkPartnerBundle(good, { fingerprint: otherFingerprint }), { code: 'CW_ERR_FINGERPRINT_MISMATCH' })
  // An impostor's self-consistent bundle for the same org is refused by the pin, not by its shape.
  const impostor = bundleFor(other.certificate.toString('pem'))
  t.throws(() => checkPartnerBundle(impostor, { fingerprint }), { code: 'CW_ERR_FINGERPRINT_MISMATCH' })
})

t.test('a malformed expected fingerprint is a caller TypeError', async (t) => {
  for (const bad of ['', 'sha256:abc', 'md5:' + 'a'.repeat(32), 'g'.repeat(64), 'AB:CD']) {
    t.throws(() => checkPartnerBundle(good, { fingerprint: bad }), TypeError, JSON.stringify(bad))
  }
  t.throws(() => checkPartnerBundle(good, { fingerprint, currentDate: new Date('x') }), TypeError)
  t.throws(() => checkPartnerBundle(good, null as never), TypeError)
})

// spec: CW-FMT-004, CW-TRUST-001
t.test('schema violations are CW_ERR_SCHEMA_INVALID', async (t) => {
  t.throws(() => checkPartnerBundle({ ...good, extra: true }, { fingerprint }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/extra' })
  const { endpoint: _, ...missing } = good
  t.throws(() => checkPartnerBundle(missing, { fingerprint }), { code: 'CW_ERR_SCHEMA_INVALID' })
  t.throws(() => checkPartnerBundle({ ...good, endpoint: 'http://node.metro.example' }, { fingerprint }), { code: 'CW_ERR_SCHEMA_INVALID' })
  t.throws(() => checkPartnerBundle({ ...good, caFingerprint: fingerprint.toUpperCase() }, { fingerprint }), { code: 'CW_ERR_SCHEMA_INVALID' })
  for (const value of [null, 'bundle', 42, [good]]) {
    t.throws(() => checkPartnerBundle(value, { fingerprint }), { code: 'CW_ERR_SCHEMA_INVALID' }, JSON.stringify(value))
  }
  t.throws(() => checkPartnerBundle({ ...good, toJSON: () => good }, { fingerprint }), { code: 'CW_ERR_SCHEMA_INVALID' })
})

// spec: CW-VER-001
t.test('an unsupported or missing cwv is CW_ERR_VERSION_UNSUPPORTED, before the schema', async (t) => {
  t.throws(() => checkPartnerBundle({ ...good, cwv: '0.3', extra: true }, { fingerprint }), { code: 'CW_ERR_VERSION_UNSUPPORTED', at: '/cwv' })
  const { cwv: _, ...unversioned } = good
  t.throws(() => checkPartnerBundle(unversioned, { fingerprint }), { code: 'CW_ERR_VERSION_UNSUPPORTED' })
})

// spec: CW-TRUST-003
t.test('caCertificate must be exactly one PEM certificate', async (t) => {
  const signing = await issueSigningCertificate(ca, { org: 'metro-pd', name: 'Metro PD' })
  const key = x509.PemConverter.encode(new Uint8Array(32).buffer, 'PRIVATE KEY')
  const variants = {
    'not PEM': 'certificate',
    'garbage in a PEM block': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    'two certificates': caPem + '\n' + signing.certificate.toString('pem'),
    'a private key riding along': caPem + '\n' + key,
  }
  for (const [what, pem] of Object.entries(variants)) {
    t.throws(() => checkPartnerBundle({ ...good, caCertificate: pem }, { fingerprint }), { code: 'CW_ERR_BUNDLE_INVALID', at: '/caCertificate' }, what)
  }
})

// spec: CW-TRUST-003, CW-ID-001
t.test('a CA that is not a CW-ID-001 org CA is CW_ERR_BUNDLE_INVALID', async (t) => {
  const leaf = await issueSigningCertificate(ca, { org: 'metro-pd', name: 'Metro PD' })
  const otherCa = await createOrgCa({ org: 'bridge', name: 'Bridge' })
  const intermediate = await issueCertificate(otherCa, {
    subject: 'CN=Metro PD Caseway CA, O=Metro PD',
    uris: [orgUri('metro-pd')],
    ca: true,
    keyUsage: CA_USAGES,
  })
  const tampered = Buffer.from(ca.certificate.rawData)
  tampered[tampered.length - 3]! ^= 0x01 // inside the signature value
  const variants: Record<string, string> = {
    'a leaf (the signing certificate)': leaf.certificate.toString('pem'),
    'a CA issued by another CA (not self-signed)': intermediate.certificate.toString('pem'),
    'a self-signature that does not verify': x509.PemConverter.encode(tampered, 'CERTIFICATE'),
    'CA:FALSE': await selfSigned({ ca: false }),
    'basicConstraints not critical': await selfSigned({ basicConstraintsCritical: false }),
    'no keyUsage': await selfSigned({ keyUsage: null }),
    'keyUsage without keyCertSign': await selfSigned({ keyUsage: KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature }),
    'keyUsage without cRLSign': await selfSigned({ keyUsage: KeyUsageFlags.keyCertSign }),
    'keyUsage not critical': await selfSigned({ keyUsageCritical: false }),
    'a P-384 key': await selfSigned({ algorithm: 'P-384' }),
  }
  for (const [what, pem] of Object.entries(variants)) {
    t.throws(() => checkPartnerBundle(bundleFor(pem), { fingerprint: certificateFingerprint(pem) }), { code: 'CW_ERR_BUNDLE_INVALID' }, what)
  }
})

// spec: CW-ID-001
t.test('an Ed25519 org CA is accepted', async (t) => {
  const pem = await selfSigned({ algorithm: 'Ed25519' })
  t.equal(checkPartnerBundle(bundleFor(pem), { fingerprint: certificateFingerprint(pem) }).org, 'metro-pd')
})

// spec: CW-TRUST-003
t.test('a CA outside its validity at currentDate is refused', async (t) => {
  t.throws(() => checkPartnerBundle(good, { fingerprint, currentDate: new Date(ca.certificate.notAfter.getTime() + 1000) }), {
    code: 'CW_ERR_CERT_EXPIRED',
  })
  t.throws(() => checkPartnerBundle(good, { fingerprint, currentDate: new Date(ca.certificate.notBefore.getTime() - 1000) }), {
    code: 'CW_ERR_CERT_NOT_YET_VALID',
  })
  const expired = await selfSigned({ notBefore: new Date(Date.now() - 20 * DAY), notAfter: new Date(Date.now() - DAY) })
  t.throws(() => checkPartnerBundle(bundleFor(expired), { fingerprint: certificateFingerprint(expired) }), { code: 'CW_ERR_CERT_EXPIRED' })
})

// spec: CW-TRUST-003, CW-ID-002, CW-ID-006
t.test('the CA must name exactly the bundle org', async (t) => {
  t.throws(() => checkPartnerBundle({ ...good, org: 'other-pd' }, { fingerprint }), { code: 'CW_ERR_BUNDLE_INVALID', at: '/org' })
  const variants: Record<string, string> = {
    'no org URI': await selfSigned({ uris: ['https://metro.example/'] }),
    'two org URIs': await selfSigned({ uris: [orgUri('metro-pd'), orgUri('other-pd')] }),
    'an upper-case look-alike': await selfSigned({ uris: ['URN:CASEWAY:ORG:metro-pd'] }),
  }
  for (const [what, pem] of Object.entries(variants)) {
    t.throws(() => checkPartnerBundle(bundleFor(pem), { fingerprint: certificateFingerprint(pem) }), { code: 'CW_ERR_BUNDLE_INVALID' }, what)
  }
})

// spec: CW-TRUST-003
t.test('a caFingerprint that is not the CA fingerprint is CW_ERR_BUNDLE_INVALID, even when it matches the pin', async (t) => {
  const other = await createOrgCa({ org: 'metro-pd', name: 'Metro PD' })
  const swapped = { ...good, caCertificate: other.certificate.toString('pem') }
  t.throws(() => checkPartnerBundle(swapped, { fingerprint }), { code: 'CW_ERR_BUNDLE_INVALID', at: '/caFingerprint' })
  const edited = { ...good, caFingerprint: 'sha256:' + '0'.repeat(64) }
  t.throws(() => checkPartnerBundle(edited, { fingerprint: edited.caFingerprint }), { code: 'CW_ERR_BUNDLE_INVALID', at: '/caFingerprint' })
})

t.test('checks and returns one snapshot of the input', async (t) => {
  let reads = 0
  const shifty = {
    ...good,
    get org() {
      reads++
      return reads === 1 ? 'metro-pd' : 'evil-pd'
    },
  }
  const result = checkPartnerBundle(shifty, { fingerprint })
  t.equal(result.org, 'metro-pd')
  t.equal(reads, 1, 'the getter ran once')
  t.not(result, good, 'a copy, not the caller object')
})
