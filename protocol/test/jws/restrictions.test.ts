/**
 * What a verifier refuses before it looks at the certificate chain or the signature:
 * size, shape, algorithm, critical headers, key-carrying headers, type, x5c.
 */
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { CompactSign } from 'jose'
import { verifySigned, type VerifyOptions } from '../../src/jws/verify.ts'
import { signObject } from '../../src/jws/sign.ts'
import { b64u, craft, parts } from '../helpers/jws_craft.ts'
import { claims, der64 } from '../helpers/pki.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const now = new Date()
const a = await createTestOrg('org-a', { now })
const b = await createTestOrg('org-b', { now })
const options: VerifyOptions = { trustAnchors: [a.anchor], audience: 'org-b', currentDate: now }
const payload = { ...claims('org-a', 'org-b', now), share: 's-1' }
const typ = 'caseway-manifest+jws'
const x5c = [der64(a.signing), der64(a.ca)]
const good = await signObject('manifest', payload, a.signer)

/** An ES256 signature is 64 bytes = 86 base64url characters: the last one has 4 unused bits. */
function nonCanonicalLast(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  if (segment.length % 4 !== 2) throw new Error('expected 4n+2 characters')
  return alphabet[alphabet.indexOf(segment.at(-1)!) | 1]!
}

// spec: CW-FMT-005, CW-SIG-013
t.test('oversized input is refused before any parsing', async (t) => {
  await t.rejects(verifySigned('manifest', 'x'.repeat(1025), { ...options, maxBytes: 1024 }), { code: 'CW_ERR_TOO_LARGE' }, 'garbage over the limit')
  await t.rejects(verifySigned('manifest', good, { ...options, maxBytes: good.length - 1 }), { code: 'CW_ERR_TOO_LARGE' }, 'a valid JWS over the limit')
  await t.resolves(verifySigned('manifest', good, { ...options, maxBytes: good.length }), 'exactly at the limit')
  const huge = 'a'.repeat(32 * 1024 * 1024 + 1)
  await t.rejects(verifySigned('manifest', huge, options), { code: 'CW_ERR_TOO_LARGE' }, 'default limit 32 MiB')
})

// spec: CW-SIG-001
t.test('non-string input is malformed', async (t) => {
  for (const value of [undefined, null, 42, {}, [good], Buffer.from(good), new String(good)]) {
    await t.rejects(verifySigned('manifest', value, options), { code: 'CW_ERR_MALFORMED' }, Object.prototype.toString.call(value))
  }
})

// spec: CW-SIG-001
t.test('anything but three base64url segments with a JSON-object header is malformed', async (t) => {
  const [h, p, s] = good.split('.') as [string, string, string]
  const cases: [string, string][] = [
    ['empty', ''],
    ['two segments', `${h}.${p}`],
    ['four segments', `${h}.${p}.${s}.${s}`],
    ['JWE-like five segments', `${h}.${p}.${s}.${s}.${s}`],
    ['padding', `${h}=.${p}.${s}`],
    ['standard base64 alphabet', `${h}.${p}.${s.replace(/[-_]/g, '+')}+`],
    ['whitespace', `${h} .${p}.${s}`],
    ['extra character in the header', `${h}A.${p}.${s}`],
    ['non-canonical base64url (unused bits set)', `${h}.${p}.${s.slice(0, -1)}${nonCanonicalLast(s)}`],
    ['header not JSON', `${b64u('alg')}.${p}.${s}`],
    ['header JSON array', `${b64u('["ES256"]')}.${p}.${s}`],
    ['header JSON null', `${b64u('null')}.${p}.${s}`],
    ['header invalid UTF-8', `${b64u(Buffer.from([0x7b, 0xff, 0x7d]))}.${p}.${s}`],
    ['flattened JSON serialization', JSON.stringify({ protected: h, payload: p, signature: s })],
  ]
  for (const [name, jws] of cases) await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_MALFORMED' }, name)
})

// spec: CW-SIG-002
t.test('alg "none" is refused (crafted by hand, with and without a signature)', async (t) => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    await t.rejects(verifySigned('manifest', craft({ alg, typ, x5c }, payload), options), { code: 'CW_ERR_ALG_NOT_ALLOWED' }, alg)
  }
  await t.rejects(verifySigned('manifest', craft({ alg: 'none', typ, x5c }, payload, a.signing.privateKey), options), { code: 'CW_ERR_ALG_NOT_ALLOWED' })
  await t.rejects(verifySigned('manifest', craft({ typ, x5c }, payload, a.signing.privateKey), options), { code: 'CW_ERR_ALG_NOT_ALLOWED' }, 'alg missing')
  await t.rejects(
    verifySigned('manifest', craft({ alg: ['ES256'], typ, x5c }, payload, a.signing.privateKey), options),
    { code: 'CW_ERR_ALG_NOT_ALLOWED' },
    'alg array',
  )
})

// spec: CW-SIG-002
t.test('HS256 keyed with the signer public key bytes is refused', async (t) => {
  const publicKey = a.signing.certificate.publicKey
  for (const secret of [Buffer.from(publicKey.toString('pem')), new Uint8Array(publicKey.rawData), new Uint8Array(a.signing.certificate.rawData)]) {
    const jws = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'HS256', typ, x5c }).sign(secret)
    await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_ALG_NOT_ALLOWED' })
  }
})

