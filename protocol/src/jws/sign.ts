/**
 * Signing a Caseway object as a JWS in compact serialization (SPEC.md CW-SIG-001..005).
 *
 * @module
 */
import { createPublicKey, KeyObject, type webcrypto } from 'node:crypto'
import { types } from 'node:util'
import { canonicalJson } from '../canonical/canonicalize.ts'
import { MAX_X5C_CERTIFICATES, pemToX509 } from '../x509/parse.ts'
import { algorithmOfKey } from './key_algorithm.ts'
import { signatureBytes } from './signature.ts'
import { isSignedType, TYP, type SignedType } from './types.ts'

/** The signing key and its certificate chain. */
export interface Signer {
  /** ECDSA P-256 or Ed25519 private key of the leaf certificate. */
  privateKey: KeyObject | webcrypto.CryptoKey
  /** PEM certificates, the signing certificate first, then its issuers (the anchor may be last). */
  chain: readonly string[]
}

/**
 * Signs `payload` as a `type` object: header `{ alg, typ, x5c }`, payload bytes = the RFC 8785
 * canonical JSON of `payload` (so `digestJson(payload)` is the digest of what was signed).
 *
 * Does not check the payload's schema (the typed wrappers do). Throws `TypeError` for an
 * unknown type, a payload that is not a JSON object, a key other than a P-256 or Ed25519
 * private key, a chain that is not 1–5 PEM certificates, or a key that does not belong to
 * the chain's first certificate.
 */
export async function signObject(type: SignedType, payload: Record<string, unknown>, signer: Signer): Promise<string> {
  if (!isSignedType(type)) throw new TypeError('unknown signed object type')
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new TypeError('payload must be a JSON object')
  if (typeof signer !== 'object' || signer === null) throw new TypeError('signer must be an object')
  const { privateKey, chain } = signer
  if (!(privateKey instanceof KeyObject) && !types.isCryptoKey(privateKey)) {
    throw new TypeError('signer.privateKey must be a KeyObject or CryptoKey')
  }
  if (privateKey.type !== 'private') throw new TypeError('signer.privateKey must be a private key')
  const alg = algorithmOfKey(privateKey)
  if (alg === undefined) throw new TypeError('signer.privateKey must be an ECDSA P-256 or Ed25519 key')
  if (!Array.isArray(chain) || chain.length < 1 || chain.length > MAX_X5C_CERTIFICATES) {
    throw new TypeError(`signer.chain must hold 1 to ${MAX_X5C_CERTIFICATES} PEM certificates`)
  }
  const certificates = chain.map((pem) => pemToX509(pem))
  // A key that is not the leaf's would produce objects no one can verify: a caller bug. Its
  // public half is compared with the certificate's, before any work (a trial verification
  // read the whole object again: a second of a 100,000-item manifest).
  if (!publicHalf(privateKey).equals(certificates[0]!.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new TypeError("signer.privateKey does not match the chain's first certificate")
  }
  const x5c = certificates.map((certificate) => certificate.raw.toString('base64'))

  // The compact serialization (RFC 7515 §7.1) as jose writes it, with Node's native base64url:
  // jose's, written in JavaScript, took half a second for a 55 MB manifest.
  const header = Buffer.from(JSON.stringify({ alg, typ: TYP[type], x5c })).toString('base64url')
  const signingInput = `${header}.${Buffer.from(canonicalJson(payload)).toString('base64url')}`
  const signature = await signatureBytes(alg, privateKey, Buffer.from(signingInput, 'latin1'))
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`
}

/** The SubjectPublicKeyInfo (DER) of a private key's public half. */
function publicHalf(privateKey: KeyObject | webcrypto.CryptoKey): Buffer {
  const key = privateKey instanceof KeyObject ? privateKey : KeyObject.from(privateKey)
  return createPublicKey(key).export({ type: 'spki', format: 'der' })
}
