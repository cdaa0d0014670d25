/**
 * A compact JWS with its payload detached (RFC 7515 Appendix F): `<header>..<signature>`. For
 * keeping a signed object whose payload text is kept anyway: the JWS is that text's base64url
 * between the two parts.
 *
 * @module
 */

/**
 * `jws` with its payload segment left out. Checks the shape only (three segments), not the
 * signature: the caller holds a JWS it verified.
 *
 * @throws {TypeError} for anything but a string of three dot-separated segments.
 */
export function detachPayload(jws: string): string {
  if (typeof jws !== 'string') throw new TypeError('jws must be a string')
  const first = jws.indexOf('.')
  const last = jws.lastIndexOf('.')
  if (first < 0 || last === first || jws.indexOf('.', first + 1) !== last) throw new TypeError('jws must be a compact JWS')
  return `${jws.slice(0, first)}.${jws.slice(last)}`
}
