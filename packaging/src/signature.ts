/**
 * The JWS signature in the form OpenSSL verifies (`package-manifest.sig`): ES256's raw
 * `r || s` becomes a DER `ECDSA-Sig-Value`; an Ed25519 signature is already raw. Internal.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto'

function derInteger(bytes: Uint8Array): Uint8Array {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  const body = bytes.subarray(start)
  const pad = body[0]! & 0x80 ? 1 : 0
  const out = new Uint8Array(2 + pad + body.length)
  out[0] = 0x02
  out[1] = pad + body.length
  out.set(body, 2 + pad)
  return out
}

/** DER for an ES256 signature; the raw bytes for EdDSA. */
export function joseSignatureToDer(signature: Uint8Array, certificate: X509Certificate): Uint8Array {
  if (certificate.publicKey.asymmetricKeyType !== 'ec') return signature
  if (signature.length !== 64) throw new TypeError('an ES256 signature has 64 bytes')
  const r = derInteger(signature.subarray(0, 32))
  const s = derInteger(signature.subarray(32))
  const out = new Uint8Array(2 + r.length + s.length)
  out[0] = 0x30
  out[1] = r.length + s.length
  out.set(r, 2)
  out.set(s, 2 + r.length)
  return out
}
