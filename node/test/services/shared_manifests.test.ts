import t from 'tap'
import { isShared, manifestJson, parsedManifest, SHARED_FROM_CHARS, sharedManifest } from '../../src/shared_manifests.ts'

interface Manifest {
  jti: string
  evidence: Array<{ id: string; name: string }>
}

/** A manifest-like value whose JSON is at least `chars` long. */
function manifest(jti: string, chars: number): Manifest {
  return { jti, evidence: [{ id: 'item-1', name: 'x'.repeat(chars) }] }
}

const large = (jti: string) => JSON.stringify(manifest(jti, SHARED_FROM_CHARS))

t.test('a large manifest is parsed once per text and shared, frozen', async (t) => {
  const text = large('a')
  const first = parsedManifest<Manifest>('sha256:a', text)
  t.equal(parsedManifest<Manifest>('sha256:a', `${text}`), first, 'the same value for the same text')
  t.equal(first.jti, 'a')
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.evidence) && Object.isFrozen(first.evidence[0]), 'frozen all the way down')
  t.throws(() => {
    first.evidence[0]!.id = 'changed'
  }, TypeError)
  t.not(parsedManifest('sha256:other', text), first, 'another digest is another value')
})

t.test('another text under the same digest is parsed, never answered with the shared value', async (t) => {
  const first = parsedManifest<Manifest>('sha256:same', large('first'))
  const second = parsedManifest<Manifest>('sha256:same', large('second'))
  t.not(second, first)
  t.equal(second.jti, 'second')
})

t.test('a small manifest is parsed afresh for every read, and stays the reader’s own', async (t) => {
  const small = manifest('small', 10)
  const text = manifestJson('sha256:small', small)
  t.same(JSON.parse(text), small)
  t.notOk(Object.isFrozen(small), 'not shared when written')
  const first = parsedManifest<Manifest>('sha256:small', text)
  t.not(parsedManifest('sha256:small', text), first)
  t.notOk(Object.isFrozen(first))
})

t.test('a large manifest written is what the reads of its text get', async (t) => {
  const written = manifest('written', SHARED_FROM_CHARS)
  const text = manifestJson('sha256:written', written)
  t.same(JSON.parse(text), written, 'the JSON text of the manifest')
  t.ok(Object.isFrozen(written), 'frozen once written')
  t.equal(parsedManifest('sha256:written', text), written)
})

t.test('a large manifest read from its text (a verified offer) is written as that very text', async (t) => {
  // Spaced as JSON.stringify would not write it: the text read is kept, not serialized again.
  const text = `{"evidence": [{"id": "item-1", "name": "${'x'.repeat(SHARED_FROM_CHARS)}"}], "jti": "offered"}`
  const read = parsedManifest<Manifest>('sha256:offered', text)
  t.equal(manifestJson('sha256:offered', read), text)
  const copy = { ...read }
  t.equal(manifestJson('sha256:offered', copy), JSON.stringify(copy), 'another value under the digest is serialized')
  t.not(JSON.stringify(copy), text)
})

t.test('at most two are kept: the least recently read goes first', async (t) => {
  const a = parsedManifest('sha256:keep-a', large('keep-a'))
  const b = parsedManifest('sha256:keep-b', large('keep-b'))
  t.equal(parsedManifest('sha256:keep-a', large('keep-a')), a, 'a read again: b is now the least recently read')
  parsedManifest('sha256:keep-c', large('keep-c'))
  await Promise.resolve()
  t.equal(parsedManifest('sha256:keep-a', large('keep-a')), a, 'a kept')
  t.not(parsedManifest('sha256:keep-b', large('keep-b')), b, 'b dropped: parsed again')
})

t.test('a shared manifest is answered by its digest alone, and stays while the code that asked runs', async (t) => {
  const a = parsedManifest('sha256:held-a', large('held-a'))
  parsedManifest('sha256:held-b', large('held-b'))
  t.ok(isShared('sha256:held-a'))
  parsedManifest('sha256:held-c', large('held-c'))
  t.equal(sharedManifest('sha256:held-a'), a, 'still there: a third came after it was asked for')
  await Promise.resolve()
  t.notOk(isShared('sha256:held-b'), 'then the least recently read goes')
  t.ok(isShared('sha256:held-a') && isShared('sha256:held-c'))
  t.throws(() => sharedManifest('sha256:held-b'), /not shared/)
  t.notOk(isShared('sha256:never'))
})
