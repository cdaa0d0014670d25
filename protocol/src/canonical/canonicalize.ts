/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme; SPEC.md CW-FMT-001): the one byte
 * form every Caseway digest and signature over JSON is computed on.
 *
 * @module
 */
import canonicalize from 'canonicalize'

/** Deepest nesting accepted; every recursive consumer of peer JSON has a cap (HTTP-08). */
export const MAX_JSON_DEPTH = 64

/**
 * RFC 8785 serialization of `value`.
 *
 * Only JSON values are accepted: plain objects, arrays, strings without lone surrogates,
 * finite numbers, booleans and `null`, nested at most {@link MAX_JSON_DEPTH} deep. Anything
 * else (`undefined` anywhere, functions, symbols, bigints, `NaN`/`Infinity`, cycles, class
 * instances such as `Date` or `Map`, sparse arrays) throws `TypeError` instead of being
 * silently dropped or converted as `JSON.stringify` would.
 */
export function canonicalJson(value: unknown): string {
  // Serialize a snapshot, so getters or later mutation cannot change what was checked.
  const snapshot = toJsonValue(value, '', 0, new Set())
  const text = canonicalize(snapshot)
  if (text === undefined) throw new TypeError('value is not JSON')
  return text
}

function toJsonValue(value: unknown, at: string, depth: number, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new TypeError(`lone surrogate in string at "${at}"`)
      return value
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`non-finite number at "${at}"`)
      return value
    case 'boolean':
      return value
    case 'object':
      break
    default:
      throw new TypeError(`${typeof value} is not a JSON value at "${at}"`)
  }
  if (value === null) return null
  if (depth >= MAX_JSON_DEPTH) throw new TypeError(`JSON nested deeper than ${MAX_JSON_DEPTH} at "${at}"`)
  if (ancestors.has(value)) throw new TypeError(`cycle at "${at}"`)
  ancestors.add(value)
  let copy: unknown
  if (Array.isArray(value)) {
    const items: unknown[] = []
    for (let index = 0; index < value.length; index++) {
      if (!Object.hasOwn(value, index)) throw new TypeError(`sparse array at "${at}/${index}"`)
      items.push(toJsonValue(value[index], `${at}/${index}`, depth + 1, ancestors))
    }
    copy = items
  } else {
    const prototype: unknown = Object.getPrototypeOf(value)
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(`only plain objects are JSON, found ${Object.prototype.toString.call(value)} at "${at}"`)
    }
    // A null prototype keeps a "__proto__" member an ordinary own property.
    const members: Record<string, unknown> = Object.create(null)
    for (const key of Object.keys(value)) {
      if (!key.isWellFormed()) throw new TypeError(`lone surrogate in member name at "${at}"`)
      members[key] = toJsonValue((value as Record<string, unknown>)[key], `${at}/${key}`, depth + 1, ancestors)
    }
    copy = members
  }
  ancestors.delete(value)
  return copy
}
