/**
 * Nothing lost when the sender crashes: metro-pd's process is killed (SIGKILL) while county-da
 * pulls a 512 MiB file. county-da keeps what it has, retries with back-off, shows nothing as
 * complete meanwhile, and finishes once metro-pd is back, without fetching again what it held
 * (but for a chunk in flight as it died).
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

// spec: CW-FED-007, CW-FED-008, CW-FED-009, CW-REC-001
t.test('a sender killed mid-transfer: the receiver retries and completes after the restart', async (t) => {
  const started = Date.now()
  const { metro, county, evidence, expectedDigest, chunkCount, share } = await largeShare(t, { size: SIZE, chunkSize: CHUNK_SIZE, parallelChunks: PARALLEL })
  t.equal(evidence.digest, expectedDigest)
  t.comment(`set-up (two nodes, 512 MiB upload, share) took ${Date.now() - started} ms`)

  const external = await waitFor('the external case on county-da', async () => (await county.api.listExternalCases()).find((c) => c.shareId === share.id), {
    timeoutMs: 20_000,
    intervalMs: 20,
  })
  await waitFor('some chunks on county-da', async () => ((await blobFiles(county.node)).size >= 8 ? true : undefined), { timeoutMs: 20_000, intervalMs: 20 })
  const killedAt = Date.now()
  await metro.kill()
  // What county-da holds once the requests in flight have failed.
  const held = await waitFor(
    'county-da to notice the sender is gone',
    async () => {
      const failed = (await county.logs()).some((line) => typeof line['retryInMs'] === 'number' && Number(line['time']) >= killedAt)
      return failed ? blobFiles(county.node) : undefined
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  )
  t.comment(`metro-pd killed; county-da holds ${held.size} of ${chunkCount} chunks and retries`)
  t.ok(held.size > 0 && held.size < chunkCount, 'killed mid-transfer')

  const summary = (await county.api.listExternalCases()).find((c) => c.id === external.id)
  t.match(summary?.status, /^(receiving|retrying)$/, 'while the sender is away the external case is receiving, or retrying its fetch (CW-LOC-030)')
  const refused = await county.api.downloadExternalEvidence(external.id, evidence.id).then(
    () => undefined,
    (error: unknown) => error,
  )
  t.ok(refused instanceof LocalApiError, 'its evidence is not downloadable')
  t.equal((refused as LocalApiError).code, 'CW_ERR_CONFLICT')
  t.equal((await blobFiles(county.node)).size, held.size, 'no chunk arrives while the sender is down')

  const restartedAt = Date.now()
  await metro.start()
  const delivered = await waitFor(
    'metro-pd to show the share delivered',
    async (seen) => {
      const current = await metro.api.getShare(share.id)
      seen(`${current.status} ${current.statusCode ?? ''}`)
      return current.status === 'delivered' ? current : undefined
    },
    { timeoutMs: 40_000, intervalMs: 200 },
  )
  t.equal(delivered.status, 'delivered', 'the receipt reached the restarted sender')
  t.equal((await county.api.getExternalCase(external.id)).status, 'complete')

  const after = await blobFiles(county.node)
  t.equal(after.size, chunkCount)
  // Written again = a new file renamed over it (another inode); a re-put only refreshes the time.
  const rewritten = [...held].filter(([digest, file]) => after.get(digest)?.ino !== file.ino)
  t.same(rewritten, [], 'the chunks held during the outage were not written again')
  // The decisive check is the restarted sender's request log (the killed process may have lost
  // its last lines: SIGKILL does not wait for the log to be written). A chunk whose bytes
  // county-da stored as the sender died, before it recorded the delivery, is pulled once more
  // (CW-POS-005) — at most one per pull in flight.
  const logs = await metro.logs()
  const afterRestart = chunkRequests(
    logs.filter((line) => Number(line['time']) >= restartedAt),
    share.id,
  )
  const refetched = [...held.keys()].filter((digest) => afterRestart.has(digest))
  t.ok(refetched.length <= PARALLEL, `the restarted sender served again at most ${PARALLEL} of the chunks county-da held (${refetched.length})`)
  const served = new Set([...chunkRequests(logs, share.id).keys(), ...held.keys()])
  t.equal(served.size, chunkCount, 'every chunk was served')

  const download = await county.api.downloadExternalEvidence(external.id, evidence.id)
  t.equal(download.size, SIZE)
  t.equal(download.digest, expectedDigest)
  t.comment(`whole test ${Date.now() - started} ms`)
})
