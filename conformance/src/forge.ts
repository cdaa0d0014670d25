/**
 * Hand-made JWS for refusal tests: any protected header, any payload bytes (canonical JSON,
 * or exactly the text given), and a real signature by any key — or none. The protocol's
 * `signObject` only makes well-formed objects; these are the ones a hostile peer sends.
 *
 * @module
 */
import { createHmac, KeyObject, sign as nodeSign, X509Certificate, type webcrypto } from 'node:crypto'
import { canonicalJson, TYP, type Signer } from '#protocol'
import type { KeyedCertificate } from '#certs'

export const b64u = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url')

/** Signs the JWS signing input (`header.payload` ASCII bytes). */
export type SignInput = (input: Buffer) => Uint8Array

type AnyKey = KeyObject | webcrypto.CryptoKey
const keyObject = (key: AnyKey): KeyObject => (key instanceof KeyObject ? key : KeyObject.from(key))

/** ES256 (ECDSA P-256, SHA-256, r‖s as JWS requires). */
export const es256 =
  (key: AnyKey): SignInput =>
  (input) =>
    nodeSign('sha256', input, { key: keyObject(key), dsaEncoding: 'ieee-p1363' })
/** EdDSA (Ed25519). */
export const eddsa =
  (key: AnyKey): SignInput =>
  (input) =>
    nodeSign(null, input, keyObject(key))
/** RS256 (RSASSA-PKCS1-v1_5, SHA-256). */
export const rs256 =
  (key: AnyKey): SignInput =>
  (input) =>
    nodeSign('sha256', input, keyObject(key))
/** HS256 keyed with `secret` (e.g. the signer's public key: algorithm confusion). */
export const hs256 =
  (secret: Uint8Array): SignInput =>
  (input) =>
    createHmac('sha256', secret).update(input).digest()

/** Base64 (not base64url) DER of certificates, as `x5c` holds them. */
export function x5cOf(...certificates: (KeyedCertificate | string)[]): string[] {
  return certificates.map((one) => (typeof one === 'string' ? new X509Certificate(one).raw : Buffer.from(one.certificate.rawData)).toString('base64'))
}

/** The header a correct manifest signed by `signer` carries: `{ alg: ES256, typ, x5c }`. */
export function manifestHeader(signer: Signer): Record<string, unknown> {
  return { alg: 'ES256', typ: TYP.manifest, x5c: x5cOf(...signer.chain) }
}

/**
 * A compact JWS with exactly `header` (serialized with `JSON.stringify`) and `payload`: a
 * `string` or `Buffer` is taken as the payload bytes verbatim, anything else becomes its
 * canonical JSON. Without `sign` the signature segment is empty.
 */
export function craft(header: Record<string, unknown>, payload: unknown, sign?: SignInput): string {
  const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : canonicalJson(payload)
  const input = `${b64u(JSON.stringify(header))}.${b64u(body)}`
  return `${input}.${sign === undefined ? '' : b64u(sign(Buffer.from(input)))}`
}

/** The three segments of a compact JWS. */
export function segments(jws: string): [string, string, string] {
  const parts = jws.split('.')
  if (parts.length !== 3) throw new TypeError('not a compact JWS')
  return parts as [string, string, string]
}

/** The same JWS with one base64url character of its signature changed (still valid base64url of the same length). */
export function corruptSignature(jws: string): string {
  const [header, payload, signature] = segments(jws)
  const at = 10
  return `${header}.${payload}.${signature.slice(0, at)}${signature[at] === 'A' ? 'B' : 'A'}${signature.slice(at + 1)}`
}

/** The JWS with its payload replaced by `payload` (canonical JSON), keeping header and signature. */
export function replacePayload(jws: string, payload: unknown): string {
  const [header, , signature] = segments(jws)
  return `${header}.${b64u(canonicalJson(payload))}.${signature}`
}
