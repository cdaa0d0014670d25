/**
 * Coalescing a burst of changes to a live share (SPEC.md CW-REVN-010, CW-REVN-011), between two
 * real nodes over TLS. The sender's clock is a manual clock, so the window opens and closes when
 * the test says: nothing here depends on how fast the machine is.
 */
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { userActor } from '../../src/events.ts'
import { startTestNode, type TestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { manualClock, type ManualClock } from '../../../testkit/clock.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]
const WINDOW_MS = 30_000
const BURST = 25

async function liveShare(t: Test): Promise<{ sender: TestNode; receiver: TestNode; clock: ManualClock; caseId: string; shareId: string }> {
  const clock = manualClock()
  const [sender, receiver] = await Promise.all([
    startTestNode(t, alpha, { runJobs: true, clock, revisionWindowMs: WINDOW_MS }),
    startTestNode(t, bravo, { runJobs: true }),
  ])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  const policy = await createPolicy(sender.ctx, testPolicy(FEDERATION))
  await assignPolicy(sender.ctx, 'bravo', policy.id)
  const theCase = await createCase(sender.ctx, { fields: { title: 'Warehouse fire' } })
  const { share } = await createShare(sender.ctx, { caseId: theCase.id, partnerOrg: 'bravo', scope: 'case', createdBy: 'alice' })
  await delivered(sender, share.id, 1)
  return { sender, receiver, clock, caseId: theCase.id, shareId: share.id }
}

function upload(node: TestNode, caseId: string, name: string) {
  return uploadEvidence(node.ctx, caseId, { name, category: 'photo', mediaType: 'image/jpeg' }, Readable.from([randomBytes(300)]))
}

function delivered(sender: TestNode, shareId: string, revision: number) {
  return waitFor(
    `share ${shareId} revision ${revision} delivered`,
    async () => {
      const share = await sender.store.outboundShares.get(shareId)
      return share?.revision === revision && share.status === 'delivered' ? share : undefined
    },
    { timeoutMs: 30_000, intervalMs: 25 },
  )
}

/** Lets the outbox run a round (any action does: it waits for the consumers of its events). */
async function nudge(node: TestNode, caseId: string): Promise<void> {
  await node.ctx.record({ type: 'case.viewed', caseId, actor: userActor('alice') })
}

async function revisionsOf(node: TestNode, shareId: string): Promise<number> {
  return (await node.store.outboundShares.get(shareId))!.revision
}

// spec: CW-REVN-010, CW-REVN-011
t.test('a burst of uploads within the window makes one revision carrying every item, delivered', async (t) => {
  const { sender, receiver, clock, caseId, shareId } = await liveShare(t)
  for (let index = 0; index < BURST; index++) {
    await upload(sender, caseId, `scene-${index}.jpg`)
    // The clock moves within the window: the window counts from the first change, not the last.
    clock.advance(Math.floor(WINDOW_MS / (BURST + 1)))
  }
  t.equal(await revisionsOf(sender, shareId), 1, 'the window is open: no revision yet')
  t.equal((await sender.store.outbox.list('revisions', 1000)).length, BURST, 'every change is kept for the revision')

  clock.advance(WINDOW_MS)
  await nudge(sender, caseId)
  t.equal(await revisionsOf(sender, shareId), 2, 'the window closed: one revision for the whole burst')
  const second = (await sender.store.outboundShares.getRevision(shareId, 2))!
  const payload = JSON.parse(Buffer.from(second.manifestJws.split('.')[1]!, 'base64url').toString()) as { evidence: unknown[] }
  t.equal(payload.evidence.length, BURST, 'it carries every item')
  t.same(await sender.store.outbox.list('revisions', 1000), [], 'nothing left pending')

  await delivered(sender, shareId, 2)
  const inbound = (await receiver.store.inboundShares.find('alpha', shareId))!
  const held = await receiver.store.inboundShares.getRevision(inbound.id, 2)
  t.equal(held?.transfer, 'verified', 'the receiver holds revision 2, verified')
  t.equal(await receiver.store.inboundShares.getRevision(inbound.id, 3), undefined, 'and no later one')

  const audit = await sender.store.audit.list(caseId, { limit: 1000 })
  t.equal(audit.filter((entry) => entry.type === 'share.revised').length, 1, 'one revision on the record')
  t.equal(audit.filter((entry) => entry.type === 'evidence.uploaded').length, BURST)
})

// spec: CW-REVN-010
t.test('one upload is offered once its window has passed; the next change opens a new window', async (t) => {
  const { sender, clock, caseId, shareId } = await liveShare(t)
  await upload(sender, caseId, 'one.jpg')
  clock.advance(WINDOW_MS - 1000)
  await nudge(sender, caseId)
  t.equal(await revisionsOf(sender, shareId), 1, 'within the window: not yet')
  clock.advance(1000)
  await nudge(sender, caseId)
  t.equal(await revisionsOf(sender, shareId), 2, 'at the end of the window: revision 2')
  await delivered(sender, shareId, 2)

  await upload(sender, caseId, 'two.jpg')
  await nudge(sender, caseId)
  t.equal(await revisionsOf(sender, shareId), 2, 'a later change opens a window of its own')
  clock.advance(WINDOW_MS)
  await nudge(sender, caseId)
  t.equal(await revisionsOf(sender, shareId), 3)
  await delivered(sender, shareId, 3)
})
