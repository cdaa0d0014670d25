/**
 * The receiver keeps its blobs in S3: two node processes over real mutual TLS on 127.0.0.1, the
 * receiver's `storage.blobs` an S3 bucket on a real S3 protocol server (s3rver, started here).
 * A share is delivered, the receiver's chunks are objects in the bucket (none left under tmp/),
 * and a download from the receiver hashes to the manifest's digest, byte for byte the sender's.
 */
import t from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { startOrg } from '../support/processes.ts'
import { deliverVideoShare } from '../support/video_share.ts'
import { S3RVER_SECRET_KEY, s3BlobSettings, startS3Server } from '../support/s3_server.ts'

const CHUNK = 262_144
const transfers = { chunkSize: CHUNK as 262_144, retryBaseMs: 100, retryMaxMs: 1000 }

// spec: CW-FED-007, CW-FED-008, CW-REC-001
t.test('a share is delivered to a node whose blobs are in S3, and downloads to its digest', async (t) => {
  const s3 = await startS3Server(t)
  const blobs = s3BlobSettings(s3, 'county-da/')
  const [metro, county] = await Promise.all([
    startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } }),
    startOrg(t, { org: 'county-da', name: 'County DA', settings: { transfers, storage: { blobs } } }),
  ])
  const size = 3 * CHUNK + 12_345
  const video = await deliverVideoShare(metro, county, { caseNumber: 'MPD-7', name: 'cctv.mp4', size })

  const [summary] = await county.api.listExternalCases()
  const external = await county.api.getExternalCase(summary!.id)
  t.equal(external.status, 'complete')
  const [item] = external.evidence
  t.equal(item?.digest, video.digest, "the sender's digest")
  const download = await county.api.downloadExternalEvidence(external.id, item!.id, { keepBytes: true })
  t.equal(download.digest, video.digest, 'the SHA-256 of the download is the manifest digest')
  const expected: Uint8Array[] = []
  for await (const part of generatedContent(size, 'cctv')) expected.push(part)
  t.ok(download.bytes!.equals(Buffer.concat(expected)), "the receiver serves the sender's bytes out of S3")

  const keys = await s3.keys()
  t.equal(keys.filter((key) => key.startsWith('county-da/sha256/')).length, Math.ceil(size / CHUNK), 'one object per chunk, under the prefix')
  t.same(
    keys.filter((key) => !key.startsWith('county-da/sha256/')),
    [],
    'no temporary object left, nothing outside the prefix',
  )
  const logs = JSON.stringify(await county.logs())
  t.notMatch(logs, S3RVER_SECRET_KEY, 'the S3 credentials are not in the log')
})
