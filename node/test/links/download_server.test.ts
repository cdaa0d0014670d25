/**
 * The download listener's routes on a real context (SPEC.md CW-LOC-038, CW-LOC-039): the
 * e-mailed token opens the package until the link expires; an expired, a wrong and a
 * malformed token get one and the same 404; nothing else is served; each client address is
 * rate limited. E-mail recipients need the listener. (Over real TLS: the integration test.)
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { pino } from 'pino'
import t from 'tap'
import { manualClock } from '../../../testkit/clock.ts'
import { createDownloadServer } from '../../src/links/download_server.ts'
import { tokenHash } from '../../src/links/link_email.ts'
import { linkPackageJobHandler } from '../../src/links/link_package.ts'
import { JOB } from '../../src/jobs/kinds.ts'
import { newJobRecord } from '../../src/jobs/new_job_record.ts'
import { createTestApp } from '../support/local_app.ts'

const clock = manualClock()
const ta = await createTestApp({ clock })
t.teardown(() => ta.close())
const theCase = (await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Fraud' } } })).json()
await ta.call({
  method: 'POST',
  url: `/api/v1/cases/${theCase.id}/evidence?name=ledger.pdf&category=document`,
  headers: { 'content-type': 'application/octet-stream' },
  payload: Buffer.from('the ledger'),
})

// spec: CW-LOC-038
t.test('an e-mail recipient is refused while the download listener is off (the default)', async (t) => {
  t.equal(ta.ctx.config.links.downloadListener, undefined)
  const refused = await ta.call({
    method: 'POST',
    url: `/api/v1/cases/${theCase.id}/link-shares`,
    payload: { recipient: { kind: 'email', value: 'clerk@example.org' }, scope: 'case', format: 'tar' },
  })
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'CW_ERR_CONFLICT', detail: /download listener/ })
})

// spec: CW-LOC-039
t.test('the token opens the package until expiry; every other request gets the same 404; addresses are rate limited', async (t) => {
  // An e-mail link share as the node keeps one (this context has no listener, so it is stored directly), built, with a token drawn.
  const now = clock.seconds()
  const id = randomUUID()
  await ta.ctx.store.linkShares.insert({
    id,
    caseId: theCase.id,
    createdBy: 'admin-1',
    recipient: { kind: 'email', value: 'clerk@example.org' },
    scope: 'case',
    folderIds: [],
    evidenceIds: [],
    format: 'tar',
    retainFolderStructure: true,
    attachments: { auditTrail: false, tableOfContents: true, transcripts: true },
    message: null,
    state: 'processing',
    failure: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 3600,
    revokedAt: null,
    revokedBy: null,
    package: null,
    tokenHash: null,
  })
  const build = (linkId: string) => linkPackageJobHandler(ta.ctx)(newJobRecord(JOB.linkPackage, linkId, {}, now), new AbortController().signal)
  await build(id)
  t.ok(
    ta.jobs.some((job) => job.kind === JOB.linkEmail && job.ref === id),
    'the e-mail is queued once the package is ready',
  )
  const token = randomBytes(32).toString('base64url')
  await ta.ctx.store.linkShares.setTokenHash(id, tokenHash(token))
  // A link share for a local user never opens there, whatever its token.
  const local = (
    await ta.call({
      method: 'POST',
      url: `/api/v1/cases/${theCase.id}/link-shares`,
      payload: { recipient: { kind: 'local-user', value: 'admin-1' }, scope: 'case', format: 'zip' },
    })
  ).json()
  await build(local.id)
  const localToken = randomBytes(32).toString('base64url')
  await ta.ctx.store.linkShares.setTokenHash(local.id, tokenHash(localToken))

  const app = await createDownloadServer(ta.ctx, { host: '127.0.0.1', port: 0, perMinute: 12 }, pino({ level: 'silent' }))
  t.teardown(() => app.close())
  const get = (url: string) => app.inject({ method: 'GET', url })
  t.equal((await get(`/download/${localToken}`)).statusCode, 404, 'only a link share for an e-mail recipient opens there')

  const ok = await get(`/download/${token}`)
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['content-type'], 'application/x-tar')
  const wrong = await get(`/download/${randomBytes(32).toString('base64url')}`)
  t.equal(wrong.statusCode, 404)
  const malformed = await get('/download/not-a-token')
  for (const path of ['/', '/healthz', '/api/v1/cases', `/api/v1/link-shares/${id}/package`, '/openapi.json']) {
    t.equal((await get(path)).statusCode, 404, `${path} is not served`)
  }
  clock.advance(3600 * 1000)
  const expired = await get(`/download/${token}`)
  for (const answer of [malformed, expired]) {
    t.equal(answer.statusCode, 404)
    t.same(answer.json().detail, wrong.json().detail, 'the same answer as a wrong token')
    t.same(answer.json().code, 'CW_ERR_NOT_FOUND')
  }
  let limited = await get(`/download/${token}`)
  for (let i = 0; i < 12 && limited.statusCode !== 429; i++) limited = await get(`/download/${token}`)
  t.equal(limited.statusCode, 429, 'a client address is rate limited')
  t.match(limited.json(), { code: 'CW_ERR_RATE_LIMITED' })
  t.ok(ta.events.some((e) => e.type === 'link.downloaded' && e.via === 'download-listener'))
})
