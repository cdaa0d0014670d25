import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import { piecesOf } from '../../support/fixtures.ts'
import { createTestApp } from '../../support/local_app.ts'
import { waitFor } from '../../../../testkit/wait.ts'
import { createToken } from '../../../src/access/tokens.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
// The member owns the case (CW-LOC-002); the admin may administer it too.
const theCase = (await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Uploads' } }, token: ta.memberToken })).json()
const folder = (await ta.call({ method: 'POST', url: `/api/v1/cases/${theCase.id}/folders`, payload: { name: 'Video' } })).json()

// spec: CW-FMT-002, CW-FMT-003
t.test('a 20 MiB upload in random-size pieces is streamed, hashed, and downloaded identically', async (t) => {
  const bytes = randomBytes(20 * 1024 * 1024 + 777)
  const query = new URLSearchParams({ name: 'Lobby camera (2).mp4', category: 'video', mediaType: 'video/mp4', folderId: folder.id, doNotDisclose: 'false' })
  const uploaded = await ta.call({
    method: 'POST',
    url: `/api/v1/cases/${theCase.id}/evidence?${query.toString()}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: piecesOf(bytes, 1_000_000),
    token: ta.memberToken,
  })
  t.equal(uploaded.statusCode, 201, uploaded.body.slice(0, 200))
  const evidence = uploaded.json()
  t.match(evidence, {
    caseId: theCase.id,
    folderId: folder.id,
    name: 'Lobby camera (2).mp4',
    category: 'video',
    mediaType: 'video/mp4',
    size: bytes.length,
    doNotDisclose: false,
    attachmentOf: null,
  })
  t.equal(evidence.digest, 'sha256:' + createHash('sha256').update(bytes).digest('hex'))
  t.notOk('chunks' in evidence, 'the chunk list stays internal')

  const listed = (await ta.call({ method: 'GET', url: `/api/v1/cases/${theCase.id}/evidence` })).json().evidence
  t.same(
    listed.map((e: { id: string }) => e.id),
    [evidence.id],
  )

  const download = await ta.call({ method: 'GET', url: `/api/v1/evidence/${evidence.id}/content`, token: ta.memberToken })
  t.equal(download.statusCode, 200)
  t.equal(download.headers['content-length'], String(bytes.length))
  t.equal(download.headers['content-type'], 'video/mp4')
  t.equal(download.headers['x-content-type-options'], 'nosniff')
  t.equal(download.headers['content-disposition'], `attachment; filename="Lobby camera (2).mp4"; filename*=UTF-8''Lobby%20camera%20%282%29.mp4`)
  t.ok(download.rawPayload.equals(bytes), 'identical bytes')
})

t.test('the body is consumed while it arrives: chunks are stored before the upload ends', async (t) => {
  const chunkSize = ta.ctx.config.transfers.chunkSize
  const first = randomBytes(chunkSize * 2)
  const firstChunk = 'sha256:' + createHash('sha256').update(first.subarray(0, chunkSize)).digest('hex')
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  async function* body(): AsyncGenerator<Uint8Array> {
    yield first
    await released
    yield randomBytes(100)
  }
  const pending = ta.call({
    method: 'POST',
    url: `/api/v1/cases/${theCase.id}/evidence?name=slow.bin&category=video`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Readable.from(body(), { objectMode: false }),
  })
  // Throws (failing the test) when the first chunk is not stored while the request is still open.
  t.ok(
    await waitFor('the first chunk stored while the request is still open', async () => ((await ta.ctx.blobs.has(firstChunk)) ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 10,
    }),
  )
  release()
  const response = await pending
  t.equal(response.statusCode, 201)
  t.equal(response.json().size, chunkSize * 2 + 100)
})

t.test('upload metadata and media type are checked', async (t) => {
  const url = `/api/v1/cases/${theCase.id}/evidence`
  const json = await ta.call({ method: 'POST', url: `${url}?name=a&category=video`, payload: { not: 'a file' } })
  t.equal(json.statusCode, 415)
  t.equal(json.json().code, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
  const noName = await ta.call({
    method: 'POST',
    url: `${url}?category=video`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from('x'),
  })
  t.equal(noName.json().code, 'CW_ERR_BAD_REQUEST')
  const badCategory = await ta.call({
    method: 'POST',
    url: `${url}?name=a&category=Video`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from('x'),
  })
  t.match(badCategory.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/category' })
  const missingCase = await ta.call({
    method: 'POST',
    url: '/api/v1/cases/missing/evidence?name=a&category=video',
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from('x'),
  })
  t.equal(missingCase.statusCode, 404)
  const empty = await ta.call({
    method: 'POST',
    url: `${url}?name=empty.txt&category=document&mediaType=text/plain&doNotDisclose=true`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.alloc(0),
  })
  t.equal(empty.statusCode, 201)
  t.match(empty.json(), { size: 0, doNotDisclose: true, mediaType: 'text/plain' })
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/evidence/missing/content' })).statusCode, 404)
})

t.test('the upload route accepts bodies beyond the JSON limit', async (t) => {
  const bytes = randomBytes(ta.ctx.config.limits.jsonBodyBytes * 3)
  const response = await ta.call({
    method: 'POST',
    url: `/api/v1/cases/${theCase.id}/evidence?name=big.bin&category=document`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: bytes,
  })
  t.equal(response.statusCode, 201)
  t.equal(response.json().mediaType, 'application/octet-stream', 'default media type')
})

/** A multipart/form-data body of `parts` (name, then text or a file), as a client's FormData encodes it. */
async function multipartOf(
  parts: ReadonlyArray<[string, string] | [string, Uint8Array, string]>,
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData()
  for (const [name, value, filename] of parts) {
    if (typeof value === 'string') form.append(name, value)
    else form.append(name, new Blob([value as Uint8Array<ArrayBuffer>]), filename)
  }
  const encoded = new Response(form)
  return { payload: Buffer.from(await encoded.arrayBuffer()), headers: { 'content-type': encoded.headers.get('content-type')! } }
}

const sha256 = (bytes: Uint8Array) => 'sha256:' + createHash('sha256').update(bytes).digest('hex')
const batchUrl = `/api/v1/cases/${theCase.id}/evidence/batch`
const listedIds = async () => (await ta.call({ method: 'GET', url: `/api/v1/cases/${theCase.id}/evidence` })).json().evidence.map((e: { id: string }) => e.id)

// spec: CW-LOC-056
t.test('a batch upload stores every item, in the order sent, each streamed, hashed and downloadable', async (t) => {
  const before = await listedIds()
  const photo = randomBytes(16 * 1024)
  const recording = randomBytes(3 * 65536 + 5) // several chunks
  const body = await multipartOf([
    ['metadata', JSON.stringify({ name: 'IMG_0001.jpg', category: 'photo', mediaType: 'image/jpeg', folderId: folder.id })],
    ['file', photo, 'IMG_0001.jpg'],
    ['metadata', JSON.stringify({ name: 'interview.wav', category: 'audio', doNotDisclose: true })],
    ['file', recording, 'interview.wav'],
    ['metadata', JSON.stringify({ name: 'empty.txt', category: 'document', mediaType: 'text/plain' })],
    ['file', new Uint8Array(0), 'empty.txt'],
  ])
  const response = await ta.call({ method: 'POST', url: batchUrl, ...body, token: ta.memberToken })
  t.equal(response.statusCode, 201, response.body.slice(0, 300))
  const evidence = response.json().evidence
  t.match(evidence, [
    { name: 'IMG_0001.jpg', category: 'photo', mediaType: 'image/jpeg', folderId: folder.id, size: photo.length, digest: sha256(photo), doNotDisclose: false },
    {
      name: 'interview.wav',
      category: 'audio',
      mediaType: 'application/octet-stream',
      folderId: null,
      size: recording.length,
      digest: sha256(recording),
      doNotDisclose: true,
    },
    { name: 'empty.txt', size: 0, digest: sha256(new Uint8Array(0)) },
  ])
  t.same(await listedIds(), [...before, ...evidence.map((e: { id: string }) => e.id)], 'listed after the earlier items, in the order sent')
  const download = await ta.call({ method: 'GET', url: `/api/v1/evidence/${evidence[1].id}/content`, token: ta.memberToken })
  t.ok(download.rawPayload.equals(recording), 'identical bytes')
  const audit = await ta.ctx.store.audit.list(theCase.id)
  t.same(
    audit
      .filter((entry) => entry.type === 'evidence.uploaded' && evidence.some((e: { id: string }) => e.id === entry.data['evidenceId']))
      .map((entry) => entry.actor),
    Array.from({ length: 3 }, () => ({ kind: 'user', id: 'det-smith' })),
    'each item on the audit trail, by its uploader',
  )
})

// spec: CW-LOC-056
t.test('a refused item stores no item of its batch, and the problem names the item', async (t) => {
  const before = await listedIds()
  const good = (name: string): Array<[string, string] | [string, Uint8Array, string]> => [
    ['metadata', JSON.stringify({ name, category: 'photo' })],
    ['file', randomBytes(1000), name],
  ]
  const cases: Array<{ name: string; parts: Array<[string, string] | [string, Uint8Array, string]>; status: number; code: string; at: string }> = [
    {
      name: 'a bad category in the second item',
      parts: [...good('a.jpg'), ['metadata', JSON.stringify({ name: 'b.jpg', category: 'Photo' })], ['file', randomBytes(10), 'b.jpg'], ...good('c.jpg')],
      status: 400,
      code: 'CW_ERR_BAD_REQUEST',
      at: '/1/category',
    },
    {
      name: 'an unknown metadata field',
      parts: [
        ['metadata', JSON.stringify({ name: 'a.jpg', category: 'photo', colour: 'red' })],
        ['file', randomBytes(10), 'a.jpg'],
      ],
      status: 400,
      code: 'CW_ERR_BAD_REQUEST',
      at: '/0/colour',
    },
    {
      name: 'metadata that is not JSON',
      parts: [...good('a.jpg'), ['metadata', '{name: b}'], ['file', randomBytes(10), 'b.jpg']],
      status: 400,
      code: 'CW_ERR_BAD_REQUEST',
      at: '/1',
    },
    { name: 'a file without metadata', parts: [...good('a.jpg'), ['file', randomBytes(10), 'b.jpg']], status: 400, code: 'CW_ERR_BAD_REQUEST', at: '/1' },
    {
      name: 'metadata without its file',
      parts: [...good('a.jpg'), ['metadata', JSON.stringify({ name: 'b.jpg', category: 'photo' })]],
      status: 400,
      code: 'CW_ERR_BAD_REQUEST',
      at: '/1',
    },
    {
      name: 'two metadata parts in a row',
      parts: [['metadata', JSON.stringify({ name: 'a.jpg', category: 'photo' })], ...good('b.jpg')],
      status: 400,
      code: 'CW_ERR_BAD_REQUEST',
      at: '/0',
    },
    {
      name: 'a folder of another case',
      parts: [...good('a.jpg'), ['metadata', JSON.stringify({ name: 'b.jpg', category: 'photo', folderId: 'elsewhere' })], ['file', randomBytes(10), 'b.jpg']],
      status: 400,
      code: 'CW_ERR_BAD_REQUEST',
      at: '/1/folderId',
    },
    {
      name: 'metadata over 4 KiB',
      parts: [
        ['metadata', JSON.stringify({ name: 'a.jpg', category: 'photo', mediaType: 'a/' + 'b'.repeat(5000) })],
        ['file', randomBytes(10), 'a.jpg'],
      ],
      status: 413,
      code: 'CW_ERR_TOO_LARGE',
      at: '/0',
    },
  ]
  for (const refused of cases) {
    const response = await ta.call({ method: 'POST', url: batchUrl, ...(await multipartOf(refused.parts)), token: ta.memberToken })
    t.equal(response.statusCode, refused.status, refused.name)
    t.match(response.json(), { code: refused.code, at: refused.at }, refused.name)
  }
  const empty = await ta.call({ method: 'POST', url: batchUrl, ...(await multipartOf([])) })
  t.match({ status: empty.statusCode, code: empty.json().code }, { status: 400, code: 'CW_ERR_BAD_REQUEST' }, 'a batch without items')
  const notMultipart = await ta.call({ method: 'POST', url: batchUrl, headers: { 'content-type': 'application/octet-stream' }, payload: randomBytes(10) })
  t.match(
    { status: notMultipart.statusCode, code: notMultipart.json().code },
    { status: 415, code: 'CW_ERR_UNSUPPORTED_MEDIA_TYPE' },
    'a body that is not multipart',
  )
  t.same(await listedIds(), before, 'nothing of any refused batch is stored')
})

// spec: CW-LOC-056
t.test(`a batch of more than 1000 items is refused, none stored`, async (t) => {
  const before = await listedIds()
  const parts: Array<[string, string] | [string, Uint8Array, string]> = []
  for (let index = 0; index <= 1000; index++)
    parts.push(['metadata', JSON.stringify({ name: `${index}.txt`, category: 'document' })], ['file', Buffer.from(String(index)), `${index}.txt`])
  const response = await ta.call({ method: 'POST', url: batchUrl, ...(await multipartOf(parts)) })
  t.equal(response.statusCode, 413)
  t.equal(response.json().code, 'CW_ERR_TOO_LARGE')
  t.same(await listedIds(), before)
})

// spec: CW-LOC-002, CW-LOC-056
t.test('a user who may not write the case gets the answer a missing case gets, and nothing is stored', async (t) => {
  const before = await listedIds()
  const outsider = (await createToken(ta.ctx, { userId: 'det-jones', role: 'member' })).token
  const body = await multipartOf([
    ['metadata', JSON.stringify({ name: 'a.jpg', category: 'photo' })],
    ['file', randomBytes(100), 'a.jpg'],
  ])
  const response = await ta.call({ method: 'POST', url: batchUrl, ...body, token: outsider })
  const missing = await ta.call({ method: 'POST', url: '/api/v1/cases/missing/evidence/batch', ...body, token: outsider })
  t.equal(response.statusCode, 404)
  t.same(response.json().code, missing.json().code)
  t.same(await listedIds(), before)
  t.equal((await ta.call({ method: 'POST', url: batchUrl, ...body, token: null })).statusCode, 401)
})

// spec: CW-LOC-056
t.test('in a batch, chunks too large to hold are stored as they arrive; small ones together; every byte comes back', async (t) => {
  const large = await createTestApp({ transfers: { chunkSize: 1024 * 1024 } })
  t.teardown(() => large.close())
  const owned = (await large.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Large chunks' } } })).json()
  const video = randomBytes(2 * 1024 * 1024 + 300 * 1024) // two 1 MiB chunks and a small tail
  const photos = [randomBytes(20_000), randomBytes(30_000)]
  const body = await multipartOf([
    ['metadata', JSON.stringify({ name: 'a.jpg', category: 'photo' })],
    ['file', photos[0]!, 'a.jpg'],
    ['metadata', JSON.stringify({ name: 'cam.mp4', category: 'video' })],
    ['file', video, 'cam.mp4'],
    ['metadata', JSON.stringify({ name: 'b.jpg', category: 'photo' })],
    ['file', photos[1]!, 'b.jpg'],
  ])
  const response = await large.call({ method: 'POST', url: `/api/v1/cases/${owned.id}/evidence/batch`, ...body })
  t.equal(response.statusCode, 201, response.body.slice(0, 300))
  const [first, second, third] = response.json().evidence
  for (const [stored, bytes] of [
    [first, photos[0]!],
    [second, video],
    [third, photos[1]!],
  ] as const) {
    const download = await large.call({ method: 'GET', url: `/api/v1/evidence/${stored.id}/content` })
    t.ok(download.rawPayload.equals(bytes), `${stored.name}: identical bytes`)
  }
})
