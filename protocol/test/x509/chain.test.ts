import t from 'tap'
import { webcrypto } from 'node:crypto'
import { issueCertificate, issueSigningCertificate } from '#certs'
import { x509 } from '#protocol/x509'
import { verifyChain, type TrustAnchor } from '../../src/x509/chain.ts'
import { OID, orgUri } from '../../src/x509/org_uri.ts'
import { anchorOf, createBridgeCa, der64, issueEd25519SigningCertificate, issueOrgCa, pem, type KeyedCertificate } from '../helpers/pki.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const DAY = 86_400_000
const now = new Date()
const a = await createTestOrg('org-a', { now })
const b = await createTestOrg('org-b', { now })
const signing = { usage: 'signing' as const, currentDate: now }

const code = (fn: () => unknown): unknown => {
  try {
    fn()
    return 'accepted'
  } catch (error) {
    return (error as { code?: unknown }).code ?? (error as Error).name
  }
}

const leafProfile = (org: string) => ({
  subject: `CN=${org} signing`,
  uris: [orgUri(org)],
  keyUsage: x509.KeyUsageFlags.digitalSignature,
  extendedKeyUsage: [OID.documentSigning],
})

// spec: CW-SIG-006, CW-TRUST-004
t.test('a signing certificate chaining to its pinned org CA is accepted', async (t) => {
  const leafOnly = verifyChain([der64(a.signing)], [a.anchor], signing)
  t.equal(leafOnly.org, 'org-a')
  t.equal(leafOnly.chain.length, 2)
  t.ok(leafOnly.chain[1]!.raw.equals(Buffer.from(a.ca.certificate.rawData)), 'the anchor ends the chain')
  const withAnchor = verifyChain([der64(a.signing), der64(a.ca)], [b.anchor, a.anchor], signing)
  t.equal(withAnchor.org, 'org-a')
  t.equal(withAnchor.chain.length, 2, 'an anchor repeated in x5c is not counted twice')
})

