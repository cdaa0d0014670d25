/**
 * The native paths of canonical JSON against the reference: `canonicalJson` serializes with
 * `JSON.stringify` once members are sorted, and `parseCanonicalJson` accepts a text when
 * `JSON.stringify` gives it back. Both must agree with the `canonicalize` package (RFC 8785, by
 * one of its authors) on every value — member names that look like array indexes, `__proto__`,
 * escapes, surrogate pairs, numbers of every spelling included.
 */
import canonicalize from 'canonicalize'
import fc from 'fast-check'
import t from 'tap'
import { canonicalJson } from '../../src/canonical/canonicalize.ts'
import { parseCanonicalJson } from '../../src/canonical/parse.ts'
import { VerificationError } from '../../src/errors.ts'

/** Member names JavaScript orders differently from RFC 8785, mixed with ordinary ones. */
const memberName = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.constantFrom('0', '1', '2', '10', '01', '4294967294', '4294967295', '-1', '1.5', '__proto__', '\u20ac', '\ud83d\ude00', '\r'),
  fc.nat({ max: 200 }).map(String),
)
const number = fc.oneof(
  fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }),
)
const { value: jsonValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false),
    number,
    fc.string({ unit: 'grapheme', maxLength: 6 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(memberName, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  ),
}))

function canonicalOrRefused(text: string): 'accept' | 'refuse' {
  try {
    parseCanonicalJson(Buffer.from(text, 'utf8'))
    return 'accept'
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error
    return 'refuse'
  }
}

// spec: CW-FMT-001
t.test('canonicalJson writes what the canonicalize package writes', async (t) => {
  fc.assert(
    fc.property(jsonValue, (value) => canonicalJson(value) === canonicalize(value)),
    { numRuns: 3000 },
  )
  t.pass('3,000 values')
})

// spec: CW-SIG-014
t.test('parseCanonicalJson accepts exactly the texts the package writes', async (t) => {
  fc.assert(
    fc.property(jsonValue, (value) => {
      const canonical = canonicalize(value)!
      // Accepted as written; refused as JSON.stringify writes it whenever that differs (member order, a duplicate...).
      const plain = JSON.stringify(value)
      return canonicalOrRefused(canonical) === 'accept' && (plain === canonical || canonicalOrRefused(plain) === 'refuse')
    }),
    { numRuns: 3000 },
  )
  t.pass('3,000 values')
})
