/**
 * Which JWS algorithm a key belongs to. Internal.
 *
 * @module
 */
import { KeyObject, type webcrypto } from 'node:crypto'
import { types } from 'node:util'
import type { SignatureAlgorithm } from './types.ts'

/** ES256 for an ECDSA P-256 key, EdDSA for an Ed25519 key, `undefined` for anything else. */
export function algorithmOfKey(key: KeyObject | webcrypto.CryptoKey): SignatureAlgorithm | undefined {
  if (key instanceof KeyObject) {
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
    if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
    return undefined
  }
  if (types.isCryptoKey(key)) {
    const algorithm = key.algorithm as { name: string; namedCurve?: string }
    if (algorithm.name === 'ECDSA' && algorithm.namedCurve === 'P-256') return 'ES256'
    if (algorithm.name === 'Ed25519') return 'EdDSA'
  }
  return undefined
}