// spec: CW-SIG-006, CW-TRUST-004
t.test('a chain to a CA that is not a trust anchor is untrusted', async (t) => {
  t.equal(
    code(() => verifyChain([der64(a.signing), der64(a.ca)], [b.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
  )
  t.equal(
    code(() => verifyChain([der64(a.signing)], [], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
  )
})

// spec: CW-SIG-006
t.test('x5c must be certified in order and end at the anchor', async (t) => {
  t.equal(
    code(() => verifyChain([der64(a.signing), der64(b.ca)], [a.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'unrelated cert after the anchor',
  )
  t.equal(
    code(() => verifyChain([der64(a.signing), der64(a.ca), der64(a.ca)], [a.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'anchor twice',
  )
  // Same subject, different key: a look-alike of the anchor.
  const lookAlike = await createTestOrg('org-a', { now })
  t.equal(
    code(() => verifyChain([der64(a.signing), der64(lookAlike.ca)], [a.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'look-alike anchor',
  )
  t.equal(
    code(() => verifyChain([der64(lookAlike.signing), der64(a.ca)], [a.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'signed by the look-alike',
  )
})

// spec: CW-SIG-003
t.test('x5c must hold 1 to 5 base64 DER certificates', async (t) => {
  const six = Array.from({ length: 6 }, () => der64(a.signing))
  t.equal(
    code(() => verifyChain([], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'empty',
  )
  t.equal(
    code(() => verifyChain(six, [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'six',
  )
  t.equal(
    code(() => verifyChain(['not a certificate'], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'garbage',
  )
  t.equal(
    code(() => verifyChain([Buffer.from('garbage!').toString('base64')], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'base64 garbage',
  )
  t.equal(
    code(() => verifyChain([pem(a.signing)], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'PEM',
  )
  t.equal(
    code(() => verifyChain([Buffer.from(a.signing.certificate.rawData).toString('base64url')], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'base64url',
  )
  t.equal(
    code(() => verifyChain('x' as unknown as string[], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'not an array',
  )
  t.equal(
    code(() => verifyChain([42] as unknown as string[], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'not a string',
  )
  const trailing = Buffer.concat([Buffer.from(a.signing.certificate.rawData), Buffer.from([0])]).toString('base64')
  t.equal(
    code(() => verifyChain([trailing], [a.anchor], signing)),
    'CW_ERR_X5C_INVALID',
    'trailing bytes',
  )
})

// spec: CW-SIG-006
t.test('every certificate must be valid at the verification time', async (t) => {
  const expired = await issueSigningCertificate(a.ca, {
    org: 'org-a',
    name: 'A',
    notBefore: new Date(now.getTime() - 10 * DAY),
    notAfter: new Date(now.getTime() - DAY),
  })
  const future = await issueSigningCertificate(a.ca, {
    org: 'org-a',
    name: 'A',
    notBefore: new Date(now.getTime() + DAY),
    notAfter: new Date(now.getTime() + 10 * DAY),
  })
  t.equal(
    code(() => verifyChain([der64(expired)], [a.anchor], signing)),
    'CW_ERR_CERT_EXPIRED',
  )
  t.equal(
    code(() => verifyChain([der64(future)], [a.anchor], signing)),
    'CW_ERR_CERT_NOT_YET_VALID',
  )
  t.equal(
    code(() => verifyChain([der64(a.signing)], [a.anchor], { usage: 'signing', currentDate: new Date(now.getTime() + 400 * DAY) })),
    'CW_ERR_CERT_EXPIRED',
    'by currentDate',
  )
  t.equal(
    code(() => verifyChain([der64(a.signing)], [a.anchor], { usage: 'signing', currentDate: new Date(now.getTime() - 2 * DAY) })),
    'CW_ERR_CERT_NOT_YET_VALID',
    'by currentDate',
  )

  // A valid leaf under an expired issuer.
  const bridge = await createBridgeCa({ now })
  const oldCa = await issueCertificate(bridge, {
    subject: 'CN=old, O=org-a',
    uris: [orgUri('org-a')],
    ca: true,
    keyUsage: x509.KeyUsageFlags.keyCertSign,
    notBefore: new Date(now.getTime() - 10 * DAY),
    notAfter: new Date(now.getTime() - DAY),
  })
  const leaf = await issueSigningCertificate(oldCa, { org: 'org-a', name: 'A', now })
  t.equal(
    code(() => verifyChain([der64(leaf), der64(oldCa)], [{ certificate: pem(bridge) }], signing)),
    'CW_ERR_CERT_EXPIRED',
    'expired intermediate',
  )
})

// spec: CW-SIG-007, CW-ID-003, CW-ID-004
t.test('leaf usage: signing needs documentSigning and no TLS EKU; TLS needs serverAuth+clientAuth', async (t) => {
  t.equal(
    code(() => verifyChain([der64(a.tls)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
    'TLS cert used to sign',
  )
  t.equal(
    code(() => verifyChain([der64(a.signing)], [a.anchor], { usage: 'tls', currentDate: now })),
    'CW_ERR_CERT_USAGE',
    'signing cert used for TLS',
  )
  t.equal(verifyChain([der64(a.tls)], [a.anchor], { usage: 'tls', currentDate: now }).org, 'org-a', 'TLS cert for TLS')

  const both = await issueCertificate(a.ca, { ...leafProfile('org-a'), extendedKeyUsage: [OID.documentSigning, OID.clientAuth] })
  t.equal(
    code(() => verifyChain([der64(both)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
    'documentSigning + clientAuth',
  )
  const anyEku = await issueCertificate(a.ca, { ...leafProfile('org-a'), extendedKeyUsage: [OID.documentSigning, '2.5.29.37.0'] })
  t.equal(
    code(() => verifyChain([der64(anyEku)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
    'anyExtendedKeyUsage',
  )
  const noEku = await issueCertificate(a.ca, { ...leafProfile('org-a'), extendedKeyUsage: undefined })
  t.equal(
    code(() => verifyChain([der64(noEku)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
    'no EKU',
  )
  const noDigitalSignature = await issueCertificate(a.ca, { ...leafProfile('org-a'), keyUsage: x509.KeyUsageFlags.keyEncipherment })
  t.equal(
    code(() => verifyChain([der64(noDigitalSignature)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
    'no digitalSignature',
  )
})

// spec: CW-SIG-007, CW-ID-004
t.test('a CA certificate cannot be the signer', async (t) => {
  t.equal(
    code(() => verifyChain([der64(a.ca)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
    'the anchor itself',
  )
  const subCa = await issueCertificate(a.ca, {
    ...leafProfile('org-a'),
    ca: true,
    keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
  })
  t.equal(
    code(() => verifyChain([der64(subCa)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
    'CA:TRUE leaf with the signing EKU',
  )
})

// spec: CW-ID-002, CW-ID-006
t.test('the leaf must name exactly one well-formed organization', async (t) => {
  const two = await issueCertificate(a.ca, { ...leafProfile('org-a'), uris: [orgUri('org-a'), orgUri('org-b')] })
  const none = await issueCertificate(a.ca, { ...leafProfile('org-a'), uris: ['https://org-a.test/'] })
  const malformed = await issueCertificate(a.ca, { ...leafProfile('org-a'), uris: ['urn:caseway:org:Org_A'] })
  const caseVariant = await issueCertificate(a.ca, { ...leafProfile('org-a'), uris: [orgUri('org-a'), 'URN:Caseway:Org:org-b'] })
  t.equal(
    code(() => verifyChain([der64(two)], [a.anchor], signing)),
    'CW_ERR_CERT_ORG_INVALID',
    'two org SANs',
  )
  t.equal(
    code(() => verifyChain([der64(none)], [a.anchor], signing)),
    'CW_ERR_CERT_ORG_INVALID',
    'no org SAN',
  )
  t.equal(
    code(() => verifyChain([der64(malformed)], [a.anchor], signing)),
    'CW_ERR_CERT_ORG_INVALID',
    'malformed org id',
  )
  t.equal(
    code(() => verifyChain([der64(caseVariant)], [a.anchor], signing)),
    'CW_ERR_CERT_ORG_INVALID',
    'case-variant second org URI',
  )
})

// spec: CW-SIG-009, CW-TRUST-004
t.test("an org-bound anchor only vouches for its own organization's leaves", async (t) => {
  // org B's CA issues a certificate naming org A.
  const forged = await issueSigningCertificate(b.ca, { org: 'org-a', name: 'A', now })
  t.equal(
    code(() => verifyChain([der64(forged), der64(b.ca)], [a.anchor, b.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
  )
  // An anchor configured for org A whose certificate names org B.
  const misconfigured: TrustAnchor = { certificate: pem(b.ca), org: 'org-a' }
  t.equal(
    code(() => verifyChain([der64(forged)], [misconfigured], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
  )
})

// spec: CW-SIG-006
t.test('issuers must be CAs with keyCertSign, within their path length', async (t) => {
  // A signing leaf (CA:FALSE) used as an issuer.
  const underLeaf = await issueCertificate(a.signing, leafProfile('org-a'))
  t.equal(
    code(() => verifyChain([der64(underLeaf), der64(a.signing)], [a.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'CA:FALSE issuer',
  )

  const bridge = await createBridgeCa({ now })
  const noCertSign = await issueCertificate(bridge, { subject: 'CN=no certsign', uris: [orgUri('org-a')], ca: true, keyUsage: x509.KeyUsageFlags.cRLSign })
  const leaf = await issueCertificate(noCertSign, leafProfile('org-a'))
  t.equal(
    code(() => verifyChain([der64(leaf), der64(noCertSign)], [{ certificate: pem(bridge) }], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'no keyCertSign',
  )

  // a.ca has pathLen 0: it cannot certify another CA that then certifies the leaf.
  const subCa = await issueCertificate(a.ca, { subject: 'CN=sub', uris: [orgUri('org-a')], ca: true, keyUsage: x509.KeyUsageFlags.keyCertSign })
  const deep = await issueCertificate(subCa, leafProfile('org-a'))
  t.equal(
    code(() => verifyChain([der64(deep), der64(subCa)], [a.anchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'pathLen 0 exceeded',
  )
})

// spec: CW-TRUST-005, CW-SIG-006
t.test('a bridge anchor vouches for the org CAs it issued; the intermediate names the org', async (t) => {
  const bridge = await createBridgeCa({ now })
  const bridgeAnchor: TrustAnchor = { certificate: pem(bridge) }
  const orgCa = await issueOrgCa(bridge, 'org-c', { now })
  const leaf = await issueSigningCertificate(orgCa, { org: 'org-c', name: 'C', now })
  const ok = verifyChain([der64(leaf), der64(orgCa)], [bridgeAnchor], signing)
  t.equal(ok.org, 'org-c')
  t.equal(ok.chain.length, 3)
  t.equal(verifyChain([der64(leaf), der64(orgCa), der64(bridge)], [bridgeAnchor], signing).org, 'org-c', 'bridge repeated in x5c')

  const otherCa = await issueOrgCa(bridge, 'org-d', { now })
  const mismatch = await issueSigningCertificate(otherCa, { org: 'org-c', name: 'C', now })
  t.equal(
    code(() => verifyChain([der64(mismatch), der64(otherCa)], [bridgeAnchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'intermediate names another org',
  )

  const direct = await issueSigningCertificate(bridge, { org: 'org-c', name: 'C', now })
  t.equal(
    code(() => verifyChain([der64(direct)], [bridgeAnchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'bridge directly certifying a leaf',
  )

  t.equal(
    code(() => verifyChain([der64(leaf), der64(orgCa)], [{ certificate: pem(bridge), org: 'org-c' }], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'bridge configured as org-bound',
  )
  t.equal(
    code(() => verifyChain([der64(leaf)], [bridgeAnchor], signing)),
    'CW_ERR_CHAIN_UNTRUSTED',
    'intermediate missing from x5c',
  )
})

// spec: CW-SIG-002
t.test('only ECDSA P-256 and Ed25519 leaf keys', async (t) => {
  const ed = await issueEd25519SigningCertificate(a.ca, 'org-a')
  t.equal(verifyChain([der64(ed)], [a.anchor], signing).certificate.publicKey.asymmetricKeyType, 'ed25519')

  const p384 = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const rsa = (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as webcrypto.CryptoKeyPair
  for (const [name, keys] of [
    ['P-384', p384],
    ['RSA', rsa],
  ] as const) {
    const leaf = await issueCertificate(a.ca, { ...leafProfile('org-a'), keys })
    t.equal(
      code(() => verifyChain([der64(leaf)], [a.anchor], signing)),
      'CW_ERR_CERT_USAGE',
      name,
    )
  }
})

// spec: CW-SIG-007
t.test('a leaf with an unknown critical extension is refused', async (t) => {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: '0a',
    subject: 'CN=critical',
    issuer: a.ca.certificate.subject,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + DAY),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: a.ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([OID.documentSigning]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: orgUri('org-a') }]),
      new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0])),
    ],
  })
  const leaf: KeyedCertificate = { certificate, privateKey: keys.privateKey }
  t.equal(
    code(() => verifyChain([der64(leaf)], [a.anchor], signing)),
    'CW_ERR_CERT_USAGE',
  )
})

t.test('bad options and unreadable anchors are caller bugs', async (t) => {
  t.throws(() => verifyChain([der64(a.signing)], [a.anchor], { usage: 'code' as 'tls' }), TypeError)
  t.throws(() => verifyChain([der64(a.signing)], [a.anchor], { usage: 'signing', currentDate: new Date(Number.NaN) }), TypeError)
  t.throws(() => verifyChain([der64(a.signing)], 'x' as unknown as TrustAnchor[], signing), TypeError)
  t.throws(() => verifyChain([der64(a.signing)], [{ certificate: 'nope' }], signing), TypeError)
  t.throws(() => verifyChain([der64(a.signing)], [{ certificate: pem(a.ca) + pem(b.ca), org: 'org-a' }], signing), TypeError, 'two PEM blocks')
  t.equal(anchorOf(a.ca, 'org-a').org, 'org-a')
})
