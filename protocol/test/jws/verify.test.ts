import t from 'tap'
import { KeyObject } from 'node:crypto'
import { issueCertificate, issueSigningCertificate } from '#certs'
import { x509 } from '#protocol/x509'
import { digestBytes, digestJson } from '../../src/canonical/digest.ts'
import { signObject } from '../../src/jws/sign.ts'
import { verifySigned, type VerifyOptions } from '../../src/jws/verify.ts'
import { OID, orgUri } from '../../src/x509/org_uri.ts'
import { b64u, craft, parts } from '../helpers/jws_craft.ts'
import { claims, createBridgeCa, der64, issueEd25519SigningCertificate, issueOrgCa, pem, signerOf } from '../helpers/pki.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const DAY = 86_400_000
const now = new Date(Math.floor(Date.now() / 1000) * 1000)
const seconds = now.getTime() / 1000
const a = await createTestOrg('org-a', { now })
const b = await createTestOrg('org-b', { now })
const options: VerifyOptions = { trustAnchors: [a.anchor, b.anchor], audience: 'org-b', currentDate: now }
const body = () => ({ ...claims('org-a', 'org-b', now), share: 's-1', revision: 1 })
const typ = 'caseway-manifest+jws'
const x5cOf = (...certs: Parameters<typeof der64>[0][]) => certs.map(der64)

// spec: CW-SIG-001, CW-SIG-008
t.test('ES256 round trip', async (t) => {
  const payload = body()
  const jws = await signObject('manifest', payload, a.signer)
  const verified = await verifySigned('manifest', jws, options)
  t.same(verified.payload, payload)
  t.equal(verified.header['alg'], 'ES256')
  t.equal(verified.header['typ'], 'caseway-manifest+jws')
  t.same(verified.header['x5c'], [der64(a.signing), der64(a.ca)])
  t.equal(verified.signer.org, 'org-a')
  t.equal(verified.digest, digestJson(payload))
  t.equal(verified.digest, digestBytes(Buffer.from(parts(jws).payload, 'base64url')), 'digest of the signed bytes')
  // Without an audience option any aud is accepted.
  await t.resolves(verifySigned('manifest', jws, { trustAnchors: [a.anchor], currentDate: now }))
})

// spec: CW-SIG-002, CW-SIG-008
t.test('EdDSA round trip with an Ed25519 signing certificate (P-256 CA)', async (t) => {
  const ed = await issueEd25519SigningCertificate(a.ca, 'org-a')
  t.equal(ed.certificate.publicKey.algorithm.name, 'Ed25519')
  for (const privateKey of [ed.privateKey, KeyObject.from(ed.privateKey)]) {
    const payload = body()
    const jws = await signObject('receipt', payload, { privateKey, chain: [pem(ed), pem(a.ca)] })
    t.equal(parts(jws).header['alg'], 'EdDSA')
    const verified = await verifySigned('receipt', jws, options)
    t.same(verified.payload, payload)
    t.equal(verified.signer.certificate.publicKey.asymmetricKeyType, 'ed25519')
  }
  // ES256 header over an Ed25519 leaf.
  await t.rejects(verifySigned('manifest', craft({ alg: 'ES256', typ, x5c: x5cOf(ed) }, body(), ed.privateKey), options), { code: 'CW_ERR_ALG_NOT_ALLOWED' })
})

// spec: CW-SIG-008
t.test('x5c whose leaf is not the signer (wrong x5c) fails the signature', async (t) => {
  const other = await issueSigningCertificate(a.ca, { org: 'org-a', name: 'A', now })
  const jws = craft({ alg: 'ES256', typ, x5c: x5cOf(other, a.ca) }, body(), a.signing.privateKey)
  await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_SIGNATURE_INVALID' })
  // Control: the same crafting with the right leaf verifies.
  await t.resolves(verifySigned('manifest', craft({ alg: 'ES256', typ, x5c: x5cOf(a.signing, a.ca) }, body(), a.signing.privateKey), options))
})

