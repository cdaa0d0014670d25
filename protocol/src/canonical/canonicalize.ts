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
  // Serialize a snapshot, so getters or later mutation cannot change what was checked. Its
  // members are added in sorted order, so JSON.stringify (native: a fraction of the time of the
  // library's JavaScript for a 55 MB manifest) writes them as RFC 8785 does — unless a member
  // name could be an array index, which JavaScript enumerates first, in numeric order.
  const snapshot = new Snapshot()
  const copy = snapshot.of(value, '', 0)
  const text = snapshot.indexLikeName ? canonicalize(copy) : JSON.stringify(copy)
  if (text === undefined) throw new TypeError('value is not JSON')
  return text
}

/** A checked copy of a JSON value, its members in sorted order. */
class Snapshot {
  /** Whether some member name starts with a digit ("10" is enumerated before "2" and "a"). */
  indexLikeName = false
  readonly #ancestors = new Set<object>()

  of(value: unknown, at: string, depth: number): unknown {
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
    if (this.#ancestors.has(value)) throw new TypeError(`cycle at "${at}"`)
    this.#ancestors.add(value)
    let copy: unknown
    if (Array.isArray(value)) {
      const items: unknown[] = []
      for (let index = 0; index < value.length; index++) {
        if (!Object.hasOwn(value, index)) throw new TypeError(`sparse array at "${at}/${index}"`)
        items.push(this.of(value[index], `${at}/${index}`, depth + 1))
      }
      copy = items
    } else {
      const prototype: unknown = Object.getPrototypeOf(value)
      if (prototype !== Object.prototype && prototype !== null) {
        throw new TypeError(`only plain objects are JSON, found ${Object.prototype.toString.call(value)} at "${at}"`)
      }
      const members: Record<string, unknown> = {}
      for (const key of Object.keys(value).sort()) {
        if (!key.isWellFormed()) throw new TypeError(`lone surrogate in member name at "${at}"`)
        const first = key.charCodeAt(0)
        if (first >= 0x30 && first <= 0x39) this.indexLikeName = true
        const member = this.of((value as Record<string, unknown>)[key], `${at}/${key}`, depth + 1)
        // Assigned, "__proto__" would set the prototype; defined, it is an ordinary member.
        if (key === '__proto__') Object.defineProperty(members, key, { value: member, enumerable: true, writable: true, configurable: true })
        else members[key] = member
      }
      copy = members
    }
    this.#ancestors.delete(value)
    return copy
  }
}
