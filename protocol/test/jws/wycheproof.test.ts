/**
 * Wycheproof (C2SP) signature vectors through the protocol's signature check, the function
 * `verifySigned` calls with the JWS Signing Input (`protocol/src/jws/signature.ts`).
 *
 * The vectors sign arbitrary messages, and a JWS signature always covers
 * `b64u(header).b64u(payload)`, so they cannot be carried inside a JWS; they go to
 * `verifySignatureBytes` directly, with the key imported as the verifier gets it from `x5c`
 * (a `KeyObject` from an SPKI). The JWS-level consequences are checked end to end below with
 * a real signing certificate.
 *
 * Results, one vector one assertion, named `wycheproof::<file>::tc<N>`:
 * - `valid` is accepted and `invalid` refused, in every file;
 * - `acceptable`: these three files mark none. A newer copy that does fails on
 *   {@link ACCEPTABLE} until its flags have a written decision there.
 * - DER file (`ecdsa_secp256r1_sha256_test.json`): ES256 in JWS is the 64-byte P1363
 *   `r || s` (RFC 7518 §3.4), never DER. So (a) every DER signature as given is refused,
 *   `valid` ones included: a DER signature in a JWS is not a JWS signature (JWS-32); and
 *   (b) to run the ECDSA arithmetic over these 484 vectors too, each is decoded by a strict
 *   DER reader and re-encoded as `r || s`: `valid` ones must decode and verify; `invalid`
 *   ones must fail either the strict decoding (BER, wrong tags, padding, trailing bytes:
 *   encodings a JWS cannot even express) or the signature check.
 *
 * Vectors: protocol/test/vectors/wycheproof/ (copied from Wycheproof, see its README).
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { signObject } from '../../src/jws/sign.ts'
import { SIGNATURE_LENGTH, verifySignatureBytes } from '../../src/jws/signature.ts'
import type { SignatureAlgorithm } from '../../src/jws/types.ts'
import { verifySigned, type VerifyOptions } from '../../src/jws/verify.ts'
import { b64u } from '../helpers/jws_craft.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'
import { claims, issueEd25519SigningCertificate, pem } from '../helpers/pki.ts'

interface WycheproofTest {
  tcId: number
  comment: string
  flags: string[]
  msg: string
  sig: string
  result: 'valid' | 'invalid' | 'acceptable'
}

interface WycheproofFile {
  algorithm: string
  numberOfTests: number
  testGroups: { publicKeyDer: string; tests: WycheproofTest[] }[]
}

interface Vector extends WycheproofTest {
  id: string
  key: KeyObject
}

/** The files, what each is for, and the counts the README states (a changed copy is noticed). */
const FILES = [
  { file: 'ecdsa_secp256r1_sha256_p1363_test.json', alg: 'ES256', encoding: 'p1363', counts: { valid: 173, invalid: 89, acceptable: 0 } },
  { file: 'ecdsa_secp256r1_sha256_test.json', alg: 'ES256', encoding: 'der', counts: { valid: 174, invalid: 310, acceptable: 0 } },
  { file: 'ed25519_test.json', alg: 'EdDSA', encoding: 'raw', counts: { valid: 88, invalid: 63, acceptable: 0 } },
] as const satisfies readonly { file: string; alg: SignatureAlgorithm; encoding: string; counts: Record<WycheproofTest['result'], number> }[]

/**
 * Decision for an `acceptable` vector, by Wycheproof flag: true = accepted, false = refused.
 * Empty today (no acceptable vectors in these files). Flags seen as acceptable in other
 * Wycheproof files, with the answer this verifier would give, for whoever updates the copy:
 * `BerEncodedSignature` → refused (JWS has no DER or BER; only the 64-byte form verifies);
 * `SignatureMalleability` (EdDSA, S ≥ L) → refused (RFC 8032 §5.1.7 requires S < L).
 */
const ACCEPTABLE: Readonly<Record<string, boolean>> = Object.freeze({})

const directory = new URL('../vectors/wycheproof/', import.meta.url)

function load(file: string): { data: WycheproofFile; vectors: Vector[] } {
  const data = JSON.parse(readFileSync(new URL(file, directory), 'utf8')) as WycheproofFile
  const vectors = data.testGroups.flatMap((group) => {
    const key = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' })
    return group.tests.map((test) => ({ ...test, key, id: `wycheproof::${file.replace(/_test\.json$/, '')}::tc${test.tcId}` }))
  })
  return { data, vectors }
}

const hex = (text: string): Buffer => Buffer.from(text, 'hex')

/**
 * Strict DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` → 64-byte `r || s`, or
 * undefined for anything DER does not allow (long-form lengths where short suffice, indefinite
 * lengths, leading zero bytes, negative integers, wrong tags, trailing bytes) or an integer
 * wider than 32 bytes.
 */