// spec: CW-SIG-008
t.test('tampered payload and tampered header fail the signature', async (t) => {
  const jws = await signObject('manifest', body(), a.signer)
  const { header, payload, signature } = parts(jws)
  const other = await signObject('manifest', { ...body(), share: 's-2' }, a.signer)
  const swapped = `${jws.split('.')[0]}.${other.split('.')[1]}.${signature}`
  await t.rejects(verifySigned('manifest', swapped, options), { code: 'CW_ERR_SIGNATURE_INVALID' }, 'payload swapped')
  const flipped = Buffer.from(payload, 'base64url')
  flipped[flipped.length - 2] ^= 1
  await t.rejects(
    verifySigned('manifest', `${jws.split('.')[0]}.${b64u(flipped)}.${signature}`, options),
    { code: 'CW_ERR_SIGNATURE_INVALID' },
    'payload bit flipped',
  )
  const newHeader = b64u(JSON.stringify({ ...header, typ: 'caseway-manifest+jws' }).replace('"alg"', ' "alg"'))
  await t.rejects(verifySigned('manifest', `${newHeader}.${payload}.${signature}`, options), { code: 'CW_ERR_SIGNATURE_INVALID' }, 'header changed')
  // spec: CW-SIG-016 — an added parameter is refused before the signature is looked at.
  const withKid = b64u(JSON.stringify({ ...header, kid: 'x' }))
  await t.rejects(verifySigned('manifest', `${withKid}.${payload}.${signature}`, options), { code: 'CW_ERR_MALFORMED', at: 'header.kid' }, 'kid added')
  const reordered = b64u(JSON.stringify({ typ: header['typ'], x5c: header['x5c'], alg: header['alg'] }))
  await t.rejects(verifySigned('manifest', `${reordered}.${payload}.${signature}`, options), { code: 'CW_ERR_SIGNATURE_INVALID' }, 'header re-serialized')
  const sig = Buffer.from(signature, 'base64url')
  sig[0] ^= 1
  await t.rejects(
    verifySigned('manifest', `${jws.split('.')[0]}.${payload}.${b64u(sig)}`, options),
    { code: 'CW_ERR_SIGNATURE_INVALID' },
    'signature bit flipped',
  )
  await t.rejects(verifySigned('manifest', `${jws.split('.')[0]}.${payload}.`, options), { code: 'CW_ERR_SIGNATURE_INVALID' }, 'signature stripped')
})

// spec: CW-SIG-006, CW-TRUST-004
t.test('a chain to an untrusted CA is refused', async (t) => {
  const jws = await signObject('manifest', { ...body(), iss: 'org-b' }, b.signer)
  await t.rejects(verifySigned('manifest', jws, { ...options, trustAnchors: [a.anchor] }), { code: 'CW_ERR_CHAIN_UNTRUSTED' })
  await t.resolves(verifySigned('manifest', jws, options), 'control: trusted when org B is pinned')
})

// spec: CW-SIG-006, CW-SIG-009
t.test('a CA of org B vouching for a leaf naming org A is refused (anchor org binding)', async (t) => {
  const forged = await issueSigningCertificate(b.ca, { org: 'org-a', name: 'A', now })
  const jws = await signObject('manifest', body(), signerOf(forged, b.ca))
  await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_CHAIN_UNTRUSTED' })
})

// spec: CW-SIG-006
t.test('expired and not-yet-valid signing certificates are refused', async (t) => {
  const expired = await issueSigningCertificate(a.ca, {
    org: 'org-a',
    name: 'A',
    notBefore: new Date(now.getTime() - 30 * DAY),
    notAfter: new Date(now.getTime() - DAY),
  })
  const future = await issueSigningCertificate(a.ca, {
    org: 'org-a',
    name: 'A',
    notBefore: new Date(now.getTime() + DAY),
    notAfter: new Date(now.getTime() + 30 * DAY),
  })
  await t.rejects(verifySigned('manifest', await signObject('manifest', body(), signerOf(expired, a.ca)), options), { code: 'CW_ERR_CERT_EXPIRED' })
  await t.rejects(verifySigned('manifest', await signObject('manifest', body(), signerOf(future, a.ca)), options), { code: 'CW_ERR_CERT_NOT_YET_VALID' })
})