// spec: CW-SIG-002
t.test('RS256, PS256, ES384, ES512 and ES256K are refused', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  for (const alg of ['RS256', 'PS256']) {
    const jws = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg, typ, x5c }).sign(rsa.privateKey)
    await t.rejects(verifySigned('manifest', jws, options), { code: 'CW_ERR_ALG_NOT_ALLOWED' }, alg)
  }
  for (const alg of ['ES384', 'ES512', 'ES256K', 'Ed25519', 'es256', 'ES256 ']) {
    await t.rejects(verifySigned('manifest', craft({ alg, typ, x5c }, payload, a.signing.privateKey), options), { code: 'CW_ERR_ALG_NOT_ALLOWED' }, alg)
  }
})

// spec: CW-SIG-002
t.test('alg must match the leaf key type', async (t) => {
  await t.rejects(verifySigned('manifest', craft({ alg: 'EdDSA', typ, x5c }, payload, a.signing.privateKey), options), { code: 'CW_ERR_ALG_NOT_ALLOWED' })
})

// spec: CW-SIG-004
t.test('crit and b64 headers are refused', async (t) => {
  const key = a.signing.privateKey
  for (const [name, extra] of [
    ['unknown crit', { crit: ['exp'], exp: 1 }],
    ['crit naming b64', { crit: ['b64'], b64: false }],
    ['empty crit', { crit: [] }],
    ['b64:false without crit', { b64: false }],
    ['b64:true', { b64: true }],
  ] as const) {
    await t.rejects(verifySigned('manifest', craft({ alg: 'ES256', typ, x5c, ...extra }, payload, key), options), { code: 'CW_ERR_CRIT_UNSUPPORTED' }, name)
  }
})

// spec: CW-SIG-003
t.test('jwk, jku and x5u headers are refused; the key only comes from x5c', async (t) => {
  const key = a.signing.privateKey
  const jwk = { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }
  for (const [name, extra] of [
    ['jwk', { jwk }],
    ['jku', { jku: 'https://attacker.example/jwks.json' }],
    ['x5u', { x5u: 'https://attacker.example/chain.pem' }],
  ] as const) {
    await t.rejects(verifySigned('manifest', craft({ alg: 'ES256', typ, x5c, ...extra }, payload, key), options), { code: 'CW_ERR_X5C_INVALID' }, name)
  }
})

// spec: CW-SIG-005
t.test('typ must name the object type', async (t) => {
  const receipt = await signObject('receipt', payload, a.signer)
  await t.rejects(verifySigned('manifest', receipt, options), { code: 'CW_ERR_TYP_INVALID' }, 'a receipt is not a manifest')
  await t.rejects(verifySigned('receipt', good, options), { code: 'CW_ERR_TYP_INVALID' }, 'a manifest is not a receipt')
  for (const bad of [undefined, 'JWT', 'jose', 'application/caseway-manifest+jws', 'CASEWAY-MANIFEST+JWS', 'caseway-grant+jws']) {
    const header: Record<string, unknown> = { alg: 'ES256', x5c }
    if (bad !== undefined) header['typ'] = bad
    await t.rejects(verifySigned('manifest', craft(header, payload, a.signing.privateKey), options), { code: 'CW_ERR_TYP_INVALID' }, String(bad))
  }
})

// spec: CW-SIG-003
t.test('x5c is required and must be base64 DER certificates', async (t) => {
  const key = a.signing.privateKey
  const missing = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', typ }).sign(key)
  await t.rejects(verifySigned('manifest', missing, options), { code: 'CW_ERR_X5C_INVALID' }, 'missing')
  for (const [name, value] of [
    ['garbage', ['garbage']],
    ['string', der64(a.signing)],
    ['empty', []],
    ['base64url', [Buffer.from(a.signing.certificate.rawData).toString('base64url')]],
    ['object', { 0: der64(a.signing) }],
    ['six', Array.from({ length: 6 }, () => der64(a.signing))],
  ] as const) {
    await t.rejects(verifySigned('manifest', craft({ alg: 'ES256', typ, x5c: value }, payload, key), options), { code: 'CW_ERR_X5C_INVALID' }, name)
  }
})

// spec: CW-SIG-013
t.test('the checks run in the specified order', async (t) => {
  // Bad typ and an untrusted chain: the header guard answers first.
  const header = parts(await signObject('receipt', payload, b.signer))
  t.equal(header.header['typ'], 'caseway-receipt+jws')
  await t.rejects(verifySigned('manifest', await signObject('receipt', payload, b.signer), options), { code: 'CW_ERR_TYP_INVALID' })
  // An expired object with a broken signature: the signature answers first.
  const expired = await signObject('manifest', { ...payload, iat: 1000, exp: 2000 }, a.signer)
  const [h, p] = expired.split('.')
  const forged = `${h}.${p}.${good.split('.')[2]}`
  await t.rejects(verifySigned('manifest', forged, options), { code: 'CW_ERR_SIGNATURE_INVALID' })
  // alg none and crit together: alg first.
  await t.rejects(verifySigned('manifest', craft({ alg: 'none', crit: ['x'], typ, x5c }, payload), options), { code: 'CW_ERR_ALG_NOT_ALLOWED' })
  // crit and jwk together: crit first. jwk and bad typ: jwk first.
  await t.rejects(verifySigned('manifest', craft({ alg: 'ES256', crit: ['x'], jwk: {}, x5c }, payload), options), { code: 'CW_ERR_CRIT_UNSUPPORTED' })
  await t.rejects(verifySigned('manifest', craft({ alg: 'ES256', jwk: {}, typ: 'JWT', x5c }, payload), options), { code: 'CW_ERR_X5C_INVALID' })
  // A claims fault in a payload signed by an untrusted signer: the chain answers.
  await t.rejects(verifySigned('manifest', await signObject('manifest', { ...payload, cwv: '9.9' }, b.signer), options), { code: 'CW_ERR_CHAIN_UNTRUSTED' })
})
