import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import { piecesOf } from '../../support/fixtures.ts'
import { createTestApp } from '../../support/local_app.ts'
import { waitFor } from '../../../../testkit/wait.ts'

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