function derToP1363(der: Uint8Array): Buffer | undefined {
  let offset = 0
  const readLength = (): number | undefined => {
    const first = der[offset++]
    if (first === undefined) return undefined
    if (first < 0x80) return first
    if (first !== 0x81) return undefined // longer forms never needed for ≤ 72 bytes
    const length = der[offset++]
    return length !== undefined && length >= 0x80 ? length : undefined
  }
  const readInteger = (): Buffer | undefined => {
    if (der[offset++] !== 0x02) return undefined
    const length = readLength()
    if (length === undefined || length === 0 || offset + length > der.length) return undefined
    let value = Buffer.from(der.subarray(offset, offset + length))
    offset += length
    if (value[0]! >= 0x80) return undefined // negative
    if (value[0] === 0x00) {
      if (length === 1 || value[1]! < 0x80) return undefined // not minimal
      value = value.subarray(1)
    }
    if (value.length > 32) return undefined
    return Buffer.concat([Buffer.alloc(32 - value.length), value])
  }
  if (der[offset++] !== 0x30) return undefined
  const length = readLength()
  if (length === undefined || offset + length !== der.length) return undefined
  const r = readInteger()
  const s = readInteger()
  if (r === undefined || s === undefined || offset !== der.length) return undefined
  return Buffer.concat([r, s])
}

function expectedOf(vector: Vector): boolean {
  if (vector.result !== 'acceptable') return vector.result === 'valid'
  const decisions = vector.flags.map((flag) => ACCEPTABLE[flag])
  if (decisions.length === 0 || decisions.some((decision) => decision === undefined)) {
    throw new Error(`${vector.id} is acceptable with flags ${vector.flags.join(', ')}: add a decision to ACCEPTABLE`)
  }
  return decisions.every(Boolean)
}

for (const { file, alg, encoding, counts } of FILES) {
  const { data, vectors } = load(file)

  t.test(`${file}: the copy is the one the README describes`, async (t) => {
    t.equal(vectors.length, data.numberOfTests, 'numberOfTests')
    const seen = { valid: 0, invalid: 0, acceptable: 0 }
    for (const vector of vectors) seen[vector.result]++
    t.same(seen, counts)
  })

  if (encoding === 'der') {
    // spec: CW-SIG-002, CW-SIG-008
    t.test(`${file}: a DER signature is refused as given, valid ones too (JWS ES256 is r || s)`, async (t) => {
      let refused = 0
      for (const vector of vectors) {
        const accepted = await verifySignatureBytes(alg, vector.key, hex(vector.msg), hex(vector.sig))
        t.equal(accepted, false, `${vector.id} (${vector.result}, DER as given) → refused`)
        if (!accepted) refused++
      }
      t.equal(refused, vectors.length, `${refused}/${vectors.length} refused`)
    })

    // spec: CW-SIG-008
    t.test(`${file}: decoded strictly to r || s, valid verifies and invalid is refused`, async (t) => {
      const tally = { accepted: 0, refusedByDecoding: 0, refusedBySignature: 0 }
      for (const vector of vectors) {
        const expected = expectedOf(vector)
        const p1363 = derToP1363(hex(vector.sig))
        const accepted = p1363 !== undefined && (await verifySignatureBytes(alg, vector.key, hex(vector.msg), p1363))
        t.equal(accepted, expected, `${vector.id} (${vector.result}: ${vector.comment}) → ${expected ? 'accepted' : 'refused'}`)
        if (accepted) tally.accepted++
        else if (p1363 === undefined) tally.refusedByDecoding++
        else tally.refusedBySignature++
      }
      t.comment(JSON.stringify(tally))
      t.equal(tally.accepted, counts.valid)
    })
  } else {
    // spec: CW-SIG-002, CW-SIG-008
    t.test(`${file}: every valid vector accepted, every invalid refused`, async (t) => {
      let accepted = 0
      for (const vector of vectors) {
        const expected = expectedOf(vector)
        const result = await verifySignatureBytes(alg, vector.key, hex(vector.msg), hex(vector.sig))
        t.equal(result, expected, `${vector.id} (${vector.result}: ${vector.comment || vector.flags.join(', ')}) → ${expected ? 'accepted' : 'refused'}`)
        if (result) accepted++
      }
      t.equal(accepted, counts.valid, `${accepted} accepted, ${vectors.length - accepted} refused`)
    })
  }
}

// The same rules at the JWS level: a real signing certificate, verifySigned end to end.
const now = new Date(Math.floor(Date.now() / 1000) * 1000)
const org = await createTestOrg('org-a', { now })
const options: VerifyOptions = { trustAnchors: [org.anchor], audience: 'org-b', currentDate: now }
const body = () => ({ ...claims('org-a', 'org-b', now), share: 's-1', revision: 1 })
/** Order of P-256 (SEC 2). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n

const toBytes = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, '0'), 'hex')
const withSignature = (jws: string, signature: Uint8Array): string => `${jws.slice(0, jws.lastIndexOf('.'))}.${b64u(signature)}`

/** A strict DER encoding of a 64-byte r || s. */
function p1363ToDer(signature: Uint8Array): Buffer {
  const integer = (bytes: Uint8Array): Buffer => {
    let start = 0
    while (start < bytes.length - 1 && bytes[start] === 0) start++
    const body = bytes[start]! >= 0x80 ? Buffer.concat([Buffer.of(0), bytes.subarray(start)]) : Buffer.from(bytes.subarray(start))
    return Buffer.concat([Buffer.of(0x02, body.length), body])
  }
  const content = Buffer.concat([integer(signature.subarray(0, 32)), integer(signature.subarray(32))])
  return Buffer.concat([Buffer.of(0x30, content.length), content])
}

