/**
 * Request logging sized for operations: a transfer of many chunks writes each chunk pull at
 * debug only, and one info line per transfer on each side — `chunks served` on the sender when
 * the receipt is recorded, `chunks stored` on the receiver — for the first revision and for a
 * later one held pending alike.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { pino } from 'pino'
import { createCase } from '../../src/cases/cases.ts'
import type { BlobStore } from '../../src/store/blob_store.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { updateShare } from '../../src/sending/revisions.ts'
import { ServedTally } from '../../src/sending/served_tally.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { CHUNK_SIZE } from '../../../testkit/fixtures/manifests.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { FEDERATION, testPolicy } from '../../../testkit/fixtures/policies.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { startTestNode, type TestNode } from '../support/federation_node.ts'
import { readCounting } from '../support/read_counting_blobs.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]

interface Line {
  level: number
  msg: string
  [key: string]: unknown
}
const DEBUG = 20
const INFO = 30

/** A debug-level logger that keeps its lines. */
function capture(): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = []
  const logger = pino({ level: 'debug' }, { write: (text: string) => void lines.push(JSON.parse(text) as Line) })
  return { logger, lines }
}

async function pair(t: Test) {
  const sent = capture()
  const received = capture()
  const [sender, receiver] = await Promise.all([
    startTestNode(t, alpha, { runJobs: true, logger: sent.logger }),
    startTestNode(t, bravo, { runJobs: true, logger: received.logger }),
  ])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  const policy = await createPolicy(sender.ctx, testPolicy(FEDERATION))
  await assignPolicy(sender.ctx, 'bravo', policy.id)
  const { id: caseId } = await createCase(sender.ctx, { fields: { title: 'Many small items' } })
  return { sender, receiver, caseId, sent: sent.lines, received: received.lines }
}

async function upload(node: TestNode, caseId: string, index: number, bytes: Buffer): Promise<string> {
  const item = await uploadEvidence(
    node.ctx,
    caseId,
    { name: `item-${index}.bin`, category: 'photo', mediaType: 'application/octet-stream' },
    Readable.from([bytes]),
  )
  return item.id
}

function isChunkUrl(line: Line): boolean {
  const url = (line['req'] as { url?: unknown } | undefined)?.url ?? line['url']
  return typeof url === 'string' && (url.includes('/chunks/') || url.endsWith('/chunk-batches'))
}

// spec: CW-BAT-003
t.test('chunk pulls are debug lines; each transfer is one info line per side', async (t) => {
  const { sender, receiver, caseId, sent, received } = await pair(t)
  const sizes = [100, 2000, CHUNK_SIZE + 10, 1, 700]
  const ids: string[] = []
  for (const [index, size] of sizes.entries()) ids.push(await upload(sender, caseId, index, randomBytes(size)))
  const chunks = sizes.reduce((sum, size) => sum + Math.max(1, Math.ceil(size / CHUNK_SIZE)), 0)
  const bytes = sizes.reduce((sum, size) => sum + size, 0)
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'evidence', evidenceIds: ids, createdBy: 'tester' })
  const servedLine = () => sent.find((line) => line.msg === 'chunks served' && line['revision'] === 1)
  await waitFor('the sender to summarise revision 1', async () => servedLine(), { timeoutMs: 20_000, intervalMs: 25 })

  t.same(
    sent.filter((line) => line.level >= INFO && isChunkUrl(line)),
    [],
    'no chunk pull is logged at info on the sender',
  )
  // One debug line per pull: an EP-2 line names one chunk, an EP-20 line (CW-BAT-003) the chunks of its batch.
  const pulled = sent
    .filter((line) => line.level === DEBUG && (line.msg === 'chunk request answered' || line.msg === 'chunk batch answered'))
    .reduce((sum, line) => sum + (line.msg === 'chunk batch answered' ? (line['digests'] as unknown[]).length : 1), 0)
  t.equal(pulled, chunks, 'the debug lines of the pulls name every chunk once')
  t.ok(
    sent.some((line) => line.msg === 'chunk batch answered'),
    'the small chunks came in a batch (EP-20)',
  )
  const served = servedLine()!
  t.equal(served.level, INFO)
  t.match(served, { shareId: share.id, peerOrg: 'bravo', chunks, bytes, refused: 0, status: 'delivered' })
  t.ok((served['requests'] as number) < chunks && (served['batches'] as number) >= 1, 'fewer requests than chunks, some of them batches')
  t.type(served['responseMsMean'], 'number')
  t.ok((served['firstAt'] as number) <= (served['lastAt'] as number))

  const storedLines = received.filter((line) => line.msg === 'chunks stored')
  t.equal(storedLines.length, 1, 'one summary on the receiver')
  t.match(storedLines[0], { level: INFO, shareId: share.id, revision: 1, chunks, bytes, needed: chunks, failed: 0 })
  t.same(
    received.filter((line) => line.level >= INFO && isChunkUrl(line)),
    [],
    'no chunk pull is logged at info on the receiver',
  )

  // A revision adding two items: held pending on the receiver, summarised the same way.
  const more = [await upload(sender, caseId, 10, randomBytes(300)), await upload(sender, caseId, 11, randomBytes(400))]
  await updateShare(sender.ctx, share.id, { evidenceIds: [...ids, ...more] }, { kind: 'user', id: 'tester' })
  await waitFor('the sender to summarise revision 2', async () => sent.find((line) => line.msg === 'chunks served' && line['revision'] === 2), {
    timeoutMs: 20_000,
    intervalMs: 25,
  })
  const second = sent.find((line) => line.msg === 'chunks served' && line['revision'] === 2)!
  t.match(second, { chunks: 2, bytes: 700 }, 'only the chunks of revision 2 are counted')
  const pending = received.filter((line) => line.msg === 'chunks stored' && line['revision'] === 2)
  t.equal(pending.length, 1)
  t.match(pending[0], { level: INFO, pending: true, chunks: 2, bytes: 700 })
  t.ok(received.some((line) => line.msg === 'revision received and verified' && line['revision'] === 2 && line['pending'] === true))
  void receiver
})

