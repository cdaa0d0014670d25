/**
 * A link share for an e-mail address on a real node process (SPEC.md CW-LOC-038, CW-LOC-039):
 * the node e-mails a capability link, through a real SMTP receiver, with its CA fingerprint;
 * the download listener (HTTPS with the node's certificate) serves the package whole and by
 * ranges, and it verifies offline. A wrong or revoked token gets one and the same 404; nothing
 * else is served on that listener; the token is stored only hashed; downloads are audited with
 * the client address. A local user recipient is notified by e-mail, without a link.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { verifyPackage } from '#packaging'
import { generatedContent } from '../../../testkit/content.ts'
import { freePort } from '../../../testkit/node_process.ts'
import { startSmtpServer } from '../../../testkit/smtp_receiver.ts'
import { waitFor } from '../../../testkit/wait.ts'
import type { AuditEntryRecord } from '../../src/store/metadata_store.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'
import { startOrg } from '../support/processes.ts'

const smtp = await startSmtpServer(t)
const downloadPort = await freePort()
const metro = await startOrg(t, {
  org: 'metro-pd',
  name: 'Metro PD',
  settings: {
    transfers: { chunkSize: 65_536 },
    links: { downloadListener: { host: '127.0.0.1', port: downloadPort, perMinute: 1000 } },
    notifications: { smtp: { host: '127.0.0.1', port: smtp.port, from: 'Caseway <caseway@metro-pd.example>' } },
  },
})
const ca = await readFile(join(metro.node.pkiDir, 'ca.crt'), 'utf8')
const api = `${metro.api.baseUrl}/api/v1`
const call = (method: string, path: string, body?: unknown) =>
  fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${metro.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

/** A request to the download listener, trusting only the node's CA. */
function fetchTls(url: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, ca }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (part: Buffer) => parts.push(part))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const theCase = await metro.api.createCase({ caseNumber: 'M-9', title: 'Arson' })
await metro.api.uploadEvidence(theCase.id, { name: 'scene.mp4', category: 'video' }, () => generatedContent(150_000, 'scene'))

// spec: CW-LOC-038, CW-LOC-039
t.test('the e-mailed link downloads the package from the download listener, and nothing else is served there', async (t) => {
  const created = await call('POST', `/cases/${theCase.id}/link-shares`, {
    recipient: { kind: 'email', value: 'clerk@prosecutor.example' },
    scope: 'case',
    format: 'iso',
    message: 'Exhibits for the hearing.',
  })
  t.equal(created.status, 202)
  const link = (await created.json()) as { id: string }
  const mail = await smtp.waitFor('clerk@prosecutor.example', 30_000)
  t.match(mail.subject, /Metro PD shared case M-9/)
  t.match(mail.text, metro.node.caFingerprint, 'the e-mail carries the CA fingerprint')
  t.match(mail.text, 'Exhibits for the hearing.')
  const url = /https:\/\/\S+\/download\/[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0]
  t.ok(url, 'the e-mail carries the link')
  t.equal(new URL(url!).port, String(downloadPort))
  const token = url!.slice(url!.lastIndexOf('/') + 1)

  const whole = await fetchTls(url!)
  t.equal(whole.status, 200)
  t.match(whole.headers['content-disposition'], /\.iso"/)
  const file = join(t.testdir(), 'case.iso')
  await writeFile(file, whole.body)
  const verified = await verifyPackage(file, { caFingerprint: metro.node.caFingerprint })
  t.equal(verified.kind, 'iso')
  const size = whole.body.length
  const tail = await fetchTls(url!, { headers: { range: `bytes=${size - 5000}-` } })
  t.equal(tail.status, 206)
  t.same(tail.body, whole.body.subarray(size - 5000), 'a range is the same bytes')
  t.equal((await fetchTls(url!, { method: 'HEAD' })).headers['content-length'], String(size))
  const beyond = await fetchTls(url!, { headers: { range: `bytes=${size}-` } })
  t.equal(beyond.status, 416)

  const wrong = await fetchTls(url!.replace(token, randomBytes(32).toString('base64url')))
  t.equal(wrong.status, 404)
  const problem = JSON.parse(wrong.body.toString()) as { code: string; detail: string }
  t.match(problem, { code: 'CW_ERR_NOT_FOUND', detail: 'no such download' })
  t.equal((await fetchTls(url!.replace(token, 'short'))).status, 404)
  const base = url!.slice(0, url!.indexOf('/download/'))
  for (const path of ['/', '/healthz', '/api/v1/cases', `/api/v1/link-shares/${link.id}/package`, '/openapi.json', '/metrics']) {
    t.equal((await fetchTls(base + path)).status, 404, `${path} is not served on the download listener`)
  }
  t.ok((await fetchTls(url!, { method: 'POST' })).status >= 400, 'nothing but GET and HEAD')

  // Only the hash is stored.
  const store = await openSqliteMetadataStore(join(metro.node.dir, metro.node.config.storage.database), { readOnly: true })
  t.teardown(() => store.close())
  const stored = await store.linkShares.get(link.id)
  t.equal(stored?.tokenHash, createHash('sha256').update(token).digest('hex'))
  t.notMatch(await readFile(join(metro.node.dir, metro.node.config.storage.database)), token)
  const logs = JSON.stringify(await metro.logs())
  t.match(logs, 'download request answered')
  t.notMatch(logs, token, 'nor is the token logged')

  t.equal((await call('POST', `/link-shares/${link.id}/revoke`)).status, 200)
  const revoked = await fetchTls(url!)
  t.equal(revoked.status, 404, 'a revoked link answers as a wrong token does')
  t.match(JSON.parse(revoked.body.toString()), { code: problem.code, detail: problem.detail })

  const trail = await waitFor('link.revoked on the trail', async () => {
    const { entries } = (await (await call('GET', `/cases/${theCase.id}/audit?limit=1000`)).json()) as { entries: AuditEntryRecord[] }
    return entries.some((e) => e.type === 'link.revoked') ? entries : undefined
  })
  t.ok(trail.some((e) => e.type === 'link.emailed'))
  const downloads = trail.filter((e) => e.type === 'link.downloaded')
  t.equal(downloads.length, 2, 'the whole package and one range; HEAD and refusals send no bytes')
  t.ok(downloads.every((e) => e.data['via'] === 'download-listener' && /127\.0\.0\.1$/.test(String(e.data['address']))))
})

// spec: CW-LOC-038
t.test('a local user recipient is notified by e-mail, without a capability link', async (t) => {
  await metro.api.createUser({ id: 'clerk', name: 'Records Clerk', email: 'clerk@metro-pd.example' })
  const created = await call('POST', `/cases/${theCase.id}/link-shares`, { recipient: { kind: 'local-user', value: 'clerk' }, scope: 'case', format: 'zip' })
  t.equal(created.status, 202)
  const link = (await created.json()) as { id: string }
  const mail = await smtp.waitFor('clerk@metro-pd.example', 30_000)
  t.match(mail.text, `/api/v1/link-shares/${link.id}/package`)
  t.match(mail.text, metro.node.caFingerprint)
  t.notMatch(mail.text, '/download/', 'no capability link')
  const store = await openSqliteMetadataStore(join(metro.node.dir, metro.node.config.storage.database), { readOnly: true })
  t.teardown(() => store.close())
  const stored = await store.linkShares.get(link.id)
  t.equal(stored?.tokenHash, null, 'no token was drawn')
})
