/**
 * A link share for a partner's user, between two real node processes over real mTLS (SPEC.md
 * §22, "Carrying a package to a partner"): metro-pd link-shares a case to `county-da/clerk`; its
 * node offers the package (EP-10), county-da's node pulls it (EP-11), verifies it against the CA
 * it pinned for metro-pd, e-mails the clerk, and serves it through its own local API — whole,
 * by ranges, HEAD — to the clerk alone. The package verifies offline against metro-pd's CA
 * fingerprint. Revoking the link share withdraws it at county-da (EP-12) and the pull answers 410.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { verifyPackage } from '#packaging'
import { LocalClient } from '../../../client/local_client.ts'
import { generatedContent } from '../../../testkit/content.ts'
import { startSmtpServer } from '../../../testkit/smtp_receiver.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { pair, startOrg } from '../support/processes.ts'

const smtp = await startSmtpServer(t)
const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers: { chunkSize: 65_536 } } })
const county = await startOrg(t, {
  org: 'county-da',
  name: 'County DA',
  settings: {
    transfers: { chunkSize: 65_536 },
    notifications: { smtp: { host: '127.0.0.1', port: smtp.port, from: 'Caseway <caseway@county-da.example>' }, allowedDomains: ['county-da.example'] },
  },
})
await pair(metro, county)
await county.api.createUser({ id: 'clerk', name: 'Records Clerk', email: 'clerk@county-da.example' })
await county.api.createUser({ id: 'intern', name: 'Intern', email: 'intern@county-da.example' })
const clerkToken = (await county.api.createToken('clerk', 'member')).token
const internToken = (await county.api.createToken('intern', 'member')).token
const clerk = new LocalClient({ baseUrl: county.api.baseUrl, token: clerkToken })
const intern = new LocalClient({ baseUrl: county.api.baseUrl, token: internToken })

const theCase = await metro.api.createCase({ caseNumber: 'M-15', title: 'Burglary' })
await metro.api.uploadEvidence(theCase.id, { name: 'door-cam.mp4', category: 'video' }, () => generatedContent(300_000, 'door'))
await metro.api.uploadEvidence(theCase.id, { name: 'statement.pdf', category: 'document' }, () => generatedContent(40_000, 'statement'))

const call = (token: string, path: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${county.api.baseUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, ...headers } })

// spec: CW-PKG-011, CW-PKG-012, CW-PKG-013, CW-PKG-014, CW-PKG-017, CW-LOC-032
t.test("county-da's clerk downloads metro-pd's package from county-da's node, and it verifies against metro-pd's CA", async (t) => {
  const link = await metro.api.createLinkShare(theCase.id, {
    recipient: { kind: 'partner-user', value: 'county-da/clerk' },
    scope: 'case',
    format: 'zip',
    message: 'For the arraignment.',
  })
  t.equal(link.status, 'processing')
  const inbound = await waitFor('the package received at county-da', async (seen) => {
    const [held] = await clerk.listInboundPackages()
    seen(held?.status ?? 'none')
    return held?.status === 'received' ? held : held?.status === 'refused' ? Promise.reject(new Error(held.failure ?? 'refused')) : undefined
  })
  t.equal(inbound.packageId, link.id)
  t.same(inbound.sender, { org: 'metro-pd', name: 'Metro PD' })
  t.equal(inbound.message, 'For the arraignment.')
  t.equal(inbound.caseId, theCase.id)
  const sent = await waitFor('the offer recorded at metro-pd', async () => {
    const trail = await metro.api.listCaseAudit(theCase.id)
    return trail.some((entry) => entry.type === 'link.offered') ? trail : undefined
  })
  t.ok(
    sent.some((entry) => entry.type === 'link.downloaded' && entry.data['via'] === 'federation'),
    "the pull is on the sender's trail",
  )
  t.equal((await metro.api.getLinkShare(link.id)).package?.digest, inbound.manifest, 'the offer names the signed manifest')

  const dir = t.testdir()
  const file = join(dir, 'case.zip')
  const download = await clerk.downloadInboundPackage(inbound.id, { file })
  t.equal(download.size, inbound.size)
  const verified = await verifyPackage(file, { caFingerprint: metro.node.caFingerprint })
  t.equal(verified.manifest.iss, 'metro-pd')
  t.equal(verified.manifest.jti, link.id)
  t.ok(verified.fingerprintChecked)

  // spec: CW-LOC-035 — ranges, If-Range and HEAD as for a link share's package.
  const bytes = await readFile(file)
  const range = await call(clerkToken, `/inbound-packages/${inbound.id}/package`, { range: 'bytes=100-199' })
  t.equal(range.status, 206)
  t.same(Buffer.from(await range.arrayBuffer()), bytes.subarray(100, 200))
  t.equal(range.headers.get('etag'), `"${inbound.manifest}"`)
  const head = await call(clerkToken, `/inbound-packages/${inbound.id}/package`, {}, 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.headers.get('content-length'), String(bytes.length))

  const mail = await smtp.waitFor('clerk@county-da.example', 30_000)
  t.match(mail.subject, /Metro PD \(metro-pd\) sent you a case package/)
  t.match(mail.text, `/api/v1/inbound-packages/${inbound.id}/package`)
  t.match(mail.text, metro.node.caFingerprint, 'the e-mail carries the fingerprint of the CA county-da pinned for metro-pd')
  t.match(mail.text, 'For the arraignment.')
})

// spec: CW-PKG-017, CW-LOC-002
t.test('anyone but the recipient gets the answer a missing package gets', async (t) => {
  const [held] = await clerk.listInboundPackages()
  t.same(await intern.listInboundPackages(), [], 'the intern sees none')
  for (const path of [`/inbound-packages/${held!.id}`, `/inbound-packages/${held!.id}/package`, '/inbound-packages/no-such-package']) {
    const answer = await call(internToken, path)
    t.equal(answer.status, 404, path)
    t.match(await answer.json(), { code: 'CW_ERR_NOT_FOUND' })
  }
  t.ok((await county.api.listInboundPackages()).length > 0, 'an administrator sees them')
})

// spec: CW-PKG-015, CW-PKG-013
t.test('revoking the link share withdraws the package at county-da, and the pull answers 410', async (t) => {
  const [held] = await clerk.listInboundPackages()
  await metro.api.revokeLinkShare(held!.packageId)
  await waitFor('the package revoked at county-da', async () => ((await clerk.getInboundPackage(held!.id)).status === 'revoked' ? true : undefined))
  const answer = await call(clerkToken, `/inbound-packages/${held!.id}/package`)
  t.equal(answer.status, 410)
  t.match(await answer.json(), { code: 'CW_ERR_SHARE_REVOKED' })
})
