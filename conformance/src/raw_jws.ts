/**
 * Compact JWS over payload bytes the harness chooses itself, for objects the protocol's
 * signer would refuse to produce (a payload nested far deeper than canonical JSON allows):
 * the signature is genuine, so the target can only refuse what comes after it.
 *
 * @module
 */
import { KeyObject, sign } from 'node:crypto'
import { TYP, type Signer, type SignedType } from '#protocol'

const b64url = (bytes: string | Uint8Array) => Buffer.from(bytes).toString('base64url')

/** The x5c header of `signer`: its PEM chain as base64 DER. */
export function x5cOf(signer: Signer): string[] {
  return signer.chain.map((pem) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''))
}

/**
 * Signs `payload` exactly as given (no canonicalization, no checks) as a `type` object with
 * the header `{ alg, typ, x5c }`.
 */
export function signPayloadBytes(type: SignedType, payload: string | Uint8Array, signer: Signer): string {
  const key = signer.privateKey instanceof KeyObject ? signer.privateKey : KeyObject.from(signer.privateKey)
  const eddsa = key.asymmetricKeyType === 'ed25519'
  if (!eddsa && !(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')) {
    throw new TypeError('signer key must be ECDSA P-256 or Ed25519')
  }
  const header = { alg: eddsa ? 'EdDSA' : 'ES256', typ: TYP[type], x5c: x5cOf(signer) }
  const input = `${b64url(JSON.stringify(header))}.${b64url(payload)}`
  const signature = eddsa ? sign(null, Buffer.from(input), key) : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${b64url(signature)}`
}

/** The payload of a compact JWS as JSON, without verifying anything (undefined if unreadable). */
export function unverifiedPayload(jws: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The protected header of a compact JWS as JSON, without verifying anything (undefined if unreadable). */
export function unverifiedHeader(jws: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
