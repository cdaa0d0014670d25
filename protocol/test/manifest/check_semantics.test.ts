import t from 'tap'
import { VerificationError } from '../../src/errors.ts'
import { checkManifestSemantics } from '../../src/manifest/check_semantics.ts'
import { assertManifest } from '../../src/schema/validate.ts'
import { fakeEvidenceItem, fakeDigest, sampleManifest } from '../../../testkit/fixtures/manifests.ts'

const manifest = () => sampleManifest({ iss: 'pd', aud: 'da', iat: 1_700_000_000, exp: 1_700_086_400, grants: ['a.b.c'] })
const invalid = (at: string) => ({ code: 'CW_ERR_SCHEMA_INVALID', at })

// spec: CW-MAN-001, CW-MAN-002
t.test('the sample manifest is schema-valid and consistent', async (t) => {
  const m = manifest()
  t.doesNotThrow(() => assertManifest(m))
  t.doesNotThrow(() => checkManifestSemantics(m))
})

// spec: CW-MAN-001
t.test('previous is present exactly when revision > 1', async (t) => {
  const second = manifest()
  second.share.revision = 2
  t.throws(() => checkManifestSemantics(second), invalid('/share/previous'), 'revision 2 without previous')
  second.share.previous = fakeDigest('revision 1')
  t.doesNotThrow(() => checkManifestSemantics(second), 'revision 2 with previous')
  const first = manifest()
  first.share.previous = fakeDigest('revision 0')
  t.throws(() => checkManifestSemantics(first), invalid('/share/previous'), 'revision 1 with previous')
})

// spec: CW-MAN-002
t.test('duplicate ids are refused', async (t) => {
  const evidence = manifest()
  evidence.evidence[1]!.id = 'ev-video'
  t.throws(() => checkManifestSemantics(evidence), invalid('/evidence/1/id'))
  const folders = manifest()
  folders.case.folders[1]!.id = 'f-root'
  t.throws(() => checkManifestSemantics(folders), invalid('/case/folders/1/id'))
})

// spec: CW-MAN-002
t.test('references that do not resolve are refused', async (t) => {
  const folderParent = manifest()
  folderParent.case.folders[1]!.parent = 'f-missing'
  t.throws(() => checkManifestSemantics(folderParent), invalid('/case/folders/1/parent'))
  const itemFolder = manifest()
  itemFolder.evidence[0]!.folder = 'f-missing'
  t.throws(() => checkManifestSemantics(itemFolder), invalid('/evidence/0/folder'))
  const attachment = manifest()
  attachment.evidence[2]!.attachmentOf = 'ev-missing'
  t.throws(() => checkManifestSemantics(attachment), invalid('/evidence/2/attachmentOf'))
})

// spec: CW-MAN-002
t.test('folders that do not form a tree are refused', async (t) => {
  const self = manifest()
  self.case.folders[0]!.parent = 'f-root'
  t.throws(() => checkManifestSemantics(self), invalid('/case/folders/0/parent'), 'a folder that is its own parent')
  const cycle = manifest()
  cycle.case.folders.push({ id: 'f-a', name: 'A', parent: 'f-c' }, { id: 'f-b', name: 'B', parent: 'f-a' }, { id: 'f-c', name: 'C', parent: 'f-b' })
  t.throws(() => checkManifestSemantics(cycle), invalid('/case/folders/2/parent'), 'a three-folder cycle')
  const deep = manifest()
  for (let index = 0; index < 5_000; index++) {
    deep.case.folders.push({ id: `f-${index}`, name: String(index), parent: index === 0 ? 'f-root' : `f-${index - 1}` })
  }
  t.doesNotThrow(() => checkManifestSemantics(deep), 'a deep but acyclic tree')
})

// spec: CW-MAN-002
t.test('attachments that refer to each other in a cycle are refused', async (t) => {
  const m = manifest()
  m.evidence[1]!.attachmentOf = 'ev-note'
  t.throws(() => checkManifestSemantics(m), invalid('/evidence/1/attachmentOf'))
})

// spec: CW-MAN-002, CW-FMT-003
t.test('the chunk count must match size and chunk size', async (t) => {
  const more = manifest()
  more.evidence[0]!.chunks.push(fakeDigest('extra'))
  t.throws(() => checkManifestSemantics(more), invalid('/evidence/0/chunks'), 'one chunk too many')
  const fewer = manifest()
  fewer.evidence[0]!.chunks.pop()
  t.throws(() => checkManifestSemantics(fewer), invalid('/evidence/0/chunks'), 'one chunk too few')
  const empty = manifest()
  empty.evidence[2]!.chunks = [fakeDigest('x')]
  t.throws(() => checkManifestSemantics(empty), invalid('/evidence/2/chunks'), 'an empty file has no chunks')
  const exact = manifest()
  exact.evidence.push(fakeEvidenceItem('ev-exact', { size: 131_072 }))
  t.equal(exact.evidence[3]!.chunks.length, 2)
  t.doesNotThrow(() => checkManifestSemantics(exact), 'size a multiple of chunkSize')
})

t.test('errors are VerificationErrors', async (t) => {
  const m = manifest()
  m.evidence[1]!.id = 'ev-video'
  const error = t.throws(() => checkManifestSemantics(m))
  t.ok(error instanceof VerificationError)
})
