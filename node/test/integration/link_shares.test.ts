/**
 * Share with a link on a real node process over its real local API (SPEC.md §22, CW-LOC-032…
 * CW-LOC-036): the node's job runner builds a ZIP, a TAR and an ISO package of a case; its
 * recipient downloads each whole and by ranges (the same bytes every time, If-Range, HEAD,
 * 416 beyond the end), and `verifyPackage` accepts each with the node's CA fingerprint. The
 * do-not-disclose item is in none; another user cannot download; a revoked link is refused
 * with 410; the case's access listing and audit trail show the link shares and downloads.
 */
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { verifyPackage } from '#packaging'
import { generatedContent } from '../../../testkit/content.ts'
import { waitFor } from '../../../testkit/wait.ts'
import type { AuditEntryRecord } from '../../src/store/metadata_store.ts'
import { startOrg } from '../support/processes.ts'

const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers: { chunkSize: 65_536 } } })
const api = `${metro.api.baseUrl}/api/v1`
await metro.api.createUser({ id: 'bob', name: 'Bob Clerk' })
await metro.api.createUser({ id: 'eve', name: 'Eve Other' })
const bob = (await metro.api.createToken('bob', 'member')).token
const eve = (await metro.api.createToken('eve', 'member')).token

const theCase = await metro.api.createCase({ caseNumber: 'M-7', title: 'Warehouse fire' })
const scene = await metro.api.createFolder(theCase.id, 'Scene: CON  .')
const video = await metro.api.uploadEvidence(theCase.id, { name: 'camera 1.mp4', category: 'video', folderId: scene.id }, () =>
  generatedContent(200_000, 'video'),
)
const note = await metro.api.uploadEvidence(theCase.id, { name: 'note.txt', category: 'document' }, () => generatedContent(1_000, 'note'))
const informant = await metro.api.uploadEvidence(theCase.id, { name: 'informant.txt', category: 'document', doNotDisclose: true }, () =>
  generatedContent(500, 'secret'),
)

