/**
 * Two nodes in one process, each with its federation listener, peer client and job runner:
 * a share made on the sender travels as SPEC.md §16 describes — offer, chunk pulls, receipt —
 * and ends delivered on the sender with verified evidence on the receiver. Then the faults:
 * a chunk served wrong once, an item whose bytes do not match its digest.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { digestBytes } from '#protocol'
import type { BlobPut, BlobStore, ByteRange } from '../../src/store/blob_store.ts'
import type { PooledBuffers } from '../../src/store/pooled_buffers.ts'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { getExternalCase, openExternalEvidence } from '../../src/receiving/external_cases.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { CHUNK_SIZE, evidence, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { partnerRecordOf, startTestNode, type TestNode, type TestNodeOptions } from '../support/federation_node.ts'
import { storeOutbound } from '../support/outbound.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]
/** A user of the receiving agency: the shares name the entire agency (the default recipients). */
const reader = { userId: 'reader', role: 'member' as const, groups: [] }

/** The sender's blob store, counting what it serves, and serving one chunk wrong the first time if told to. */
class ServingBlobs implements BlobStore {
  readonly inner: BlobStore
  readonly served = new Map<string, number>()
  /** Served with one byte flipped, once. */
  corruptOnce: string | undefined

  constructor(inner: BlobStore) {
    this.inner = inner
  }

  has(digest: string) {
    return this.inner.has(digest)
  }
  size(digest: string) {
    return this.inner.size(digest)
  }
  put(digest: string, source: AsyncIterable<Uint8Array> | Uint8Array, options?: { maxBytes?: number }) {
    return this.inner.put(digest, source, options)
  }
  putBatch(blobs: readonly BlobPut[]) {
    return this.inner.putBatch(blobs)
  }
  check() {
    return this.inner.check()
  }
  list() {
    return this.inner.list()
  }
  delete(digest: string, options?: { unmodifiedSince?: Date }) {
    return this.inner.delete(digest, options)
  }
  async get(digest: string, range?: ByteRange, options?: { buffers?: PooledBuffers }): Promise<Readable> {
    this.served.set(digest, (this.served.get(digest) ?? 0) + 1)
    if (digest !== this.corruptOnce) return this.inner.get(digest, range, options)
    this.corruptOnce = undefined
    const parts: Buffer[] = []
    for await (const part of await this.inner.get(digest, range)) parts.push(part as Buffer)
    const bytes = Buffer.concat(parts)
    bytes[0] = bytes[0]! ^ 0xff
    return Readable.from([bytes])
  }
}

interface Pair {
  sender: TestNode
  receiver: TestNode
  served: ServingBlobs
  caseId: string
}

/** alpha (sender) and bravo (receiver), partners of each other, jobs running; alpha shares with bravo under a wide policy. */
async function pair(t: Test): Promise<Pair> {
  let served: ServingBlobs | undefined
  const senderOptions: TestNodeOptions = { runJobs: true, wrapBlobs: (blobs) => (served = new ServingBlobs(blobs)) }
  const [sender, receiver] = await Promise.all([startTestNode(t, alpha, senderOptions), startTestNode(t, bravo, { runJobs: true })])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  const policy = await createPolicy(sender.ctx, testPolicy(FEDERATION))
  await assignPolicy(sender.ctx, 'bravo', policy.id)
  const created = await createCase(sender.ctx, { fields: { title: 'Burglary at 12 Elm St', summary: 'Back door forced' } })
  return { sender, receiver, served: served!, caseId: created.id }
}

async function upload(node: TestNode, caseId: string, name: string, bytes: Buffer, category = 'photo') {
  return uploadEvidence(node.ctx, caseId, { name, category, mediaType: 'application/octet-stream' }, Readable.from([bytes]))
}

async function sha256(stream: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of stream) hash.update(piece as Uint8Array)
  return `sha256:${hash.digest('hex')}`
}