// spec: CW-SIG-007, CW-ID-004
t.test('a TLS (node) certificate cannot sign', async (t) => {
  const jws = await signObject('manifest', body(), signerOf(a.tls, a.ca))
  await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_CERT_USAGE' })
})

// spec: CW-SIG-007, CW-ID-004
t.test('a CA certificate cannot sign', async (t) => {
  const jws = await signObject('manifest', body(), signerOf(a.ca))
  await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_CERT_USAGE' })
})

// spec: CW-ID-002, CW-ID-006
t.test('a leaf with two org SANs or none is refused', async (t) => {
  const profile = { subject: 'CN=x', keyUsage: x509.KeyUsageFlags.digitalSignature, extendedKeyUsage: [OID.documentSigning] }
  const two = await issueCertificate(a.ca, { ...profile, uris: [orgUri('org-a'), orgUri('org-b')] })
  const none = await issueCertificate(a.ca, { ...profile, uris: [] })
  for (const [name, leaf] of [
    ['two', two],
    ['none', none],
  ] as const) {
    const jws = await signObject('manifest', body(), signerOf(leaf, a.ca))
    await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_CERT_ORG_INVALID' }, name)
  }
})

// spec: CW-SIG-009
t.test('iss must be the signing certificate organization', async (t) => {
  const jws = await signObject('manifest', { ...body(), iss: 'org-b' }, a.signer)
  await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_ISSUER_MISMATCH' })
  const missing: Record<string, unknown> = body()
  delete missing['iss']
  await t.rejects(verifySigned('manifest', await signObject('manifest', missing, a.signer), options), { code: 'CW_ERR_ISSUER_MISMATCH' })
})

// spec: CW-SIG-010
t.test('aud must be the verifier organization', async (t) => {
  const jws = await signObject('manifest', { ...body(), aud: 'org-c' }, a.signer)
  await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_AUDIENCE_MISMATCH' })
  const asArray = await signObject('manifest', { ...body(), aud: ['org-b'] }, a.signer)
  await t.rejects(verifySigned('manifest', asArray, options), { code: 'CW_ERR_AUDIENCE_MISMATCH' }, 'aud as array')
})

// spec: CW-SIG-011
t.test('expired objects and objects issued in the future are refused', async (t) => {
  const expired = await signObject('manifest', { ...body(), iat: seconds - 7200, exp: seconds - 3600 }, a.signer)
  await t.rejects(verifySigned('manifest', expired, options), { code: 'CW_ERR_EXPIRED' })
  const future = await signObject('manifest', { ...body(), iat: seconds + 3600, exp: seconds + 7200 }, a.signer)
  await t.rejects(verifySigned('manifest', future, options), { code: 'CW_ERR_NOT_YET_VALID' })
})

// spec: CW-SIG-011
t.test('clock skew boundary: ±60 s', async (t) => {
  const at = (iat: number, exp: number) => signObject('manifest', { ...body(), iat, exp }, a.signer)
  await t.resolves(verifySigned('manifest', await at(seconds + 60, seconds + 3600), options), 'iat = now + 60')
  await t.rejects(verifySigned('manifest', await at(seconds + 61, seconds + 3600), options), { code: 'CW_ERR_NOT_YET_VALID' }, 'iat = now + 61')
  await t.resolves(verifySigned('manifest', await at(seconds - 3600, seconds - 59), options), 'exp = now - 59')
  await t.rejects(verifySigned('manifest', await at(seconds - 3600, seconds - 60), options), { code: 'CW_ERR_EXPIRED' }, 'exp = now - 60')
  const jws = await at(seconds - 3600, seconds - 59)
  await t.resolves(verifySigned('manifest', jws, { ...options, currentDate: new Date(now.getTime() + 999) }), 'sub-second time rounds down')
  await t.rejects(verifySigned('manifest', jws, { ...options, currentDate: new Date(now.getTime() + 1000) }), { code: 'CW_ERR_EXPIRED' }, 'one second later')
  await t.rejects(
    verifySigned('manifest', await at(seconds + 1, seconds + 3600), { ...options, clockToleranceSeconds: 0 }),
    { code: 'CW_ERR_NOT_YET_VALID' },
    'tolerance 0',
  )
})

