/**
 * Nothing lost when the receiver crashes: a 512 MiB file is being pulled by county-da when its
 * process is killed (SIGKILL). Restarted, it shows no evidence as complete before the transfer
 * has finished, fetches only the chunks it lacked, and delivers; metro-pd shows the share
 * delivered, and the bytes county-da serves are the bytes metro-pd was given.
 */
import t from 'tap'
import { LocalApiError } from '../../../client/local_client.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { largeShare } from '../support/large_share.ts'
import { blobFiles, chunkRequests } from '../support/processes.ts'

const MiB = 1 << 20
const SIZE = 512 * MiB
const CHUNK_SIZE = 4_194_304
const PARALLEL = 2

// spec: CW-FED-007, CW-FED-008, CW-FED-003, CW-REC-001, CW-POS-005
t.test('a receiver killed mid-transfer resumes where it stopped and delivers', async (t) => {
  const started = Date.now()
  const { metro, county, evidence, expectedDigest, chunkCount, share } = await largeShare(t, { size: SIZE, chunkSize: CHUNK_SIZE, parallelChunks: PARALLEL })
  t.equal(evidence.digest, expectedDigest, 'metro-pd stored the 512 MiB file with the digest of the bytes sent')
  t.comment(`set-up (two nodes, 512 MiB upload, share) took ${Date.now() - started} ms`)

  // While the first chunks arrive: the external case is receiving and its evidence cannot be downloaded.
  const external = await waitFor('the external case on county-da', async () => (await county.api.listExternalCases()).find((c) => c.shareId === share.id), {
    timeoutMs: 20_000,
    intervalMs: 20,
  })
  const partial = await waitFor(
    'some chunks on county-da',
    async () => {
      const stored = await blobFiles(county.node)
      return stored.size >= 8 ? stored : undefined
    },
    { timeoutMs: 20_000, intervalMs: 20 },
  )
  await county.kill()
  const beforeRestart = await blobFiles(county.node)
  t.comment(`county-da killed holding ${beforeRestart.size} of ${chunkCount} chunks`)
  t.ok(beforeRestart.size >= partial.size, 'nothing stored was lost')
  t.ok(beforeRestart.size < chunkCount, 'killed before the transfer finished')

  // Restart county-da with metro-pd frozen, so that the transfer cannot finish while we look.
  metro.pause()
  try {
    await county.start()
    const summary = (await county.api.listExternalCases()).find((c) => c.id === external.id)
    t.equal(summary?.status, 'receiving', 'after the restart the external case is still receiving')
    const refused = await county.api.downloadExternalEvidence(external.id, evidence.id).then(
      () => undefined,
      (error: unknown) => error,
    )
    t.ok(refused instanceof LocalApiError, 'its evidence is not downloadable')
    t.equal((refused as LocalApiError).code, 'CW_ERR_CONFLICT')
  } finally {
    metro.resume()
  }
  t.comment(`restarted; ${Date.now() - started} ms`)

  const delivered = await waitFor(
    'metro-pd to show the share delivered',
    async (seen) => {
      const current = await metro.api.getShare(share.id)
      seen(current.status)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs: 40_000, intervalMs: 200 },
  )
  t.equal(delivered.status, 'delivered')
  t.comment(`delivered; ${Date.now() - started} ms`)
  const complete = await county.api.getExternalCase(external.id)
  t.equal(complete.status, 'complete')

  const after = await blobFiles(county.node)
  t.equal(after.size, chunkCount, 'every chunk is stored once')
  let rewritten = 0
  // Written again = a new file renamed over it (another inode). A chunk pulled once more (below)
  // is verified and only has its time refreshed (the blob collector's grace, CW-LOC-043).
  for (const [digest, file] of beforeRestart) {
    const now = after.get(digest)
    if (now === undefined || now.ino !== file.ino) rewritten += 1
  }
  t.equal(rewritten, 0, 'the chunks stored before the crash were not written again')
  // The blob store never replaces a stored blob, so the decisive check is the sender's request log.
  const requests = chunkRequests(await metro.logs(), share.id)
  const refetched = [...beforeRestart.keys()].filter((digest) => (requests.get(digest) ?? 0) !== 1)
  // CW-POS-005 (issue 11): a chunk whose bytes were stored but whose delivery by metro-pd was not
  // recorded yet when county-da died is pulled once more — at most one per pull in flight. Held
  // bytes alone never stand for a delivery (CW-POS-003). Before, this said: exactly once, each.
  t.ok(
    refetched.length <= PARALLEL && refetched.every((digest) => requests.get(digest) === 2),
    `metro-pd served each chunk county-da held before the crash once, or twice for at most ${PARALLEL} in flight (${refetched.length})`,
  )
  const total = [...requests.values()].reduce((sum, count) => sum + count, 0)
  t.ok(total <= chunkCount + PARALLEL, `chunk requests ${total} ≤ ${chunkCount} chunks + ${PARALLEL} interrupted`)

  const download = await county.api.downloadExternalEvidence(external.id, evidence.id)
  t.equal(download.size, SIZE)
  t.equal(download.digest, expectedDigest, 'county-da serves exactly the bytes metro-pd was given')
  t.comment(`whole test ${Date.now() - started} ms`)
})
