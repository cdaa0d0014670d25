/**
 * The job-queue view (issue 16: "jobs retrying or dead") against a real node process: a share
 * to a partner whose node is down is an offer job retrying, listed by `GET
 * /api/v1/jobs/failing` (administrators only) and by `caseway status`, as JSON and as text;
 * without an administrator's token the status says the jobs are unknown and still exits 0.
 */
import { join } from 'node:path'
import t from 'tap'
import { LocalApiError, LocalClient, type FailingJob } from '../../client/local_client.ts'
import { generatedContent } from '../../testkit/content.ts'
import { initLoopbackNode } from '../../testkit/loopback_node.ts'
import { startNodeProcess } from '../../testkit/node_process.ts'
import { waitFor } from '../../testkit/wait.ts'
import { caseway, lines } from '../support/cli.ts'

const root = t.testdir()
const dir = join(root, 'metro-pd')
await initLoopbackNode({ org: 'metro-pd', name: 'Metro PD', dir })
// County DA's node is made but never started: nothing listens on its endpoint.
const county = await initLoopbackNode({ org: 'county-da', name: 'County DA', dir: join(root, 'county-da') })
const node = await startNodeProcess({ dir, adminToken: true })
t.teardown(() => node.stop('SIGKILL'))
const admin = new LocalClient({ baseUrl: node.localUrl, token: node.adminToken! })

await admin.importPartner(county.bundle, county.caFingerprint)
const policy = await admin.createPolicy({
  name: 'Review',
  permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
  content: { caseFields: ['caseNumber'], evidenceCategories: ['document'], attachments: false },
  maxDurationSeconds: 86_400,
})
await admin.assignPolicy('county-da', policy.id)
const theCase = await admin.createCase({ caseNumber: 'MPD-11', title: 'Arson' })
await admin.uploadEvidence(theCase.id, { name: 'report.pdf', category: 'document' }, generatedContent(10_000, 'report'))

t.test('no job fails before anything was tried', async (t) => {
  t.same(await admin.listFailingJobs(), [])
  const result = await caseway(['status', '--json', '--dir', dir])
  t.equal(result.code, 0, result.stderr)
  t.same((JSON.parse(result.stdout) as { jobs: unknown }).jobs, { failing: [] })
})

t.test('a share to a partner that is down is an offer job retrying, in the route and in caseway status', async (t) => {
  const share = await admin.createShare({ caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' })
  const job = await waitFor('the offer job failed once', async (seen) => {
    const jobs = await admin.listFailingJobs()
    seen(JSON.stringify(jobs))
    return jobs.find((candidate) => candidate.kind === 'offer')
  })
  t.match(job, {
    kind: 'offer',
    status: 'retrying',
    subject: { type: 'share', id: share.id, partner: 'county-da' },
    lastError: /\S/,
  })
  t.ok(job.attempts >= 1, 'at least one attempt made')
  t.ok(job.nextAttemptAt !== null && job.nextAttemptAt >= job.createdAt, 'the next attempt is due later')
  t.equal((await admin.getShare(share.id)).status, 'retrying', 'the share says the same')

  const json = await caseway(['status', '--json', '--dir', dir])
  t.equal(json.code, 0, json.stderr)
  const listed = (JSON.parse(json.stdout) as { jobs: { failing: FailingJob[] } }).jobs.failing
  t.match(listed, [{ id: job.id, kind: 'offer', status: 'retrying', subject: { type: 'share', id: share.id, partner: 'county-da' } }])

  const human = await caseway(['status', '--dir', dir])
  t.equal(human.code, 0, human.stderr)
  const header = lines(human.stdout).findIndex((line) => line === 'jobs retrying or dead')
  t.ok(header >= 0, human.stdout)
  t.match(lines(human.stdout)[header + 1], /^KIND\s+STATUS\s+ATTEMPTS\s+NEXT ATTEMPT\s+SUBJECT\s+PARTNER\s+LAST ERROR$/)
  t.match(lines(human.stdout)[header + 2], new RegExp(`^offer\\s+retrying\\s+\\d+\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+share ${share.id}\\s+county-da\\s+\\S`))
})

t.test('the route is for administrators; without a token caseway status says the jobs are unknown', async (t) => {
  await admin.createUser({ id: 'bob', role: 'member' })
  const member = await admin.createToken('bob', 'member')
  const refusal = await new LocalClient({ baseUrl: node.localUrl, token: member.token }).listFailingJobs().catch((error: unknown) => error)
  t.type(refusal, LocalApiError)
  t.equal((refusal as LocalApiError).status, 403)

  // --url and a directory without admin.token: no token anywhere.
  const anonymous = await caseway(['status', '--json', '--url', node.localUrl, '--dir', join(root, 'elsewhere')], undefined, { CASEWAY_TOKEN: '' })
  t.equal(anonymous.code, 0, anonymous.stderr)
  t.match((JSON.parse(anonymous.stdout) as { jobs: unknown }).jobs, { unknown: /^no token/ })

  const asMember = await caseway(['status', '--dir', dir, '--token', member.token])
  t.equal(asMember.code, 0, asMember.stderr)
  t.match(asMember.stdout, /^jobs retrying or dead: unknown \(CW_ERR_FORBIDDEN: /m)
})
