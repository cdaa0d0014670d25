import t from 'tap'
import { compactVerify } from 'jose'
import { generateKeyPairSync, KeyObject, webcrypto, X509Certificate } from 'node:crypto'
import { canonicalJson } from '../../src/canonical/canonicalize.ts'
import { digestJson, digestOfJwsPayload } from '../../src/canonical/digest.ts'
import { signObject } from '../../src/jws/sign.ts'
import { ALLOWED_ALGS, TYP } from '../../src/jws/types.ts'
import { parts } from '../helpers/jws_craft.ts'
import { claims, der64, issueEd25519SigningCertificate, pem, signerOf } from '../helpers/pki.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const now = new Date()
const a = await createTestOrg('org-a', { now })
const b = await createTestOrg('org-b', { now })
const payload = { ...claims('org-a', 'org-b', now), b: [2, 1], a: 'é' }

// spec: CW-SIG-002, CW-SIG-003, CW-SIG-005
t.test('header is exactly { alg, typ, x5c } with standard base64 DER', async (t) => {
  for (const type of ['manifest', 'grant', 'receipt', 'revocation'] as const) {
    const { header } = parts(await signObject(type, payload, a.signer))
    t.same(Object.keys(header).sort(), ['alg', 'typ', 'x5c'])
    t.equal(header['typ'], TYP[type])
    t.equal(header['typ'], `caseway-${type}+jws`)
    t.equal(header['alg'], 'ES256')
    t.same(header['x5c'], [der64(a.signing), der64(a.ca)])
  }
  t.same([...ALLOWED_ALGS], ['ES256', 'EdDSA'])
})

// spec: CW-FMT-001
t.test('payload bytes are the canonical JSON of the payload', async (t) => {
  const jws = await signObject('manifest', payload, a.signer)
  t.equal(Buffer.from(parts(jws).payload, 'base64url').toString('utf8'), canonicalJson(payload))
})

// spec: CW-SIG-001, CW-SIG-002 — signed here with WebCrypto, checked by an independent JWS implementation.
t.test('jose verifies what is signed, ES256 and EdDSA, and reads the same header and payload', async (t) => {
  const ed = await issueEd25519SigningCertificate(a.ca, 'org-a')
  for (const [alg, signer, certificate] of [
    ['ES256', a.signer, a.signing.certificate],
    ['EdDSA', signerOf(ed, a.ca), ed.certificate],
  ] as const) {
    const jws = await signObject('receipt', payload, signer)
    const verified = await compactVerify(jws, new X509Certificate(certificate.toString('pem')).publicKey)
    t.equal(verified.protectedHeader.alg, alg)
    t.equal(verified.protectedHeader.typ, TYP.receipt)
    t.equal(Buffer.from(verified.payload).toString('utf8'), canonicalJson(payload))
    t.equal(parts(jws).signature.length, 86, `${alg}: a 64-octet signature`)
  }
})

t.test('the algorithm comes from the key type; other keys are caller bugs', async (t) => {
  const ed = generateKeyPairSync('ed25519')
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const secret = await webcrypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])
  await t.rejects(signObject('manifest', payload, { privateKey: rsa.privateKey, chain: a.signer.chain }), TypeError, 'RSA')
  await t.rejects(signObject('manifest', payload, { privateKey: p384.privateKey, chain: a.signer.chain }), TypeError, 'P-384')
  await t.rejects(signObject('manifest', payload, { privateKey: secret as webcrypto.CryptoKey, chain: a.signer.chain }), TypeError, 'HMAC')
  await t.rejects(
    signObject('manifest', payload, { privateKey: new X509Certificate(pem(a.signing)).publicKey, chain: a.signer.chain }),
    TypeError,
    'public key',
  )
  await t.rejects(signObject('manifest', payload, { privateKey: ed.privateKey, chain: a.signer.chain }), TypeError, 'Ed25519 key, P-256 leaf')
  await t.rejects(signObject('manifest', payload, { privateKey: b.signing.privateKey, chain: a.signer.chain }), TypeError, "another org's key")
  await t.resolves(signObject('manifest', payload, { privateKey: KeyObject.from(a.signing.privateKey), chain: a.signer.chain }), 'KeyObject')
})

t.test('bad payloads, types and chains are caller bugs', async (t) => {
  await t.rejects(signObject('manifest', [] as unknown as Record<string, unknown>, a.signer), TypeError)
  await t.rejects(signObject('manifest', { x: Number.NaN }, a.signer), TypeError)
  await t.rejects(signObject('token' as 'manifest', payload, a.signer), TypeError)
  await t.rejects(signObject('manifest', payload, { privateKey: a.signing.privateKey, chain: [] }), TypeError)
  await t.rejects(signObject('manifest', payload, { privateKey: a.signing.privateKey, chain: ['garbage'] }), TypeError)
  await t.rejects(signObject('manifest', payload, { privateKey: a.signing.privateKey, chain: Array.from({ length: 6 }, () => pem(a.signing)) }), TypeError)
})

// spec: CW-FMT-002
t.test("the digest of a signed object's payload is the digest of the object's canonical JSON", async (t) => {
  const object = { z: 'last', a: [1, 'é', { c: true, b: null }] }
  const jws = await signObject('manifest', object, a.signer)
  t.equal(digestOfJwsPayload(jws), digestJson(object))
  t.throws(() => digestOfJwsPayload('a.b'), TypeError, 'not a compact JWS')
})
