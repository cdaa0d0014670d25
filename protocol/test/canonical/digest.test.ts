import t from 'tap'
import { createHash } from 'node:crypto'
import { digestBytes, digestJson } from '../../src/canonical/digest.ts'

// spec: CW-FMT-002
t.test('digest strings are sha256: + 64 lower-case hex', async (t) => {
  t.equal(digestBytes(new Uint8Array()), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  t.equal(digestBytes('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  t.match(digestBytes(new Uint8Array([1, 2, 3])), /^sha256:[0-9a-f]{64}$/)
  t.equal(digestBytes('é'), digestBytes(new Uint8Array([0xc3, 0xa9])), 'strings hash as UTF-8')
})

// spec: CW-FMT-001, CW-FMT-002
t.test('digestJson hashes the canonical UTF-8 bytes', async (t) => {
  const expected = 'sha256:' + createHash('sha256').update('{"a":2,"b":"€"}', 'utf8').digest('hex')
  t.equal(digestJson({ b: '€', a: 2 }), expected)
  t.equal(digestJson({ a: 2, b: '€' }), expected, 'member order does not matter')
  t.not(digestJson({ a: 2.5, b: '€' }), expected)
  t.throws(() => digestJson({ a: Number.NaN }), TypeError)
})

t.test('digestBytes refuses other inputs', async (t) => {
  t.throws(() => digestBytes(123 as unknown as string), TypeError)
})