// spec: CW-SIG-011, CW-SIG-001
t.test('iat, exp and jti must be well formed', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['iat string', { iat: String(seconds) }],
    ['iat fraction', { iat: seconds + 0.5 }],
    ['exp missing', { exp: undefined }],
    ['exp beyond 2^53', { exp: 2 ** 53 }],
    ['exp = iat', { iat: seconds, exp: seconds }],
    ['exp < iat', { iat: seconds, exp: seconds - 10 }],
    ['jti missing', { jti: undefined }],
    ['jti number', { jti: 7 }],
    ['jti empty', { jti: '' }],
  ]
  for (const [name, change] of cases) {
    const payload: Record<string, unknown> = { ...body(), ...change }
    for (const key of Object.keys(change)) if (payload[key] === undefined) delete payload[key]
    await t.rejects(verifySigned('manifest', await signObject('manifest', payload, a.signer), options), { code: 'CW_ERR_MALFORMED' }, name)
  }
})

// spec: CW-VER-001, CW-VER-005
t.test('cwv must be "0.1" or "0.2"', async (t) => {
  for (const cwv of ['0.1', '0.2']) {
    const verified = await verifySigned('manifest', await signObject('manifest', { ...body(), cwv }, a.signer), options)
    t.equal(verified.payload['cwv'], cwv, `${cwv} is verified`)
  }
  // A verifier configured for 0.1 only (a v0.1 node) refuses 0.2.
  await t.rejects(verifySigned('manifest', await signObject('manifest', { ...body(), cwv: '0.2' }, a.signer), { ...options, versions: ['0.1'] }), {
    code: 'CW_ERR_VERSION_UNSUPPORTED',
  })
  for (const cwv of ['9.9', '0.3', '1.0', 0.1, undefined]) {
    const payload: Record<string, unknown> = { ...body(), cwv }
    if (cwv === undefined) delete payload['cwv']
    await t.rejects(verifySigned('manifest', await signObject('manifest', payload, a.signer), options), { code: 'CW_ERR_VERSION_UNSUPPORTED' }, String(cwv))
  }
})

// spec: CW-SIG-001, CW-FMT-001
t.test('the signed payload must be a canonical JSON object', async (t) => {
  const x5c = x5cOf(a.signing, a.ca)
  const sign = (payload: string) => craft({ alg: 'ES256', typ, x5c }, payload, a.signing.privateKey)
  const canonical = JSON.stringify(body(), Object.keys(body()).sort())
  await t.resolves(verifySigned('manifest', sign(canonical), options), 'control: canonical bytes verify')
  const cases: [string, string][] = [
    ['array', '[1]'],
    ['string', '"x"'],
    ['null', 'null'],
    ['not JSON', 'hello'],
    ['key order', JSON.stringify(body())],
    ['whitespace', canonical.replace(':', ': ')],
    ['duplicate key', canonical.replace('{', '{"iss":"org-b",')],
    ['BOM', '\ufeff' + canonical],
    ['big number', canonical.replace('{', '{"a":9007199254740993,')],
    ['lone surrogate', canonical.replace('{', '{"a":"\\ud800",')],
    // Canonical spellings of exact doubles, but beyond 2^53 (CW-SIG-014): accepted before parse.ts.
    ['canonical 2^53', canonical.replace('{', '{"a":9007199254740992,')],
    ['canonical 1e+21', canonical.replace('{', '{"a":1e+21,')],
    ['canonical -1e+21', canonical.replace('{', '{"a":-1e+21,')],
  ]
  for (const [name, payload] of cases) {
    await t.rejects(verifySigned('manifest', sign(payload), options), { code: 'CW_ERR_MALFORMED' }, name)
  }
})