/** Waits until the sender's share has left processing, and returns it. */
function settled(sender: TestNode, shareId: string) {
  return waitFor(
    `share ${shareId} to settle`,
    async () => {
      const share = await sender.store.outboundShares.get(shareId)
      return share?.status === 'delivered' || share?.status === 'rejected' ? share : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
}

// spec: CW-FED-003, CW-FED-007, CW-FED-008, CW-REC-002, CW-REC-003, CW-FMT-003
t.test('a multi-chunk share travels end to end: delivered on the sender, verified on the receiver', async (t) => {
  const { sender, receiver, served, caseId } = await pair(t)
  const big = randomBytes(5 * CHUNK_SIZE + 1234)
  const exact = randomBytes(2 * CHUNK_SIZE)
  const items = [
    await upload(sender, caseId, 'big.bin', big),
    await upload(sender, caseId, 'exact.bin', exact, 'video'),
    await upload(sender, caseId, 'exact-copy.bin', exact, 'document'),
    await upload(sender, caseId, 'empty.txt', Buffer.alloc(0), 'document'),
  ]
  const { share, revision } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'case', createdBy: 'tester' })

  const done = await settled(sender, share.id)
  t.equal(done.status, 'delivered')
  t.equal(done.statusCode, null)

  const inbound = await receiver.store.inboundShares.find('alpha', share.id)
  t.equal(inbound?.status, 'complete')
  t.equal(inbound?.manifestDigest, revision.manifestDigest)
  t.equal((await sender.store.outboundShares.getRevision(share.id, 1))?.receiptJws, inbound?.receiptJws, "the sender holds the receiver's receipt")

  // Every item reads back on the receiver with its original digest.
  const external = await getExternalCase(receiver.ctx, reader, inbound!.id)
  t.equal(external.sender.org, 'alpha')
  t.equal(external.evidence?.length, items.length)
  for (const item of items) {
    const { stream } = await openExternalEvidence(receiver.ctx, reader, inbound!.id, item.id)
    t.equal(await sha256(stream), item.digest, item.name)
  }
  t.equal(items[0]!.digest, digestBytes(big))

  // Each distinct chunk crossed once: identical content is stored and pulled once.
  const distinct = new Set(items.flatMap((item) => item.chunks))
  t.equal(distinct.size, 6 + 2)
  t.same([...served.served.keys()].sort(), [...distinct].sort())
  t.ok([...served.served.values()].every((count) => count === 1))
})

// spec: CW-FED-007, CW-FMT-003, CW-POS-003
t.test('chunks this sender delivered before are not pulled again; chunks held from elsewhere are', async (t) => {
  const { sender, receiver, served, caseId } = await pair(t)
  const bytes = randomBytes(4 * CHUNK_SIZE)
  const item = await upload(sender, caseId, 'scan.bin', bytes)
  const original = (digest: string) => bytes.subarray(item.chunks.indexOf(digest) * CHUNK_SIZE, (item.chunks.indexOf(digest) + 1) * CHUNK_SIZE)
  // The receiver holds two of the four chunks from alpha already (an interrupted earlier pull)…
  for (const digest of item.chunks.slice(0, 2)) {
    await receiver.blobs.put(digest, original(digest))
    await receiver.store.chunks.recordDelivered('alpha', digest, 1)
  }
  // …and a third from somewhere else (a local upload, another partner): alpha must deliver it.
  await receiver.blobs.put(item.chunks[2]!, original(item.chunks[2]!))
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'case', createdBy: 'tester' })
  t.equal((await settled(sender, share.id)).status, 'delivered')
  t.same([...served.served.keys()].sort(), item.chunks.slice(2).sort())
  t.same(await receiver.store.chunks.delivered('alpha', item.chunks), new Set(item.chunks), 'every chunk is now on record as delivered by alpha')
})

// spec: CW-FED-007, CW-FED-008
t.test('a chunk served wrong once is discarded, fetched again, and the share still completes', async (t) => {
  const { sender, receiver, served, caseId } = await pair(t)
  const bytes = randomBytes(4 * CHUNK_SIZE + 10)
  const item = await upload(sender, caseId, 'cctv.bin', bytes, 'video')
  const victim = item.chunks[1]!
  served.corruptOnce = victim
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'case', createdBy: 'tester' })

  t.equal((await settled(sender, share.id)).status, 'delivered')
  t.equal(served.served.get(victim), 2, 'the bad chunk was fetched twice')
  t.ok(
    item.chunks.filter((d) => d !== victim).every((d) => served.served.get(d) === 1),
    'the good ones once',
  )
  const inbound = (await receiver.store.inboundShares.find('alpha', share.id))!
  t.equal(inbound.status, 'complete')
  const { stream } = await openExternalEvidence(receiver.ctx, reader, inbound.id, item.id)
  t.equal(await sha256(stream), item.digest)
  const fetches = await receiver.store.jobs.list(inbound.id)
  t.match(
    fetches.find((job) => job.kind === 'fetch'),
    { state: 'done', attempts: 2 },
    'the pull failed once, then succeeded',
  )
})

