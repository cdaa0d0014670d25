import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import { createCase, createFolder } from '../../src/cases/cases.ts'
import { getEvidence, listEvidence, openEvidence, uploadEvidence } from '../../src/cases/evidence.ts'
import { createTestContext } from '../support/context.ts'
import { piecesOf, readAll, upload } from '../support/fixtures.ts'

const tc = await createTestContext()
t.teardown(() => tc.close())
const chunkSize = tc.ctx.config.transfers.chunkSize
const theCase = await createCase(tc.ctx, { fields: { title: 'Evidence tests' } })

// spec: CW-FMT-002, CW-FMT-003
t.test('a 20 MiB body in random-size pieces is stored in chunks and read back identically', async (t) => {
  const bytes = randomBytes(20 * 1024 * 1024 + 12345)
  const record = await uploadEvidence(tc.ctx, theCase.id, { name: 'cctv.mp4', category: 'video', mediaType: 'video/mp4' }, piecesOf(bytes))
  t.equal(record.size, bytes.length)
  t.equal(record.digest, 'sha256:' + createHash('sha256').update(bytes).digest('hex'))
  t.equal(record.chunkSize, chunkSize)
  t.equal(record.chunks.length, Math.ceil(bytes.length / chunkSize))
  const lastStart = (record.chunks.length - 1) * chunkSize
  t.equal(record.chunks.at(-1), 'sha256:' + createHash('sha256').update(bytes.subarray(lastStart)).digest('hex'), 'last chunk is the short tail')
  t.equal(record.chunks[0], 'sha256:' + createHash('sha256').update(bytes.subarray(0, chunkSize)).digest('hex'))
  for (const digest of [record.chunks[0]!, record.chunks.at(-1)!]) t.ok(await tc.ctx.blobs.has(digest))
  t.same(await getEvidence(tc.ctx, record.id), record)

  const { evidence, stream } = await openEvidence(tc.ctx, record.id)
  t.equal(evidence.id, record.id)
  const read = await readAll(stream)
  t.equal(read.length, bytes.length)
  t.ok(read.equals(bytes), 'identical bytes')
})

// spec: CW-FMT-003
t.test('an empty file has no chunks', async (t) => {
  const record = await upload(tc.ctx, theCase.id, { name: 'empty.txt', category: 'document', mediaType: 'text/plain' }, new Uint8Array(0))
  t.equal(record.size, 0)
  t.same(record.chunks, [])
  t.equal(record.digest, 'sha256:' + createHash('sha256').digest('hex'))
  t.equal((await readAll((await openEvidence(tc.ctx, record.id)).stream)).length, 0)
})

t.test('a body that fails midway stores no evidence', async (t) => {
  const before = (await listEvidence(tc.ctx, theCase.id)).length
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield randomBytes(chunkSize * 2 + 10)
    throw new Error('client went away')
  }
  await t.rejects(uploadEvidence(tc.ctx, theCase.id, { name: 'broken.bin', category: 'video', mediaType: 'video/mp4' }, failing()), {
    message: 'client went away',
  })
  t.equal((await listEvidence(tc.ctx, theCase.id)).length, before)
})

t.test('metadata is checked before the body is read', async (t) => {
  let read = false
  const body = Readable.from(
    (async function* () {
      read = true
      yield new Uint8Array(10)
    })(),
  )
  const meta = { name: 'x.bin', category: 'video', mediaType: 'video/mp4' }
  await t.rejects(uploadEvidence(tc.ctx, 'missing', meta, body), { code: 'CW_ERR_NOT_FOUND' })
  await t.rejects(uploadEvidence(tc.ctx, theCase.id, { ...meta, category: 'Video!' }, body), { code: 'CW_ERR_BAD_REQUEST', at: '/category' })
  await t.rejects(uploadEvidence(tc.ctx, theCase.id, { ...meta, mediaType: 'video' }, body), { code: 'CW_ERR_BAD_REQUEST', at: '/mediaType' })
  await t.rejects(uploadEvidence(tc.ctx, theCase.id, { ...meta, name: '' }, body), { code: 'CW_ERR_BAD_REQUEST', at: '/name' })
  const other = await createCase(tc.ctx, { fields: {} })
  const foreignFolder = await createFolder(tc.ctx, other.id, { name: 'Other' })
  await t.rejects(uploadEvidence(tc.ctx, theCase.id, { ...meta, folderId: foreignFolder.id }, body), { code: 'CW_ERR_BAD_REQUEST', at: '/folderId' })
  const foreignItem = await upload(tc.ctx, other.id)
  await t.rejects(uploadEvidence(tc.ctx, theCase.id, { ...meta, attachmentOf: foreignItem.id }, body), { code: 'CW_ERR_BAD_REQUEST', at: '/attachmentOf' })
  t.equal(read, false, 'no byte was read')
})

t.test('folder, attachment and do-not-disclose are recorded', async (t) => {
  const folder = await createFolder(tc.ctx, theCase.id, { name: 'Interviews' })
  const video = await upload(tc.ctx, theCase.id, { folderId: folder.id, doNotDisclose: true })
  const transcript = await upload(tc.ctx, theCase.id, {
    name: 't.txt',
    category: 'document',
    mediaType: 'text/plain',
    folderId: folder.id,
    attachmentOf: video.id,
  })
  t.match(video, { folderId: folder.id, doNotDisclose: true, attachmentOf: null })
  t.match(transcript, { folderId: folder.id, doNotDisclose: false, attachmentOf: video.id })
  await t.rejects(openEvidence(tc.ctx, 'missing'), { code: 'CW_ERR_NOT_FOUND' })
})
