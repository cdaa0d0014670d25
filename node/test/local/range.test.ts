/**
 * `answerRange` alone (SPEC.md CW-LOC-027, CW-LOC-028): the edges a route test does not reach
 * cheaply — an empty file, numbers beyond any size, weak and missing validators.
 */
import t from 'tap'
import { answerRange } from '../../src/local/download.ts'

const file = { size: 1000, digest: 'sha256:' + 'a'.repeat(64) }
const tag = `"${file.digest}"`

// spec: CW-LOC-027, CW-LOC-028
t.test('single ranges, their limits, and what is ignored', async (t) => {
  t.same(answerRange('GET', {}, file), { kind: 'whole' })
  t.same(answerRange('HEAD', { range: 'bytes=0-9' }, file), { kind: 'whole' }, 'HEAD has no ranges')
  t.same(answerRange('GET', { range: 'bytes=0-9' }, file), { kind: 'range', range: { start: 0, end: 9 } })
  t.same(answerRange('GET', { range: 'bytes=990-99999999999999999999' }, file), { kind: 'range', range: { start: 990, end: 999 } })
  t.same(answerRange('GET', { range: 'bytes=99999999999999999999-' }, file), { kind: 'unsatisfiable' })
  t.same(answerRange('GET', { range: 'bytes=-99999999999999999999' }, file), { kind: 'range', range: { start: 0, end: 999 } })
  t.same(answerRange('GET', { range: 'bytes=1000-1000' }, file), { kind: 'unsatisfiable' })
  t.same(answerRange('GET', { range: 'bytes=-0' }, file), { kind: 'unsatisfiable' })
  for (const range of ['bytes=', 'bytes=-', 'bytes=1-2,3-4', 'bytes=+1-2', 'bytes=0x1-2', 'bytes=1.5-2', 'bits=0-1', 'bytes=5-4']) {
    t.same(answerRange('GET', { range }, file), { kind: 'whole' }, range)
  }
})

// spec: CW-LOC-028
t.test('an empty file has no satisfiable range', async (t) => {
  const empty = { size: 0, digest: 'sha256:' + 'e'.repeat(64) }
  for (const range of ['bytes=0-', 'bytes=0-0', 'bytes=-1']) t.same(answerRange('GET', { range }, empty), { kind: 'unsatisfiable' }, range)
  t.same(answerRange('GET', {}, empty), { kind: 'whole' })
})

// spec: CW-LOC-028
t.test('If-Range: only this file’s strong tag', async (t) => {
  t.same(answerRange('GET', { range: 'bytes=1-2', 'if-range': tag }, file), { kind: 'range', range: { start: 1, end: 2 } })
  t.same(answerRange('GET', { range: 'bytes=1-2', 'if-range': `W/${tag}` }, file), { kind: 'whole' }, 'a weak tag never matches')
  t.same(answerRange('GET', { range: 'bytes=1-2', 'if-range': file.digest }, file), { kind: 'whole' }, 'unquoted is not a tag')
  t.same(answerRange('GET', { range: 'bytes=1-2', 'if-range': 'Sat, 05 Dec 2026 08:00:00 GMT' }, file), { kind: 'whole' })
})
