/**
 * Batch upload (CW-LOC-056) against a real node process over HTTP, as an integration engineer's
 * import would send it: `LocalClient.uploadEvidenceBatch` with one file read from disk as it is
 * sent (`fs.openAsBlob`) beside items in memory, then a batch with one bad item.
 */
import { createHash, randomBytes } from 'node:crypto'
import { openAsBlob } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { LocalApiError } from '../../../client/local_client.ts'
import { startOrg } from '../support/processes.ts'

const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD' })
const files = await mkdtemp(join(tmpdir(), 'caseway-batch-'))
t.teardown(() => rm(files, { recursive: true, force: true }))
const theCase = await metro.api.createCase({ caseNumber: 'B-1', title: 'Burglary series' })
const sha256 = (bytes: Uint8Array) => 'sha256:' + createHash('sha256').update(bytes).digest('hex')

// spec: CW-LOC-056
t.test('a batch of a file streamed from disk and photos in memory is stored, listed and downloaded', async (t) => {
  const video = randomBytes(9 * 1024 * 1024 + 11) // over two of the node's 4 MiB chunks
  const path = join(files, 'doorbell.mp4')
  await writeFile(path, video)
  const photos = [randomBytes(40_000), randomBytes(70_000)]
  const stored = await metro.api.uploadEvidenceBatch(theCase.id, [
    { metadata: { name: 'porch-1.jpg', category: 'photo', mediaType: 'image/jpeg' }, content: photos[0]! },
    { metadata: { name: 'doorbell.mp4', category: 'video', mediaType: 'video/mp4' }, content: await openAsBlob(path) },
    { metadata: { name: 'porch-2.jpg', category: 'photo', mediaType: 'image/jpeg' }, content: photos[1]! },
  ])
  t.same(
    stored.map((evidence) => [evidence.name, evidence.size, evidence.digest]),
    [
      ['porch-1.jpg', photos[0]!.length, sha256(photos[0]!)],
      ['doorbell.mp4', video.length, sha256(video)],
      ['porch-2.jpg', photos[1]!.length, sha256(photos[1]!)],
    ],
  )
  t.same(
    (await metro.api.listEvidence(theCase.id)).map((evidence) => evidence.id),
    stored.map((evidence) => evidence.id),
  )
  const download = await metro.api.downloadEvidence(stored[1]!.id)
  t.equal(download.digest, sha256(video), 'the file from disk comes back byte for byte')
})

// spec: CW-LOC-056
t.test('a batch with one bad item is refused whole, naming the item', async (t) => {
  const before = await metro.api.listEvidence(theCase.id)
  const refused = await metro.api
    .uploadEvidenceBatch(theCase.id, [
      { metadata: { name: 'ok.jpg', category: 'photo' }, content: randomBytes(1000) },
      { metadata: { name: '../escape.jpg', category: 'photo' }, content: randomBytes(1000) },
    ])
    .then(
      () => undefined,
      (error: unknown) => error,
    )
  t.ok(refused instanceof LocalApiError)
  t.match((refused as LocalApiError).problem, { status: 400, code: 'CW_ERR_BAD_REQUEST', at: '/1/name' })
  t.same(await metro.api.listEvidence(theCase.id), before, 'nothing of the batch is stored')
})