// spec: CW-SIG-002, CW-SIG-008
t.test('JWS level: ES256 signature encodings and edge values (JWS-32)', async (t) => {
  const jws = await signObject('manifest', body(), org.signer)
  const signature = Buffer.from(jws.slice(jws.lastIndexOf('.') + 1), 'base64url')
  t.equal(signature.length, SIGNATURE_LENGTH.ES256)
  await t.resolves(verifySigned('manifest', jws, options), 'control: the signature as signed')
  t.same(derToP1363(p1363ToDer(signature)), signature, 'control: the DER helpers round-trip')
  const r = BigInt(`0x${signature.subarray(0, 32).toString('hex')}`)
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`)
  const refusals: [string, Uint8Array][] = [
    ['the same signature, DER-encoded', p1363ToDer(signature)],
    ['r = 0, s = 0 ("psychic signature", CVE-2022-21449)', Buffer.alloc(64)],
    ['r = s = n', Buffer.concat([toBytes(N), toBytes(N)])],
    ['r = n (out of range), the real s', Buffer.concat([toBytes(N), toBytes(s)])],
    ['r = 0, the real s', Buffer.concat([toBytes(0n), toBytes(s)])],
    ['the real r, s = n', Buffer.concat([toBytes(r), toBytes(N)])],
    ['63 bytes (leading byte dropped)', signature.subarray(1)],
    ['65 bytes (zero byte prepended)', Buffer.concat([Buffer.of(0), signature])],
    ['65 bytes (zero byte appended)', Buffer.concat([signature, Buffer.of(0)])],
    ['empty', Buffer.alloc(0)],
  ]
  for (const [name, bad] of refusals) {
    await t.rejects(verifySigned('manifest', withSignature(jws, bad), options), { code: 'CW_ERR_SIGNATURE_INVALID' }, name)
  }
  // (r, n − s) is the other valid ECDSA signature of the same message (Wycheproof marks it
  // valid: tc1 "signature malleability"). It verifies, and names the same object: replay
  // detection and receipts key on the payload digest (CW-SIG-012), not on the JWS string.
  const twin = withSignature(jws, Buffer.concat([toBytes(r), toBytes(N - s)]))
  const [original, malleated] = await Promise.all([verifySigned('manifest', jws, options), verifySigned('manifest', twin, options)])
  t.equal(malleated.digest, original.digest, '(r, n − s) verifies and has the same payload digest')
})

// spec: CW-SIG-002, CW-SIG-008
t.test('JWS level: EdDSA signature length and S ≥ L are refused', async (t) => {
  const ed = await issueEd25519SigningCertificate(org.ca, 'org-a')
  const jws = await signObject('receipt', body(), { privateKey: ed.privateKey, chain: [pem(ed), pem(org.ca)] })
  await t.resolves(verifySigned('receipt', jws, options), 'control')
  const signature = Buffer.from(jws.slice(jws.lastIndexOf('.') + 1), 'base64url')
  // S + L, little-endian: the same signature in non-canonical form (RFC 8032 §5.1.7).
  const L = 2n ** 252n + 27742317777372353535851937790883648493n
  const sValue = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`)
  const sPlusL = Buffer.from((sValue + L).toString(16).padStart(64, '0'), 'hex').reverse()
  const refusals: [string, Uint8Array][] = [
    ['S + L (non-canonical S)', Buffer.concat([signature.subarray(0, 32), sPlusL])],
    ['63 bytes', signature.subarray(0, 63)],
    ['65 bytes', Buffer.concat([signature, Buffer.of(0)])],
    ['all zero', Buffer.alloc(64)],
  ]
  for (const [name, bad] of refusals) {
    await t.rejects(verifySigned('receipt', withSignature(jws, bad), options), { code: 'CW_ERR_SIGNATURE_INVALID' }, name)
  }
})

t.test('verifySignatureBytes: caller mistakes are TypeErrors, not false', async (t) => {
  const { vectors } = load('ed25519_test.json')
  const edKey = vectors[0]!.key
  const ecKey = load('ecdsa_secp256r1_sha256_p1363_test.json').vectors[0]!.key
  const empty = new Uint8Array(64)
  await t.rejects(verifySignatureBytes('ES256', edKey, empty, empty), TypeError, 'Ed25519 key for ES256')
  await t.rejects(verifySignatureBytes('EdDSA', ecKey, empty, empty), TypeError, 'P-256 key for EdDSA')
  await t.rejects(verifySignatureBytes('HS256' as SignatureAlgorithm, ecKey, empty, empty), TypeError, 'HS256')
  await t.rejects(verifySignatureBytes('ES256', org.signing.privateKey, empty, empty), TypeError, 'a private key')
})