async function call(method: string, path: string, token: string = metro.token, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

interface LinkShare {
  id: string
  status: string
  failure: string | null
  package: { fileName: string; size: number; digest: string; items: number } | null
}

async function createLink(t: Test, format: string, extra: Record<string, unknown> = {}): Promise<LinkShare> {
  const response = await call('POST', `/cases/${theCase.id}/link-shares`, metro.token, {
    recipient: { kind: 'local-user', value: 'bob' },
    scope: 'case',
    format,
    attachments: { auditTrail: true, tableOfContents: true, transcripts: true },
    message: 'For the hearing on Monday.',
    ...extra,
  })
  if (response.status !== 202) throw new Error(`create: ${response.status} ${await response.text()}`)
  const link = (await response.json()) as LinkShare
  t.equal(link.status, 'processing', 'processing until the job built the package')
  return waitFor(`link share ${link.id} ready`, async (seen) => {
    const current = (await (await call('GET', `/link-shares/${link.id}`)).json()) as LinkShare
    seen(current.status)
    if (current.status === 'failed') throw new Error(`link share failed: ${current.failure}`)
    return current.status === 'ready' ? current : undefined
  })
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer())

// spec: CW-LOC-032, CW-LOC-033, CW-LOC-034, CW-LOC-035, CW-LOC-037
for (const format of ['zip', 'tar', 'iso'] as const) {
  t.test(`a ${format.toUpperCase()} link share downloads whole and by ranges, and verifies offline`, async (t) => {
    const link = await createLink(t, format)
    t.equal(link.package!.items, 2, 'the do-not-disclose item is left out')
    t.match(link.package!.fileName, new RegExp(`\\.${format}$`))

    const head = await call('HEAD', `/link-shares/${link.id}/package`, bob)
    t.equal(head.status, 200)
    t.equal(head.headers.get('content-length'), String(link.package!.size))
    t.equal(head.headers.get('etag'), `"${link.package!.digest}"`)
    t.equal(head.headers.get('accept-ranges'), 'bytes')
    t.match(head.headers.get('content-disposition'), new RegExp(`filename="[^"]+\\.${format}"`))

    const whole = await call('GET', `/link-shares/${link.id}/package`, bob)
    t.equal(whole.status, 200)
    const bytes = await bytesOf(whole)
    t.equal(bytes.length, link.package!.size)
    const again = await bytesOf(await call('GET', `/link-shares/${link.id}/package`, bob))
    t.equal(sha256(again), sha256(bytes), 'every download is the same bytes')

    // A download broken off and resumed, in three ranges that cross member boundaries.
    const size = bytes.length
    const cuts = [0, Math.floor(size / 3), Math.floor((2 * size) / 3), size]
    const parts: Uint8Array[] = []
    for (let index = 0; index < 3; index++) {
      const range = `bytes=${cuts[index]}-${cuts[index + 1]! - 1}`
      const part = await call('GET', `/link-shares/${link.id}/package`, bob, undefined, { range, 'if-range': `"${link.package!.digest}"` })
      t.equal(part.status, 206)
      t.equal(part.headers.get('content-range'), `bytes ${cuts[index]}-${cuts[index + 1]! - 1}/${size}`)
      parts.push(await bytesOf(part))
    }
    t.equal(sha256(Buffer.concat(parts)), sha256(bytes), 'the ranges make up the package')
    const stale = await call('GET', `/link-shares/${link.id}/package`, bob, undefined, { range: 'bytes=0-9', 'if-range': '"sha256:stale"' })
    t.equal(stale.status, 200, 'another entity tag gets the whole package')
    await stale.arrayBuffer()
    const beyond = await call('GET', `/link-shares/${link.id}/package`, bob, undefined, { range: `bytes=${size}-` })
    t.equal(beyond.status, 416)
    t.equal(beyond.headers.get('content-range'), `bytes */${size}`)
    t.match(await beyond.json(), { code: 'CW_ERR_RANGE_INVALID' })

    const file = join(t.testdir(), link.package!.fileName)
    await writeFile(file, bytes)
    const verified = await verifyPackage(file, { caFingerprint: metro.node.caFingerprint })
    t.equal(verified.kind, format)
    t.equal(verified.fingerprintChecked, true)
    const evidence = verified.manifest.files.filter((f) => f.role === 'evidence')
    t.same(evidence.map((f) => f.evidence?.id).sort(), [video.id, note.id].sort())
    t.notOk(
      verified.manifest.files.some((f) => f.evidence?.id === informant.id),
      'do-not-disclose evidence is never packaged',
    )
    t.ok(
      verified.manifest.files.some((f) => f.path === 'audit-trail.jsonl'),
      'the audit trail is attached',
    )
    t.equal(verified.manifest.sender.user, 'admin')

    const refused = await call('GET', `/link-shares/${link.id}/package`, eve)
    t.equal(refused.status, 404, 'another user gets what a missing link share gets')
    t.match(await refused.json(), { code: 'CW_ERR_NOT_FOUND' })
    t.equal((await call('GET', `/link-shares/${link.id}`, eve)).status, 404)
    t.equal((await call('POST', `/link-shares/${link.id}/revoke`, bob)).status, 404, 'the recipient cannot revoke')
  })
}

// spec: CW-LOC-033, CW-LOC-035, CW-LOC-036, CW-LOC-038
t.test('a revoked link share is refused; the access listing and the audit trail show link shares', async (t) => {
  const named = await call('POST', `/cases/${theCase.id}/link-shares`, metro.token, {
    recipient: { kind: 'local-user', value: 'bob' },
    scope: 'evidence',
    evidenceIds: [note.id, informant.id],
    format: 'zip',
  })
  t.equal(named.status, 403)
  t.match(await named.json(), { code: 'CW_ERR_DO_NOT_DISCLOSE' })

  const link = await createLink(t, 'tar', { scope: 'folders', folderIds: [scene.id], retainFolderStructure: false })
  t.equal(link.package!.items, 1)
  const revoked = await call('POST', `/link-shares/${link.id}/revoke`)
  t.equal(revoked.status, 200)
  t.match(await revoked.json(), { status: 'revoked', revokedBy: 'admin' })
  const refused = await call('GET', `/link-shares/${link.id}/package`, bob)
  t.equal(refused.status, 410)
  t.match(await refused.json(), { code: 'CW_ERR_SHARE_REVOKED' })
  t.equal((await call('HEAD', `/link-shares/${link.id}/package`, bob)).status, 410)

  const access = (await (await call('GET', `/cases/${theCase.id}/access`)).json()) as { linkShares: LinkShare[] }
  t.ok(
    access.linkShares.some((l) => l.id === link.id && l.status === 'revoked'),
    'the access listing shows the link share',
  )
  const listed = (await (await call('GET', `/cases/${theCase.id}/link-shares`, bob)).json()) as unknown
  t.match(listed, { code: 'CW_ERR_NOT_FOUND' }, "the recipient does not list the case's link shares")

  const trail = await waitFor('link.revoked on the trail', async () => {
    const { entries } = (await (await call('GET', `/cases/${theCase.id}/audit?limit=1000`)).json()) as { entries: AuditEntryRecord[] }
    return entries.some((e) => e.type === 'link.revoked') ? entries : undefined
  })
  const types = trail.map((e) => e.type)
  for (const type of ['link.created', 'link.ready', 'link.downloaded', 'link.revoked']) t.ok(types.includes(type), `the trail has ${type}`)
  const download = trail.find((e) => e.type === 'link.downloaded' && e.data['range'] !== null)!
  t.match(download, { actor: { kind: 'user', id: 'bob' }, data: { address: /^(::ffff:)?127\.0\.0\.1$/, via: 'local-api' } })
  t.match(
    trail.find((e) => e.type === 'link.revoked'),
    { actor: { kind: 'user', id: 'admin' }, data: { linkShareId: link.id } },
  )
})
