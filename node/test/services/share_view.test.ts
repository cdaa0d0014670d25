/**
 * What the local API reports of a share on its way, from the records it is read from (SPEC.md
 * CW-LOC-030, CW-LOC-031): status from the stored status and the live job, phase and counts
 * from the transfer, chunk sizes from the manifest.
 */
import t from 'tap'
import { newJobRecord } from '../../src/jobs/new_job_record.ts'
import { JOB } from '../../src/jobs/kinds.ts'
import { neededChunks, reportedStatus, sendingProgress } from '../../src/sending/share_view.ts'
import { receivingProgress, reportedFetchStatus } from '../../src/receiving/external_cases.ts'
import { chunkSizes, type ChunkedItem } from '../../src/transfer_progress.ts'
import type { JobRecord, OutboundTransferRecord } from '../../src/store/metadata_store.ts'

const T0 = 1_700_000_000
const digest = (n: number) => `sha256:${String(n).padStart(64, '0')}`
const job = (kind: string, changes: Partial<JobRecord> = {}): JobRecord => ({ ...newJobRecord(kind as typeof JOB.offer, 'ref', {}, T0), ...changes })
const transfer = (chunksDone: number, bytesDone: number): OutboundTransferRecord => ({
  shareId: 's',
  revision: 1,
  chunksTotal: 3,
  bytesTotal: 300,
  chunksDone,
  bytesDone,
})

// spec: CW-LOC-030
t.test('a failed attempt is retrying while the offer job is live, failed once it is not', async (t) => {
  t.same(reportedStatus('failed', job(JOB.offer, { runAt: T0 + 30, lastError: 'PEER_UNREACHABLE: down' })), { status: 'retrying', nextAttemptAt: T0 + 30 })
  t.same(reportedStatus('failed', job(JOB.offer, { state: 'running' })), { status: 'retrying', nextAttemptAt: T0 }, 'an attempt running now')
  t.same(reportedStatus('failed', undefined), { status: 'failed', nextAttemptAt: null }, 'no job will try again')
  for (const status of ['processing', 'delivered', 'rejected', 'revoked', 'expired'] as const) {
    t.same(reportedStatus(status, job(JOB.offer)), { status, nextAttemptAt: null }, status)
  }
})

// spec: CW-LOC-030
t.test('an external case being received is retrying after a failed fetch, failed when its fetch job is dead', async (t) => {
  t.same(reportedFetchStatus([job(JOB.fetch)], null), { status: 'receiving', statusDetail: null, nextAttemptAt: null }, 'first attempt')
  t.same(reportedFetchStatus([job(JOB.fetch, { lastError: 'E: down', runAt: T0 + 5 })], null), {
    status: 'retrying',
    statusDetail: 'E: down',
    nextAttemptAt: T0 + 5,
  })
  t.same(
    reportedFetchStatus([job(JOB.fetch, { lastError: 'E: down', state: 'running' })], null),
    { status: 'receiving', statusDetail: null, nextAttemptAt: null },
    'trying again now',
  )
  t.same(reportedFetchStatus([job(JOB.receipt), job(JOB.fetch, { state: 'dead', lastError: 'E: gone' })], null), {
    status: 'failed',
    statusDetail: 'E: gone',
    nextAttemptAt: null,
  })
  t.same(
    reportedFetchStatus([job(JOB.fetch, { state: 'dead' }), job(JOB.fetch, { lastError: 'E', runAt: T0 })], null).status,
    'retrying',
    'a new job took over',
  )
})

// spec: CW-LOC-031
t.test('the sending phase follows the offer answer, the chunks served and the receipt', async (t) => {
  t.same(sendingProgress('processing', undefined), { phase: 'offering', chunksDone: 0, chunksTotal: 0, bytesDone: 0, bytesTotal: 0 })
  t.same(sendingProgress('processing', transfer(1, 100)), { phase: 'transferring', chunksDone: 1, chunksTotal: 3, bytesDone: 100, bytesTotal: 300 })
  t.same(sendingProgress('processing', transfer(3, 300)).phase, 'awaiting-receipt')
  t.same(
    sendingProgress('delivered', transfer(2, 200)),
    { phase: 'done', chunksDone: 3, chunksTotal: 3, bytesDone: 300, bytesTotal: 300 },
    'the receipt says it has all',
  )
})

// spec: CW-LOC-031
t.test('chunk sizes come from the manifest: whole chunks, then what is left', async (t) => {
  const C = 65_536 as const
  const items: ChunkedItem[] = [
    { size: 2 * C + 50, chunkSize: C, chunks: [digest(1), digest(2), digest(3)] },
    { size: C, chunkSize: C, chunks: [digest(1)] },
    { size: 0, chunkSize: C, chunks: [] },
  ]
  const total = 2 * C + 50
  t.same(
    [...chunkSizes(items)],
    [
      [digest(1), C],
      [digest(2), C],
      [digest(3), 50],
    ],
  )
  t.same(neededChunks(items, [digest(3), digest(3), digest(9)]), [{ digest: digest(3), size: 50 }], 'once each, only chunks of the manifest')
  t.same(receivingProgress('receiving', items, new Set([digest(3)])), {
    phase: 'transferring',
    chunksDone: 1,
    chunksTotal: 3,
    bytesDone: 50,
    bytesTotal: total,
  })
  t.same(receivingProgress('receiving', items, new Set([digest(1), digest(2), digest(3)])).phase, 'verifying', 'all stored, not yet verified')
  t.same(receivingProgress('complete', items, undefined), { phase: 'done', chunksDone: 3, chunksTotal: 3, bytesDone: total, bytesTotal: total })
})

t.test('chunk sizes are computed once for a frozen evidence list, afresh for one that may change', async (t) => {
  const items: ChunkedItem[] = [{ size: 10, chunkSize: 65_536, chunks: [digest(1)] }]
  const open = chunkSizes(items)
  items.push({ size: 20, chunkSize: 65_536, chunks: [digest(2)] })
  t.not(chunkSizes(items), open, 'not frozen: computed again')
  t.same(
    [...chunkSizes(items)],
    [
      [digest(1), 10],
      [digest(2), 20],
    ],
  )
  // As a shared manifest's: frozen all the way down.
  const frozen: readonly ChunkedItem[] = Object.freeze(items.map((item) => Object.freeze({ ...item, chunks: Object.freeze([...item.chunks]) as string[] })))
  t.equal(chunkSizes(frozen), chunkSizes(frozen), 'frozen: the same sizes each time')
})
