/**
 * What an administrator sees of a share on its way, with two real node processes (issue 16,
 * findings 5 and 6): what the policy held back and why, chunks and bytes on both sides, and a
 * partner that is down reads `retrying` with the last error and the next attempt — not
 * `failed` — until it is back and the share is delivered.
 */
import t from 'tap'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import type { Share } from '../../../client/local_client.ts'
import { pair, startOrg, type OrgProcess } from '../support/processes.ts'

const CHUNK_SIZE = 262_144
const settings = { transfers: { chunkSize: CHUNK_SIZE as 262_144, retryBaseMs: 100, retryMaxMs: 1000 } }

const [metro, county] = await Promise.all([
  startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings }),
  startOrg(t, { org: 'county-da', name: 'County DA', settings }),
])
await pair(metro, county)
const policy = await metro.api.createPolicy({
  name: 'Video only',
  permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
  content: { caseFields: ['caseNumber'], evidenceCategories: ['video'], attachments: false },
  maxDurationSeconds: 86_400,
})
await metro.api.assignPolicy('county-da', policy.id)

async function shareWhen(org: OrgProcess, id: string, what: string, done: (share: Share) => boolean): Promise<Share> {
  return waitFor(
    what,
    async (seen) => {
      const share = await org.api.getShare(id)
      seen(`${share.status} ${share.statusCode ?? ''} ${share.progress.phase}`)
      return done(share) ? share : undefined
    },
    { timeoutMs: 30_000 },
  )
}

// spec: CW-LOC-031
t.test('a delivered case share lists what the policy held back, and both sides count every chunk and byte', async (t) => {
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-7', title: 'Robbery' })
  const videoSize = 3 * CHUNK_SIZE + 1000
  const video = await metro.api.uploadEvidence(
    theCase.id,
    { name: 'bodycam.mp4', category: 'video', mediaType: 'video/mp4' },
    generatedContent(videoSize, 'video'),
  )
  const sealed = await metro.api.uploadEvidence(
    theCase.id,
    { name: 'informant.mp4', category: 'video', doNotDisclose: true },
    generatedContent(5000, 'informant'),
  )
  const photo = await metro.api.uploadEvidence(theCase.id, { name: 'scene.jpg', category: 'photo' }, generatedContent(4000, 'photo'))

  const created = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' })
  t.same(
    created.heldBack,
    [
      { evidenceId: sealed.id, name: 'informant.mp4', reason: 'do-not-disclose' },
      { evidenceId: photo.id, name: 'scene.jpg', reason: 'category-excluded' },
    ],
    'the new share says what it leaves out and why',
  )

  const delivered = await shareWhen(metro, created.id, 'delivered', (share) => share.status === 'delivered')
  t.same(delivered.heldBack, created.heldBack, 'still listed once delivered')
  t.same(
    delivered.progress,
    { phase: 'done', chunksDone: 4, chunksTotal: 4, bytesDone: videoSize, bytesTotal: videoSize },
    "every chunk the partner asked for, and all of the video's bytes",
  )
  t.equal(delivered.nextAttemptAt, null)

  const [summary] = await county.api.listExternalCases()
  const external = await county.api.getExternalCase(summary!.id)
  t.equal(external.status, 'complete')
  t.same(
    external.evidence.map((item) => item.digest),
    [video.digest],
    'only the video went',
  )
  t.same(external.progress, { phase: 'done', chunksDone: 4, chunksTotal: 4, bytesDone: videoSize, bytesTotal: videoSize }, 'the receiver counts the same')
  t.same(summary!.progress, external.progress, 'the list shows it too')
})

// spec: CW-LOC-030
t.test('a share to a partner that is down is retrying with the last error and the next attempt, then delivered', async (t) => {
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-8', title: 'Fraud' })
  await metro.api.uploadEvidence(theCase.id, { name: 'call.mp4', category: 'video' }, generatedContent(10_000, 'call'))
  await county.stop()
  const created = await metro.api.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' })

  const retrying = await shareWhen(metro, created.id, 'retrying', (share) => share.status === 'retrying')
  t.not(retrying.statusCode, null, 'the code of the last error')
  t.match(retrying.statusDetail, /\S/, 'and what it said')
  t.ok(retrying.nextAttemptAt !== null && retrying.nextAttemptAt >= retrying.createdAt, 'when the next attempt is due')
  t.equal(retrying.progress.phase, 'offering', 'the partner never answered the offer')
  const listed = (await metro.api.listShares(theCase.id)).find((share) => share.id === created.id)
  t.not(listed?.status, 'failed', 'never failed while the node keeps trying')

  await county.start()
  const delivered = await shareWhen(metro, created.id, 'delivered', (share) => share.status === 'delivered')
  t.equal(delivered.statusCode, null, 'the error is gone once it went through')
  t.equal(delivered.nextAttemptAt, null)
  t.equal(delivered.progress.phase, 'done')
})