t.test('a transfer without a receipt is summarised once it has been idle ten minutes, and forgotten', async (t) => {
  const { logger, lines } = capture()
  let now = 1_000_000
  const tally = new ServedTally(() => now)
  tally.note(logger, 'share-1', 'bravo', 100, 5, false)
  tally.note(logger, 'share-1', 'bravo', 0, 1, true)
  now += 60_000
  tally.note(logger, 'share-2', 'bravo', 50, 3, false)
  t.equal(tally.size, 2)
  t.same(lines, [], 'nothing at info while the transfers go on')
  now += 10 * 60_000
  tally.note(logger, 'share-2', 'bravo', 50, 3, false)
  t.equal(tally.size, 1, 'the idle share is forgotten')
  t.match(lines, [{ level: INFO, msg: 'chunks served', shareId: 'share-1', chunks: 1, bytes: 100, refused: 1, responseMsMax: 5, idle: true }])
  t.match(tally.finish(logger, 'share-2'), { chunks: 2, requests: 2, batches: 0, bytes: 100 })
  t.equal(tally.finish(logger, 'share-2'), undefined, 'a second receipt has nothing to add')
})

// spec: CW-BAT-003
t.test('an EP-20 batch counts its chunks, as one request with one response time', async (t) => {
  const { logger } = capture()
  const tally = new ServedTally(() => 1_000_000)
  tally.note(logger, 'share-1', 'bravo', 64_000, 40, false, 64)
  tally.note(logger, 'share-1', 'bravo', 70_000, 10, false)
  t.match(tally.finish(logger, 'share-1'), { chunks: 65, requests: 2, batches: 1, bytes: 134_000, responseMsMean: 25, responseMsMax: 40 })
})

// spec: CW-REC-002
t.test('a revision checks only its new items, as they arrive: those verified in an earlier revision are not read again', async (t) => {
  const reads: string[] = []
  const counting = (blobs: BlobStore): BlobStore => readCounting(blobs, reads)
  const [sender, receiver] = await Promise.all([startTestNode(t, alpha, { runJobs: true }), startTestNode(t, bravo, { runJobs: true, wrapBlobs: counting })])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  const policy = await createPolicy(sender.ctx, testPolicy(FEDERATION))
  await assignPolicy(sender.ctx, 'bravo', policy.id)
  const { id: caseId } = await createCase(sender.ctx, { fields: { title: 'Revised' } })
  const first = [await upload(sender, caseId, 1, randomBytes(500)), await upload(sender, caseId, 2, randomBytes(CHUNK_SIZE + 3))]
  const { share } = await createShare(sender.ctx, { caseId, partnerOrg: 'bravo', scope: 'evidence', evidenceIds: first, createdBy: 'tester' })
  const delivered = () => sender.store.outboundShares.getRevision(share.id, 1).then((revision) => revision?.receiptJws ?? undefined)
  await waitFor('revision 1 delivered', delivered, { timeoutMs: 20_000, intervalMs: 25 })
  // Every item was checked as its chunks were stored (receiving/verification/streamed_item_check.ts).
  t.same(reads, [], 'revision 1: no item read back for its check')

  const added = await uploadEvidence(
    sender.ctx,
    caseId,
    { name: 'new.bin', category: 'photo', mediaType: 'application/octet-stream' },
    Readable.from([randomBytes(CHUNK_SIZE + 800)]),
  )
  await updateShare(sender.ctx, share.id, { evidenceIds: [...first, added.id] }, { kind: 'user', id: 'tester' })
  const inbound = await waitFor(
    'the receiver to verify revision 2',
    async () => {
      const found = await receiver.store.inboundShares.find('alpha', share.id)
      const pending = found === undefined ? [] : await receiver.store.inboundShares.listRevisions(found.id)
      return pending.find((revision) => revision.revision === 2 && revision.transfer === 'verified')
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
  t.ok(inbound)
  // Revision 2 pulls only the new item's chunks: the earlier items, not pulled again, can only be
  // passed by having been verified in revision 1 — read back, their chunks would show here.
  t.same(reads, [], 'revision 2: the new item checked as it arrived, the earlier ones not read again')
})