// spec: CW-FED-008, CW-REC-001
t.test('an item whose chunks do not make up its digest is answered with a rejected receipt', async (t) => {
  const { sender, receiver, caseId } = await pair(t)
  const good = await upload(sender, caseId, 'photo.jpg', randomBytes(CHUNK_SIZE + 5))
  // The same chunks under a digest they do not hash to, as a faulty sender might record them.
  const lying = { ...good, id: 'ev-lying', name: 'lying.jpg', digest: digestBytes('something else') }
  await sender.store.cases.insertEvidence(lying)
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'evidence', evidenceIds: [lying.id], createdBy: 'tester' })

  const done = await settled(sender, share.id)
  t.equal(done.status, 'rejected')
  t.equal(done.statusCode, 'CW_ERR_CHUNK_DIGEST_MISMATCH')
  t.match(done.statusDetail, /ev-lying/)
  const inbound = (await receiver.store.inboundShares.find('alpha', share.id))!
  t.equal(inbound.status, 'rejected')
  t.equal((await sender.store.outboundShares.getRevision(share.id, 1))?.receiptJws, inbound.receiptJws)
})

// spec: CW-FED-001, CW-POL-003
t.test("an offer the partner refuses marks the share rejected with the partner's problem, and stops", async (t) => {
  const { sender } = await pair(t)
  // A manifest no honest sender builds (the policy excludes audio), stored as outbound.ts would store one.
  const audio = await evidence('ev-audio', 1000, { category: 'audio' })
  const signed = await signedManifest(alpha, 'bravo', { items: [audio.item] })
  await storeOutbound(sender.store, sender.blobs, signed, [audio])
  await sender.ctx.transaction((tx) => sender.ctx.jobs.enqueue(tx, 'offer', signed.manifest.share.id, { revision: 1 }))

  const done = await settled(sender, signed.manifest.share.id)
  t.match(done, { status: 'rejected', statusCode: 'CW_ERR_POLICY_VIOLATION' })
  const jobs = await waitFor(
    'condition',
    async () => {
      const list = await sender.store.jobs.list(signed.manifest.share.id)
      return list.every((job) => job.state === 'dead') ? list : undefined
    },
    { timeoutMs: 10_000, intervalMs: 25 },
  )
  t.match(jobs, [{ kind: 'offer', state: 'dead', attempts: 1 }], 'not retried')
})

// spec: CW-FED-008
t.test('an unreachable partner leaves the share failed and the offer retrying', async (t) => {
  const { sender, caseId } = await pair(t)
  // bravo's endpoint now points at a port nothing listens on.
  await sender.store.partners.upsert({ ...partnerRecordOf(bravo, 'https://127.0.0.1:9'), policyId: 'policy-wide', policyVersion: 1 })
  await upload(sender, caseId, 'note.txt', randomBytes(100), 'document')
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'case', createdBy: 'tester' })

  const failed = await waitFor(
    'condition',
    async () => {
      const current = await sender.store.outboundShares.get(share.id)
      return current?.status === 'failed' ? current : undefined
    },
    { timeoutMs: 10_000, intervalMs: 25 },
  )
  t.match(failed, { status: 'failed', statusCode: /ECONNREFUSED/ })
  // The offer job marks the share failed, then throws; the runner records the job's error just
  // after: wait for it rather than read it in between (on a busy machine the read came first).
  const job = await waitFor(
    'the offer job to record its error',
    async () => (await sender.store.jobs.list(share.id)).find((one) => one.kind === 'offer' && one.lastError !== null),
    { timeoutMs: 10_000, intervalMs: 25 },
  )
  t.match(job, { kind: 'offer', state: /pending|running/, lastError: /ECONNREFUSED/ })
})
