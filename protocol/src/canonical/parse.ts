/**
 * Parsing untrusted JSON bytes (SPEC.md §6: JSON restricted to I-JSON; CW-SIG-001, CW-SIG-014).
 *
 * One parser for every JSON text a peer signs: the JWS Protected Header and the payload.
 * `JSON.parse` does the RFC 8259 grammar; the guards around it close the gaps where parsers
 * disagree (Bishop Fox, "JSON interoperability vulnerabilities"; nst/JSONTestSuite):
 *
 * - the bytes must be UTF-8 (RFC 8259 §8.1): invalid sequences, overlong forms, encoded
 *   surrogates and a byte-order mark are refused, never replaced or skipped;
 * - member names are unique within an object (RFC 7493 §2.3), compared after unescaping, so
 *   a first-wins and a last-wins parser can never read different objects;
 * - strings and member names hold no lone surrogate (RFC 7493 §2.1);
 * - every number is a finite IEEE 754 double (RFC 7493 §2.2): `1e400` is refused, not read as
 *   `Infinity`;
 * - nesting is at most {@link MAX_JSON_DEPTH} deep, the cap `canonicalJson` applies too.
 *
 * Numbers with more precision than a double (`9007199254740993`, `1.0000000000000000001`)
 * or a magnitude beyond 2^53 are read as the nearest double, as RFC 7493 §2.2 allows;
 * `parseCanonicalJson`, the parser for signed payloads, refuses both (CW-SIG-014).
 *
 * @module
 */
import { VerificationError } from '../errors.ts'
import { canonicalJson, MAX_JSON_DEPTH } from './canonicalize.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

function malformed(message: string, at: string | undefined): VerificationError {
  return new VerificationError('CW_ERR_MALFORMED', message, at === undefined ? undefined : { at })
}

/**
 * Walks a text `JSON.parse` accepted: refuses nesting deeper than {@link MAX_JSON_DEPTH}
 * and a member name that appears twice in one object. Linear in the text's length.
 */
function checkStructure(text: string, at: string | undefined): void {
  // One entry per open container: the member names seen so far, or null for an array.
  const open: (Set<string> | null)[] = []
  let expectName = false
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code === QUOTE) {
      let end = index + 1
      while (end < text.length && text.charCodeAt(end) !== QUOTE) end += text.charCodeAt(end) === BACKSLASH ? 2 : 1
      if (expectName) {
        const names = open[open.length - 1]!
        const name = JSON.parse(text.slice(index, end + 1)) as string
        if (names.has(name)) throw malformed(`duplicate member name ${JSON.stringify(name)}`, at)
        names.add(name)
        expectName = false
      }
      index = end
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (open.length >= MAX_JSON_DEPTH) throw malformed(`JSON nested deeper than ${MAX_JSON_DEPTH}`, at)
      open.push(code === OPEN_OBJECT ? new Set() : null)
      expectName = code === OPEN_OBJECT
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      open.pop()
      expectName = false
    } else if (code === COMMA) {
      expectName = open[open.length - 1] instanceof Set
    }
  }
}

function decode(bytes: Uint8Array, at: string | undefined): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  try {
    return utf8.decode(bytes)
  } catch {
    throw malformed('JSON text is not UTF-8', at)
  }
}

function parseText(text: string, at: string | undefined): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw malformed('not a JSON text', at)
  }
}

/**
 * One walk of a parsed value: nesting at most {@link MAX_JSON_DEPTH} deep, no lone surrogate in
 * a string or a member name, every number finite and, with `safeNumbers`, within ±(2^53 − 1).
 * Returns whether every object's members are enumerated in RFC 8785's order (UTF-16 code units,
 * strictly ascending) — false for an unsorted object, and for member names such as "10" and "2",
 * which JavaScript enumerates as numbers.
 */
function checkValue(value: unknown, at: string | undefined, depth: number, safeNumbers: boolean): boolean {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw malformed('lone surrogate in a string', at)
    return true
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw malformed('number outside the range of an IEEE 754 double', at)
    if (safeNumbers && Math.abs(value) > Number.MAX_SAFE_INTEGER) throw malformed('number beyond ±(2^53 − 1)', at)
    return true
  }
  if (typeof value !== 'object' || value === null) return true
  if (depth >= MAX_JSON_DEPTH) throw malformed(`JSON nested deeper than ${MAX_JSON_DEPTH}`, at)
  let sorted = true
  if (Array.isArray(value)) {
    for (const item of value) sorted = checkValue(item, at, depth + 1, safeNumbers) && sorted
    return sorted
  }
  let previous: string | undefined
  for (const name of Object.keys(value)) {
    if (!name.isWellFormed()) throw malformed('lone surrogate in a member name', at)
    if (previous !== undefined && !(previous < name)) sorted = false
    previous = name
    sorted = checkValue((value as Record<string, unknown>)[name], at, depth + 1, safeNumbers) && sorted
  }
  return sorted
}

function parse(bytes: Uint8Array, at: string | undefined): unknown {
  const text = decode(bytes, at)
  const value = parseText(text, at)
  checkStructure(text, at)
  checkValue(value, at, 0, false)
  return value
}

/**
 * Parses untrusted JSON bytes as I-JSON (RFC 7493). Returns the value; throws
 * `VerificationError` `CW_ERR_MALFORMED` (with `at`, when given) for anything else.
 * Never throws another error type, whatever the bytes.
 */
export function parseJson(bytes: Uint8Array, at?: string): unknown {
  return parse(bytes, at)
}

/**
 * The parser for signed payloads (CW-SIG-014): {@link parseJson}, numbers within
 * ±(2^53 − 1), and the bytes exactly the RFC 8785 form of the value read: no whitespace,
 * members sorted, numbers and strings in their one canonical spelling. What a signature
 * covers is then what every verifier reads, in any language.
 *
 * The number rule matters even for canonical bytes: `1e+21` and `100000000000000000000` are
 * the canonical spellings of exact doubles, yet beyond 2^53 integers stop being exact
 * (`2 ** 53 + 1 === 2 ** 53`), an int64 reader overflows, and a counter such as a revision
 * number could no longer move forward.
 */
export function parseCanonicalJson(bytes: Uint8Array, at?: string): unknown {
  const text = decode(bytes, at)
  const value = parseText(text, at)
  // With every object's members enumerated in sorted order, JSON.stringify writes what RFC 8785
  // does (its strings and numbers are ECMAScript's), natively: a third of the time of
  // `canonicalJson`, which copies the value and concatenates in JavaScript, for a 55 MB
  // manifest. A duplicate member name needs no search: the parse kept one of the two, so the
  // text is not the serialization of what was read.
  const canonical = checkValue(value, at, 0, true) ? JSON.stringify(value) : canonicalJson(value)
  if (canonical !== text) throw malformed('JSON is not in canonical form (RFC 8785)', at)
  return value
}
