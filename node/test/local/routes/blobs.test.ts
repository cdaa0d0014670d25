/**
 * Deleting evidence (`DELETE /api/v1/evidence/{id}`, CW-LOC-040, CW-LOC-041) and collecting the
 * blob store (`POST /api/v1/blobs/gc`, CW-LOC-042) on the local API, on real stores: who may,
 * when it is refused, what the audit trail says, and that the chunks go only once nothing names
 * them. The node's clock is moved past the grace period instead of waiting.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { createTestApp } from '../../support/local_app.ts'
import { outboundShareRecord, partnerRecord, policyRecord } from '../../support/records.ts'
import { manualClock } from '../../../../testkit/clock.ts'
import { linkPackageJobHandler } from '../../../src/links/link_package.ts'
import { JOB } from '../../../src/jobs/kinds.ts'
import { newJobRecord } from '../../../src/jobs/new_job_record.ts'

const API = '/api/v1'
const HOUR = 60 * 60 * 1000
const clock = manualClock()
const ta = await createTestApp({ clock })
t.teardown(() => ta.close())

async function userWithToken(id: string): Promise<string> {
  await ta.call({ method: 'POST', url: `${API}/users`, payload: { id, name: id, role: 'member' } })
  return (await ta.call({ method: 'POST', url: `${API}/tokens`, payload: { userId: id, role: 'member' } })).json().token
}
const stranger = await userWithToken('other-unit')

async function newCase(token = ta.memberToken): Promise<string> {
  return (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: { title: 'Lifecycle' } }, token })).json().id
}

async function upload(caseId: string, bytes: Buffer, extra: Record<string, string> = {}): Promise<{ id: string; digest: string }> {
  const query = new URLSearchParams({ name: 'item.bin', category: 'photo', ...extra })
  const response = await ta.call({
    method: 'POST',
    url: `${API}/cases/${caseId}/evidence?${query.toString()}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: bytes,
    token: ta.memberToken,
  })
  if (response.statusCode !== 201) throw new Error(response.body)
  return response.json()
}

const chunksOf = async (id: string) => (await ta.ctx.store.cases.getEvidence(id))!.chunks
const remove = (id: string, token = ta.memberToken) => ta.call({ method: 'DELETE', url: `${API}/evidence/${id}`, token })
const collect = (query = '', token = ta.adminToken) => ta.call({ method: 'POST', url: `${API}/blobs/gc${query}`, token })

async function allStored(digests: readonly string[]): Promise<boolean[]> {
  return Promise.all(digests.map((digest) => ta.ctx.blobs.has(digest)))
}

// spec: CW-LOC-040, CW-LOC-041, CW-LOC-042
t.test('deleted evidence is gone at once, audited, and its chunks are freed by the next collection', async (t) => {
  const caseId = await newCase()
  const evidence = await upload(caseId, randomBytes(150_000))
  const chunks = await chunksOf(evidence.id)

  const deleted = await remove(evidence.id)
  t.equal(deleted.statusCode, 200, deleted.body)
  t.match(deleted.json(), { id: evidence.id, digest: evidence.digest }, 'answers the evidence deleted')
  t.equal((await ta.call({ method: 'GET', url: `${API}/evidence/${evidence.id}/content`, token: ta.memberToken })).statusCode, 404)
  t.equal((await remove(evidence.id)).statusCode, 404, 'deleted once')
  const audit = (await ta.call({ method: 'GET', url: `${API}/cases/${caseId}/audit` })).json()
  t.match(audit.entries.at(-1), {
    type: 'evidence.deleted',
    actor: { kind: 'user', id: 'det-smith' },
    data: { evidenceId: evidence.id, digest: evidence.digest },
  })
  t.same(
    await allStored(chunks),
    chunks.map(() => true),
    'the chunks wait for the collector',
  )

  t.match((await collect()).json(), { dryRun: false, freed: 0 }, 'within the grace period: kept')
  clock.advance(2 * HOUR)
  const dry = await collect('?dryRun=true')
  t.equal(dry.statusCode, 200)
  t.match(dry.json(), { dryRun: true, freed: chunks.length, bytesFreed: 150_000 })
  t.same(
    await allStored(chunks),
    chunks.map(() => true),
    'a dry run deletes nothing',
  )

  const run = await collect('?dryRun=false')
  t.match(run.json(), { dryRun: false, freed: chunks.length, bytesFreed: 150_000, young: 0 })
  t.same(
    await allStored(chunks),
    chunks.map(() => false),
    'freed',
  )
  t.match((await ta.ctx.store.audit.list('_federation')).at(-1), {
    type: 'blobs.collected',
    actor: { kind: 'user', id: 'admin-1' },
    data: { freed: chunks.length },
  })
})

t.test('chunks another item holds too stay when one item is deleted', async (t) => {
  const caseId = await newCase()
  const bytes = randomBytes(70_000)
  const first = await upload(caseId, bytes)
  const copy = await upload(await newCase(), bytes)
  t.equal((await remove(first.id)).statusCode, 200)
  clock.advance(2 * HOUR)
  await collect()
  const chunks = await chunksOf(copy.id)
  t.same(
    await allStored(chunks),
    chunks.map(() => true),
  )
  t.equal((await ta.call({ method: 'GET', url: `${API}/evidence/${copy.id}/content`, token: ta.memberToken })).rawPayload.equals(bytes), true)
})

// spec: CW-LOC-040
t.test('refused while a share in force names it, or while another item is attached to it', async (t) => {
  const caseId = await newCase()
  const evidence = await upload(caseId, randomBytes(10_000))
  await ta.ctx.store.policies.insert(policyRecord())
  await ta.ctx.store.partners.upsert(partnerRecord())
  const now = clock.seconds()
  await ta.ctx.store.outboundShares.insert(outboundShareRecord({ id: 'share-in-force', caseId, createdAt: now, updatedAt: now, expiresAt: now + 86_400 }))
  await ta.ctx.store.outboundShares.insertRevision(
    { shareId: 'share-in-force', revision: 1, manifestJws: 'a.b.c', manifestDigest: evidence.digest, createdAt: now, receiptJws: null },
    await chunksOf(evidence.id),
  )
  const refused = await remove(evidence.id)
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'CW_ERR_CONFLICT', detail: /share-in-force/ })
  t.ok(await ta.ctx.store.cases.getEvidence(evidence.id), 'still there')
  await ta.ctx.store.outboundShares.updateStatus('share-in-force', 'revoked', null, null, clock.seconds())
  t.equal((await remove(evidence.id)).statusCode, 200, 'once the share is revoked')

  const parent = await upload(caseId, randomBytes(1000))
  const transcript = await upload(caseId, randomBytes(1000), { attachmentOf: parent.id })
  t.match((await remove(parent.id)).json(), { code: 'CW_ERR_CONFLICT', detail: new RegExp(transcript.id) })
  t.equal((await remove(transcript.id)).statusCode, 200)
  t.equal((await remove(parent.id)).statusCode, 200)
})

// spec: CW-LOC-040, CW-LOC-043
t.test("a link share in force keeps the evidence in its package and its package's generated files", async (t) => {
  const caseId = await newCase()
  const evidence = await upload(caseId, randomBytes(20_000))
  const created = await ta.call({
    method: 'POST',
    url: `${API}/cases/${caseId}/link-shares`,
    payload: { recipient: { kind: 'local-user', value: 'det-smith' }, scope: 'case', format: 'zip' },
    token: ta.memberToken,
  })
  t.equal(created.statusCode, 202, created.body)
  const linkId = created.json().id as string
  t.match((await remove(evidence.id)).json(), { code: 'CW_ERR_CONFLICT', detail: new RegExp(linkId) }, 'refused while its package is being built')

  await linkPackageJobHandler(ta.ctx)(newJobRecord(JOB.linkPackage, linkId, {}, 0), new AbortController().signal)
  const generated = (await ta.ctx.store.linkShares.listMembers(linkId)).flatMap((member) => (member.source.kind === 'generated' ? [member.source.digest] : []))
  t.ok(generated.length > 0, 'the package has generated files (manifest, checksums…) in the blob store')
  t.match((await remove(evidence.id)).json(), { code: 'CW_ERR_CONFLICT', detail: new RegExp(linkId) }, 'refused while the ready package holds it')
  clock.advance(2 * HOUR)
  await collect()
  t.same(
    await allStored(generated),
    generated.map(() => true),
    'a collection keeps what the package is streamed from',
  )
  const download = await ta.call({ method: 'GET', url: `${API}/link-shares/${linkId}/package`, token: ta.memberToken })
  t.equal(download.statusCode, 200, 'and the package still downloads')

  t.equal((await ta.call({ method: 'POST', url: `${API}/link-shares/${linkId}/revoke`, token: ta.memberToken })).statusCode, 200)
  t.equal((await remove(evidence.id)).statusCode, 200, 'once the link share is revoked')
  clock.advance(2 * HOUR)
  await collect()
  t.same(
    await allStored(generated),
    generated.map(() => false),
    "then the next collection frees the package's files",
  )
})

// spec: CW-LOC-040, CW-LOC-002
t.test("another case's user gets the 404 a random id gets; the team and an administrator may delete", async (t) => {
  const caseId = await newCase()
  const evidence = await upload(caseId, randomBytes(1000))
  const attempt = await remove(evidence.id, stranger)
  t.equal(attempt.statusCode, 404)
  const missing = randomUUID()
  t.equal(attempt.body.replaceAll(evidence.id, missing), (await remove(missing, stranger)).body, 'the same answer as for a random id')
  t.ok(await ta.ctx.store.cases.getEvidence(evidence.id), 'untouched')

  await ta.call({ method: 'PUT', url: `${API}/cases/${caseId}/team`, payload: { team: [{ kind: 'user', id: 'other-unit' }] }, token: ta.memberToken })
  t.equal((await remove(evidence.id, stranger)).statusCode, 200, 'a team member')
  const another = await upload(caseId, randomBytes(1000))
  t.equal((await remove(another.id, ta.adminToken)).statusCode, 200, 'an administrator')
})

// spec: CW-LOC-042
t.test('a collection is for administrators only', async (t) => {
  const caseId = await newCase()
  const evidence = await upload(caseId, randomBytes(1000))
  const chunks = await chunksOf(evidence.id)
  await remove(evidence.id)
  clock.advance(2 * HOUR)
  for (const token of [ta.memberToken, stranger]) {
    const refused = await collect('', token)
    t.equal(refused.statusCode, 403)
    t.equal(refused.json().code, 'CW_ERR_FORBIDDEN')
  }
  t.same(await allStored(chunks), [true], 'nothing collected')
  t.equal((await collect('?dryRun=perhaps')).statusCode, 400)
})
