/**
 * The one signature check over bytes (SPEC.md CW-SIG-002, CW-SIG-008), and the one signing:
 * ES256 and EdDSA as JWS defines them, with WebCrypto and the parameters jose uses for the same
 * algorithms. `verifySigned` and `signObject` call them with the JWS Signing Input; the
 * Wycheproof vectors (`protocol/test/jws/wycheproof.test.ts`) call the check with theirs.
 *
 * @module
 */
import { KeyObject, webcrypto } from 'node:crypto'
import { types } from 'node:util'
import { algorithmOfKey } from './key_algorithm.ts'
import type { SignatureAlgorithm } from './types.ts'

/**
 * Length of a signature in JWS. ES256: the 64-octet R || S, each a 32-octet big-endian
 * integer (RFC 7518 §3.4), never the DER `ECDSA-Sig-Value` X.509 uses. EdDSA with Ed25519:
 * the 64-octet R || S of RFC 8032 §5.1.6 (RFC 8037 §3.1).
 */
export const SIGNATURE_LENGTH: Readonly<Record<SignatureAlgorithm, number>> = Object.freeze({ ES256: 64, EdDSA: 64 })

const PARAMETERS = {
  ES256: { importParams: { name: 'ECDSA', namedCurve: 'P-256' }, signatureParams: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { importParams: { name: 'Ed25519' }, signatureParams: { name: 'Ed25519' } },
} as const

const cryptoKeys = new WeakMap<KeyObject, webcrypto.CryptoKey>()

function cryptoKeyOf(alg: SignatureAlgorithm, key: KeyObject | webcrypto.CryptoKey): webcrypto.CryptoKey {
  if (!(key instanceof KeyObject)) return key
  let cryptoKey = cryptoKeys.get(key)
  if (cryptoKey === undefined) {
    // A private key is imported for signing only, not extractable; a public one for verifying.
    cryptoKey =
      key.type === 'private' ? key.toCryptoKey(PARAMETERS[alg].importParams, false, ['sign']) : key.toCryptoKey(PARAMETERS[alg].importParams, true, ['verify'])
    cryptoKeys.set(key, cryptoKey)
  }
  return cryptoKey
}

/**
 * The `alg` signature of `data` under the private `key`, as JWS carries it (R || S, see
 * {@link SIGNATURE_LENGTH}). The caller has checked that `key` is a private key of `alg`.
 */
export async function signatureBytes(alg: SignatureAlgorithm, key: KeyObject | webcrypto.CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.sign(PARAMETERS[alg].signatureParams, cryptoKeyOf(alg, key), data))
}

/**
 * True when `signature` is a valid `alg` signature of `data` under the public `key`.
 *
 * A signature of the wrong length (a DER-encoded ECDSA signature among them) is false before
 * any arithmetic; so is anything WebCrypto refuses. A key that is not a public key of `alg`
 * is the caller's mistake: `TypeError`.
 */
export async function verifySignatureBytes(
  alg: SignatureAlgorithm,
  key: KeyObject | webcrypto.CryptoKey,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (!Object.hasOwn(PARAMETERS, alg)) throw new TypeError('alg must be ES256 or EdDSA')
  if (!(key instanceof KeyObject) && !types.isCryptoKey(key)) throw new TypeError('key must be a KeyObject or CryptoKey')
  if (key.type !== 'public') throw new TypeError('key must be a public key')
  if (algorithmOfKey(key) !== alg) throw new TypeError(`key is not an ${alg} key`)
  if (!(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new TypeError('data and signature must be Uint8Arrays')
  if (signature.byteLength !== SIGNATURE_LENGTH[alg]) return false
  try {
    return await webcrypto.subtle.verify(PARAMETERS[alg].signatureParams, cryptoKeyOf(alg, key), signature, data)
  } catch {
    return false
  }
}
