/**
 * Hand-made JWS for negative tests: any header, any payload bytes, a real signature (or none),
 * without going through `signObject` or jose's own header checks.
 */
import { KeyObject, sign as nodeSign, type webcrypto } from 'node:crypto'
import { canonicalJson } from '../../src/canonical/canonicalize.ts'

export const b64u = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url')

/** Payload bytes: canonical JSON for objects, the string's UTF-8 bytes as given otherwise. */
export function payloadBytes(payload: unknown): Uint8Array {
  return Buffer.from(typeof payload === 'string' ? payload : canonicalJson(payload), 'utf8')
}

/**
 * `b64u(header).b64u(payload).b64u(signature)`; a string header is used as given (duplicate
 * names, odd spacing). With a key the signature is real: ES256 for a
 * P-256 key (IEEE P1363 r||s), EdDSA for an Ed25519 key, whatever `header.alg` says.
 */
export function craft(header: Record<string, unknown> | string, payload: unknown, key?: KeyObject | webcrypto.CryptoKey): string {
  const input = `${b64u(typeof header === 'string' ? header : JSON.stringify(header))}.${b64u(payloadBytes(payload))}`
  if (key === undefined) return `${input}.`
  const keyObject = key instanceof KeyObject ? key : KeyObject.from(key)
  const signature =
    keyObject.asymmetricKeyType === 'ed25519'
      ? nodeSign(null, Buffer.from(input), keyObject)
      : nodeSign('sha256', Buffer.from(input), { key: keyObject, dsaEncoding: 'ieee-p1363' })
  return `${input}.${b64u(signature)}`
}

/** Splits a compact JWS and decodes its header. */
export function parts(jws: string): { header: Record<string, unknown>; payload: string; signature: string } {
  const [header, payload, signature] = jws.split('.') as [string, string, string]
  return { header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>, payload, signature }
}
