/**
 * The sender's side of a share's progress and retry state (SPEC.md CW-LOC-030, CW-LOC-031),
 * on a node with real stores, a real federation listener and its real job runner: chunks
 * count as the partner fetches them (whole, once each), and a failed offer reads `retrying`
 * while the job will run again and `failed` once it is dead.
 */
import t from 'tap'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { evidence, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { JOB } from '../../src/jobs/kinds.ts'
import { newJobRecord } from '../../src/jobs/new_job_record.ts'
import { describeShare, neededChunks } from '../../src/sending/share_view.ts'
import { startTestNode } from '../support/federation_node.ts'
import { rawRequest, type RawResponse } from '../support/mtls.ts'
import { storeOutbound } from '../support/outbound.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]
// bravo's endpoint is a port nothing listens on: every offer to it fails.
const node = await startTestNode(t, alpha, { runJobs: true })
await node.addPartner(bravo)

function get(shareId: string, digest: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const tls = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  return rawRequest(`${node.url}/federation/v1/shares/${encodeURIComponent(shareId)}/chunks/${encodeURIComponent(digest)}`, tls, { headers })
}

async function progressOf(shareId: string) {
  const share = await node.store.outboundShares.get(shareId)
  return (await describeShare(node.ctx, share!)).progress
}

// spec: CW-LOC-031
t.test('a chunk counts once the partner fetched it to its last byte, and only once', async (t) => {
  const video = await evidence('ev-video', 150_000)
  const signed = await signedManifest(alpha, 'bravo', { items: [video.item] })
  const share = await storeOutbound(node.store, node.blobs, signed, [video])
  t.same(await progressOf(share.id), { phase: 'offering', chunksDone: 0, chunksTotal: 0, bytesDone: 0, bytesTotal: 0 }, 'no answer yet')

  // What the offer job records from the partner's answer: it asked for every chunk.
  await node.store.outboundShares.startTransfer(share.id, 1, neededChunks(signed.manifest.evidence, video.item.chunks))
  const [first, second] = video.item.chunks as [string, string, string]
  t.same(await progressOf(share.id), { phase: 'transferring', chunksDone: 0, chunksTotal: 3, bytesDone: 0, bytesTotal: 150_000 })

  t.equal((await get(share.id, first, { range: 'bytes=0-99' })).status, 206)
  t.equal((await get(share.id, first)).status, 200)
  t.equal((await get(share.id, first)).status, 200, 'fetched a second time')
  t.equal((await get(share.id, second, { range: 'bytes=1000-' })).status, 206, 'the rest of a chunk, to its end')
  const counted = await waitFor('two chunks counted', async () => {
    const progress = await progressOf(share.id)
    return progress.chunksDone === 2 ? progress : undefined
  })
  t.same(counted, { phase: 'transferring', chunksDone: 2, chunksTotal: 3, bytesDone: 2 * 65_536, bytesTotal: 150_000 }, 'two whole chunks, each once')

  await get(share.id, video.item.chunks[2]!)
  const all = await waitFor('all counted', async () => {
    const progress = await progressOf(share.id)
    return progress.chunksDone === 3 ? progress : undefined
  })
  t.same(all, { phase: 'awaiting-receipt', chunksDone: 3, chunksTotal: 3, bytesDone: 150_000, bytesTotal: 150_000 })
})

// spec: CW-LOC-030
t.test('a failed offer reads retrying while its job will run again, failed once the job is dead', async (t) => {
  const item = await evidence('ev-doc', 1000)
  const retried = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [item.item] }), [item])
  await node.ctx.transaction((tx) => node.ctx.jobs.enqueue(tx, JOB.offer, retried.id, { revision: 1 }))
  const retrying = await waitFor('retrying', async () => {
    const share = await describeShare(node.ctx, (await node.store.outboundShares.get(retried.id))!)
    return share.status === 'retrying' ? share : undefined
  })
  t.not(retrying.statusDetail, null, 'with the last error')
  t.ok(retrying.nextAttemptAt !== null, 'and when the next attempt is due')
  t.equal((await node.store.outboundShares.get(retried.id))!.status, 'failed', 'stored as the last attempt failed')

  // An offer job on its last attempt (the node's maxAttempts is 50).
  const last = await storeOutbound(node.store, node.blobs, await signedManifest(alpha, 'bravo', { items: [item.item] }), [item])
  const now = Math.floor(Date.now() / 1000)
  await node.store.jobs.enqueue({ ...newJobRecord(JOB.offer, last.id, { revision: 1 }, now), attempts: 49 })
  const failed = await waitFor('failed', async () => {
    const share = await describeShare(node.ctx, (await node.store.outboundShares.get(last.id))!)
    return share.status === 'failed' ? share : undefined
  })
  t.equal(failed.nextAttemptAt, null, 'no attempt is coming')
  t.not(failed.statusDetail, null, 'the last error stays')
  t.same(
    (await node.store.jobs.list(last.id)).map((job) => job.state),
    ['dead'],
    'because its job is dead',
  )
})
