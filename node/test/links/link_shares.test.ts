/**
 * Link shares on a real context with a clock moved by hand, the `link-package` job run as the
 * runner runs it (SPEC.md §22, CW-LOC-032…CW-LOC-035): the duration is cut to the node's
 * maximum; a package is refused while processing or failed (409) and once expired (410); a
 * link share revoked while it was built stays revoked; a local group recipient downloads it;
 * recipients are checked.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { verifyPackage } from '#packaging'
import { manualClock } from '../../../testkit/clock.ts'
import { linkPackageJobHandler } from '../../src/links/link_package.ts'
import { JOB } from '../../src/jobs/kinds.ts'
import { newJobRecord } from '../../src/jobs/new_job_record.ts'
import { createTestApp } from '../support/local_app.ts'
import { partnerRecord, policyRecord } from '../support/records.ts'

const clock = manualClock()
const ta = await createTestApp({ clock })
t.teardown(() => ta.close())
const API = '/api/v1'

async function userWithToken(id: string): Promise<string> {
  const user = await ta.call({ method: 'POST', url: `${API}/users`, payload: { id, name: id, role: 'member' } })
  if (user.statusCode !== 201) throw new Error(user.body)
  return (await ta.call({ method: 'POST', url: `${API}/tokens`, payload: { userId: id, role: 'member' } })).json().token
}
const carol = await userWithToken('carol')
await ta.call({ method: 'POST', url: `${API}/groups`, payload: { id: 'records', name: 'Records office', members: ['carol'] } })

const theCase = (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: { title: 'Fraud', tags: ['a', 'b'] } } })).json()
const uploaded = await ta.call({
  method: 'POST',
  url: `${API}/cases/${theCase.id}/evidence?name=ledger.pdf&category=document`,
  headers: { 'content-type': 'application/octet-stream' },
  payload: Buffer.from('the ledger'),
})
const ledger = uploaded.json()

const handler = linkPackageJobHandler(ta.ctx)
const build = (id: string) => handler(newJobRecord(JOB.linkPackage, id, {}, clock.seconds()), new AbortController().signal)

async function create(body: Record<string, unknown>) {
  return ta.call({
    method: 'POST',
    url: `${API}/cases/${theCase.id}/link-shares`,
    payload: { recipient: { kind: 'local-group', value: 'records' }, scope: 'case', format: 'zip', ...body },
  })
}
const download = (id: string, token?: string) => ta.call({ method: 'GET', url: `${API}/link-shares/${id}/package`, ...(token === undefined ? {} : { token }) })

// spec: CW-LOC-032, CW-LOC-035
t.test('a link share lasts at most links.maxDurationSeconds, and its package is refused once expired', async (t) => {
  const created = await create({ expiresInSeconds: 10 * ta.ctx.config.links.maxDurationSeconds })
  t.equal(created.statusCode, 202)
  const link = created.json()
  t.equal(link.expiresAt, clock.seconds() + ta.ctx.config.links.maxDurationSeconds, 'cut to the maximum')
  t.same(
    ta.jobs.filter((job) => job.ref === link.id).map((job) => job.kind),
    [JOB.linkPackage],
  )

  const early = await download(link.id, carol)
  t.equal(early.statusCode, 409, 'not before the package is built')
  t.match(early.json(), { code: 'CW_ERR_CONFLICT' })

  await build(link.id)
  const ready = (await ta.call({ method: 'GET', url: `${API}/link-shares/${link.id}`, token: carol })).json()
  t.match(ready, { status: 'ready', package: { items: 1 } })
  t.equal((await download(link.id, carol)).statusCode, 200, 'a member of the recipient group downloads it')

  clock.advance(ta.ctx.config.links.maxDurationSeconds * 1000)
  const expired = await download(link.id, carol)
  t.equal(expired.statusCode, 410)
  t.match(expired.json(), { code: 'CW_ERR_SHARE_EXPIRED' })
  t.match((await ta.call({ method: 'GET', url: `${API}/link-shares/${link.id}` })).json(), { status: 'expired' })
})

// spec: CW-LOC-032
t.test('a package that cannot be built fails with the reason; one revoked meanwhile stays revoked', async (t) => {
  const failing = (await create({ scope: 'evidence', evidenceIds: [ledger.id] })).json()
  await ta.ctx.store.cases.deleteEvidence(ledger.id)
  await build(failing.id)
  const failed = (await ta.call({ method: 'GET', url: `${API}/link-shares/${failing.id}` })).json()
  t.match(failed, { status: 'failed', failure: /is not evidence of case/, package: null })
  const refused = await download(failing.id)
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'CW_ERR_CONFLICT', detail: /failed/ })
  t.ok(
    ta.events.some((e) => e.type === 'link.failed' && e.linkShareId === failing.id),
    'the failure is on the trail',
  )

  const revoked = (await create({})).json()
  t.equal((await ta.call({ method: 'POST', url: `${API}/link-shares/${revoked.id}/revoke`, token: carol })).statusCode, 404, 'a recipient cannot revoke')
  t.match((await ta.call({ method: 'POST', url: `${API}/link-shares/${revoked.id}/revoke` })).json(), { status: 'revoked' })
  await build(revoked.id)
  t.match((await ta.call({ method: 'GET', url: `${API}/link-shares/${revoked.id}` })).json(), { status: 'revoked', package: null })
  t.same(await ta.ctx.store.linkShares.listMembers(revoked.id), [])
  t.equal(ta.events.filter((e) => e.type === 'link.revoked' && e.linkShareId === revoked.id).length, 1)
  await ta.call({ method: 'POST', url: `${API}/link-shares/${revoked.id}/revoke` })
  t.equal(ta.events.filter((e) => e.type === 'link.revoked' && e.linkShareId === revoked.id).length, 1, 'revoking again records nothing')
})

// spec: CW-LOC-032, CW-LOC-034, CW-PKG-011
t.test('recipients are checked; only the case team, the creator and the recipients see a link share', async (t) => {
  t.match((await create({ recipient: { kind: 'local-user', value: 'nobody' } })).json(), { code: 'CW_ERR_CONFLICT', at: '/recipient/value' })
  t.match((await create({ recipient: { kind: 'email', value: 'not an address' } })).json(), { code: 'CW_ERR_BAD_REQUEST', at: '/recipient/value' })
  t.match((await create({ recipient: { kind: 'partner-user', value: 'unknown-org/ann' } })).json(), { code: 'CW_ERR_CONFLICT' })
  await ta.ctx.store.policies.insert(policyRecord())
  await ta.ctx.store.partners.upsert(partnerRecord({ org: 'county-da' }))
  // spec: CW-PKG-011 — carried to the partner's node once built (node/test/integration/partner_packages.test.ts).
  t.match(
    (await create({ recipient: { kind: 'partner-group', value: 'county-da/felony-unit' } })).json(),
    { status: 'processing', recipient: { kind: 'partner-group', value: 'county-da/felony-unit' } },
    "a partner's group is a recipient",
  )
  t.match((await create({ recipient: { kind: 'partner-user', value: 'county-da/not an id' } })).json(), { code: 'CW_ERR_BAD_REQUEST', at: '/recipient/value' })
  t.match((await create({ scope: 'folders' })).json(), { code: 'CW_ERR_BAD_REQUEST', at: '/folderIds' })
  const toCarol = (await create({ recipient: { kind: 'local-user', value: 'carol' } })).json()
  const dave = await userWithToken('dave')
  t.equal((await ta.call({ method: 'GET', url: `${API}/link-shares/${toCarol.id}`, token: carol })).statusCode, 200)
  t.equal((await ta.call({ method: 'GET', url: `${API}/link-shares/${toCarol.id}`, token: dave })).statusCode, 404)
  t.equal(
    (
      await ta.call({
        method: 'POST',
        url: `${API}/cases/${theCase.id}/link-shares`,
        token: dave,
        payload: { recipient: { kind: 'local-user', value: 'dave' }, scope: 'case', format: 'tar' },
      })
    ).statusCode,
    404,
    'only the case team creates one',
  )
  t.ok(
    ta.events.some((e) => e.type === 'action.refused' && e.action === 'link.read'),
    'the refusal is recorded',
  )
})

// spec: CW-PKG-003
t.test("an item's text or WebVTT attachment is its transcript under transcripts/, unless asked otherwise", async (t) => {
  const upload = async (query: string, body: string) => {
    const response = await ta.call({
      method: 'POST',
      url: `${API}/cases/${theCase.id}/evidence?${query}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(body),
    })
    if (response.statusCode !== 201) throw new Error(response.body)
    return response.json() as { id: string; digest: string }
  }
  const interview = await upload('name=interview.mp4&category=video&mediaType=video/mp4', 'interview video bytes')
  const vtt = 'WEBVTT\n\n00:00.000 --> 00:02.000\nState your name.\n'
  const transcript = await upload(`name=interview.vtt&category=document&mediaType=text/vtt&attachmentOf=${interview.id}`, vtt)
  const root = t.testdir()

  const packaged = async (body: Record<string, unknown>, file: string) => {
    const link = (await create({ format: 'tar', ...body })).json()
    await build(link.id)
    const response = await download(link.id, carol)
    t.equal(response.statusCode, 200, response.body.slice(0, 200))
    await writeFile(join(root, file), response.rawPayload)
    return verifyPackage(join(root, file))
  }
  const withTranscripts = await packaged({}, 'with.tar')
  const files = withTranscripts.manifest.files
  const entry = files.find((f) => f.role === 'transcript')
  t.match(
    entry,
    { path: /^transcripts\/.*interview\.mp4\.vtt$/, size: Buffer.byteLength(vtt), sha256: transcript.digest },
    'the transcript sits beside its item',
  )
  t.notOk(
    files.some((f) => f.role === 'evidence' && f.sha256 === transcript.digest),
    'and is no item of its own',
  )
  t.ok(files.some((f) => f.role === 'evidence' && f.sha256 === interview.digest))

  const without = await packaged({ attachments: { transcripts: false } }, 'without.tar')
  t.notOk(
    without.manifest.files.some((f) => f.role === 'transcript'),
    'transcripts: false',
  )
  t.ok(
    without.manifest.files.some((f) => f.role === 'evidence' && f.sha256 === transcript.digest),
    'the attachment is then an item like any other',
  )
})