// spec: CW-SIG-001, CW-SIG-014
t.test('the protected header is I-JSON: a duplicate name is refused, whichever copy comes first', async (t) => {
  const x5c = JSON.stringify(x5cOf(a.signing, a.ca))
  const sign = (header: string) => craft(header, body(), a.signing.privateKey)
  await t.resolves(verifySigned('manifest', sign(`{"alg":"ES256","typ":"${typ}","x5c":${x5c}}`), options), 'control')
  const cases: [string, string][] = [
    ['typ twice, ours last', `{"alg":"ES256","typ":"caseway-receipt+jws","typ":"${typ}","x5c":${x5c}}`],
    ['typ twice, ours first', `{"alg":"ES256","typ":"${typ}","typ":"caseway-receipt+jws","x5c":${x5c}}`],
    ['alg twice', `{"alg":"none","alg":"ES256","typ":"${typ}","x5c":${x5c}}`],
    ['alg twice, escaped', `{"alg":"ES256","\\u0061lg":"ES256","typ":"${typ}","x5c":${x5c}}`],
    ['lone surrogate', `{"alg":"ES256","typ":"${typ}","x5c":${x5c},"z":"\\udc00"}`],
  ]
  for (const [name, header] of cases) {
    await t.rejects(verifySigned('manifest', sign(header), options), { code: 'CW_ERR_MALFORMED', at: 'header' }, name)
  }
})

// spec: CW-TRUST-005, CW-SIG-006
t.test('bridge CA chain: bridge → org CA → signing leaf', async (t) => {
  const bridge = await createBridgeCa({ now })
  const orgCa = await issueOrgCa(bridge, 'org-c', { now })
  const leaf = await issueSigningCertificate(orgCa, { org: 'org-c', name: 'C', now })
  const bridged: VerifyOptions = { trustAnchors: [{ certificate: pem(bridge) }], audience: 'org-b', currentDate: now }
  const jws = await signObject('manifest', { ...body(), iss: 'org-c' }, signerOf(leaf, orgCa))
  t.equal((await verifySigned('manifest', jws, bridged)).signer.org, 'org-c')
  t.equal(
    (await verifySigned('manifest', await signObject('manifest', { ...body(), iss: 'org-c' }, signerOf(leaf, orgCa, bridge)), bridged)).signer.org,
    'org-c',
    'bridge in x5c',
  )

  const otherCa = await issueOrgCa(bridge, 'org-d', { now })
  const mismatch = await issueSigningCertificate(otherCa, { org: 'org-c', name: 'C', now })
  const refused = await signObject('manifest', { ...body(), iss: 'org-c' }, signerOf(mismatch, otherCa))
  await t.rejects(verifySigned('manifest', refused, bridged), { code: 'CW_ERR_CHAIN_UNTRUSTED' })
})

t.test('bad options are caller bugs', async (t) => {
  const jws = await signObject('manifest', body(), a.signer)
  await t.rejects(verifySigned('nope' as 'manifest', jws, options), TypeError)
  await t.rejects(verifySigned('manifest', jws, undefined as unknown as VerifyOptions), TypeError)
  await t.rejects(verifySigned('manifest', jws, { trustAnchors: 'x' as unknown as [] }), TypeError)
  await t.rejects(verifySigned('manifest', jws, { ...options, audience: 7 as unknown as string }), TypeError)
  await t.rejects(verifySigned('manifest', jws, { ...options, clockToleranceSeconds: -1 }), TypeError)
  await t.rejects(verifySigned('manifest', jws, { ...options, maxBytes: 0 }), TypeError)
  await t.rejects(verifySigned('manifest', jws, { ...options, currentDate: new Date('x') }), TypeError)
})
