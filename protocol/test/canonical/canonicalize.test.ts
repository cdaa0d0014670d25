import t from 'tap'
import { canonicalJson, MAX_JSON_DEPTH } from '../../src/canonical/canonicalize.ts'

/** IEEE 754 binary64 from its 16 hex digits (RFC 8785 Appendix B notation). */
function float(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0)
}

// spec: CW-FMT-001
t.test('RFC 8785 §3.2.2 example: whitespace, numbers, string escapes, literals', async (t) => {
  const input = JSON.parse(
    '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
      ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
      ' "literals": [null, true, false]}',
  )
  t.equal(canonicalJson(input), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
})

// spec: CW-FMT-001
t.test('RFC 8785 §3.2.3 example: members sorted by UTF-16 code units', async (t) => {
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  }
  t.equal(
    canonicalJson(input),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  )
  t.equal(canonicalJson({ b: { d: 1, c: 2 }, a: [3, { z: 0, y: 1 }] }), '{"a":[3,{"y":1,"z":0}],"b":{"c":2,"d":1}}')
})

// spec: CW-FMT-001
t.test('RFC 8785 Appendix B number serialization', async (t) => {
  const vectors: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ]
  for (const [hex, expected] of vectors) t.equal(canonicalJson(float(hex)), expected, hex)
})

// spec: CW-FMT-001
t.test('unicode: only mandatory escapes, non-ASCII kept as UTF-8', async (t) => {
  t.equal(canonicalJson('\u0000\u001f\u007f é 😀 "\\'), '"\\u0000\\u001f\u007f é 😀 \\"\\\\"')
  t.equal(canonicalJson('\b\f\n\r\t'), '"\\b\\f\\n\\r\\t"')
  t.equal(canonicalJson('</script>\u2028'), '"</script>\u2028"')
})

// spec: CW-FMT-001
t.test('values that are not JSON throw TypeError', async (t) => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic['self'] = cyclic
  const deep: unknown[] = []
  let cursor = deep
  for (let i = 0; i < MAX_JSON_DEPTH; i++) {
    const next: unknown[] = []
    cursor.push(next)
    cursor = next
  }
  const cases: [string, unknown][] = [
    ['undefined', undefined],
    ['undefined member', { a: undefined }],
    ['undefined item', [1, undefined]],
    ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['function', () => 1],
    ['function member', { f() {} }],
    ['symbol', Symbol('x')],
    ['bigint', 1n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity in array', [Number.NEGATIVE_INFINITY]],
    ['cycle', cyclic],
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['lone surrogate', '\ud800'],
    ['lone surrogate key', { '\udc00': 1 }],
    ['too deep', deep],
  ]
  for (const [name, value] of cases) t.throws(() => canonicalJson(value), TypeError, name)
})

// spec: CW-FMT-001
t.test('accepted edge values', async (t) => {
  const shared = { x: 1 }
  t.equal(canonicalJson([shared, shared]), '[{"x":1},{"x":1}]', 'a repeated (acyclic) object is not a cycle')
  t.equal(canonicalJson(JSON.parse('{"__proto__":{"a":1}}')), '{"__proto__":{"a":1}}', '__proto__ stays a member')
  t.equal(canonicalJson(Object.assign(Object.create(null), { b: null, a: true })), '{"a":true,"b":null}')
  t.equal(canonicalJson(-0), '0')
})
