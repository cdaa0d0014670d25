/**
 * Importing an external case (CW-LOC-003): recipients only, within the sender's policy, once
 * per external case; the local case carries the shared fields, folders and evidence (the same
 * chunks, not copies) and its import details.
 */
import t from 'tap'
import { createTestApp } from '../../support/local_app.ts'
import { insertInbound } from '../../support/inbound.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
const API = '/api/v1'

async function userWithToken(id: string): Promise<string> {
  await ta.call({ method: 'POST', url: `${API}/users`, payload: { id, name: `${id[0]!.toUpperCase()}${id.slice(1)}` } })
  return (await ta.call({ method: 'POST', url: `${API}/tokens`, payload: { userId: id, role: 'member' } })).json().token
}
const alice = await userWithToken('alice')
const bob = await userWithToken('bob')
const mallory = await userWithToken('mallory')

// spec: CW-LOC-003, CW-LOC-002
t.test('a recipient imports an external case: fields, folders and evidence on the same chunks, owned by the importer', async (t) => {
  const { record, bytes } = await insertInbound(ta.ctx, {
    recipients: [
      { kind: 'user', id: 'alice' },
      { kind: 'user', id: 'bob' },
    ],
  })
  const response = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: alice })
  t.equal(response.statusCode, 201)
  const imported = response.json()
  t.match(imported, { fields: { title: 'Robbery', caseNumber: 'DA-7', tags: ['lobby'] }, importedFrom: record.id })
  t.same((await ta.ctx.store.cases.getAccess(imported.id))?.owner, 'alice')

  const detail = (await ta.call({ method: 'GET', url: `${API}/cases/${imported.id}`, token: alice })).json()
  t.same(detail.folders.map((f: { id: string; parentId: string | null; name: string }) => [f.id, f.parentId, f.name]).sort(), [
    ['lobby', 'video', 'Lobby'],
    ['video', null, 'Video'],
  ])
  const evidence = (await ta.call({ method: 'GET', url: `${API}/cases/${imported.id}/evidence`, token: alice })).json().evidence
  t.equal(evidence.length, 2)
  const [video, transcript] = [evidence.find((e: { name: string }) => e.name === 'lobby.mp4'), evidence.find((e: { name: string }) => e.name === 'lobby.txt')]
  t.match(video, {
    folderId: 'lobby',
    category: 'video',
    digest: record.manifest.evidence[0]!.digest,
    size: bytes.length,
    doNotDisclose: false,
    attachmentOf: null,
  })
  t.equal(transcript.attachmentOf, video.id, 'the attachment follows its item under the new id')
  const stored = await ta.ctx.store.cases.getEvidence(video.id)
  t.same(stored?.chunks, record.manifest.evidence[0]!.chunks, 'the same content-addressed chunks: nothing copied')
  const download = await ta.call({ method: 'GET', url: `${API}/evidence/${video.id}/content`, token: alice })
  t.equal(download.statusCode, 200)
  t.ok(download.rawPayload.equals(Buffer.from(bytes)))

  const event = ta.events.find((e) => e.type === 'case.imported' && e.caseId === record.id)
  t.match(event, { type: 'case.imported', caseId: record.id, importedCaseId: imported.id, actor: { kind: 'user', id: 'alice' } })

  // Idempotent: the importer (or anyone who may read the case) gets the same case, 200.
  const again = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: alice })
  t.equal(again.statusCode, 200)
  t.equal(again.json().id, imported.id)
  t.equal((await ta.ctx.store.cases.list()).filter((c) => c.importedFrom === record.id).length, 1)
  // Another recipient cannot read alice's case: 409 until she adds him to the team.
  const other = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: bob })
  t.equal(other.statusCode, 409)
  t.equal(other.json().code, 'CW_ERR_CONFLICT')
  await ta.call({ method: 'PUT', url: `${API}/cases/${imported.id}/team`, payload: { team: [{ kind: 'user', id: 'bob' }] }, token: alice })
  t.equal((await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: bob })).json().id, imported.id)
  // Not a recipient: the 404 of a missing external case.
  const stranger = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: mallory })
  t.equal(stranger.statusCode, 404)
  t.equal(stranger.json().code, 'CW_ERR_NOT_FOUND')
})

// spec: CW-LOC-003, CW-POL-006
t.test('import the policy does not permit is 403 CW_ERR_ACTION_NOT_ALLOWED, recorded, and creates nothing', async (t) => {
  const { record } = await insertInbound(ta.ctx, { permissions: { import: false } })
  const cases = (await ta.ctx.store.cases.list()).length
  const response = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: alice })
  t.equal(response.statusCode, 403)
  t.equal(response.json().code, 'CW_ERR_ACTION_NOT_ALLOWED')
  t.equal((await ta.ctx.store.cases.list()).length, cases)
  t.ok(
    ta.events.some(
      (e) =>
        e.type === 'action.refused' && e.caseId === record.id && e.code === 'CW_ERR_ACTION_NOT_ALLOWED' && e.actor.kind === 'user' && e.actor.id === 'alice',
    ),
  )
})

// spec: CW-LOC-003, CW-POL-006
t.test('a policy that permits import but withholds download permits no import: the copy would hand out the bytes', async (t) => {
  const { record, bytes } = await insertInbound(ta.ctx, { permissions: { import: true, download: false }, recipients: [{ kind: 'user', id: 'alice' }] })
  const cases = (await ta.ctx.store.cases.list()).length
  const response = await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: alice })
  t.equal(response.statusCode, 403)
  t.match(response.json(), { code: 'CW_ERR_ACTION_NOT_ALLOWED', detail: /does not permit download/ })
  t.equal((await ta.ctx.store.cases.list()).length, cases, 'no local copy')
  const item = record.manifest.evidence[0]!
  const external = await ta.call({ method: 'GET', url: `${API}/external-cases/${record.id}/evidence/${item.id}/content`, token: alice })
  t.equal(external.statusCode, 403, 'and the external download stays refused')
  t.notOk(external.rawPayload.includes(Buffer.from(bytes).subarray(0, 64)), 'no byte of the evidence')
})

// spec: CW-LOC-003
t.test('an administrator cannot create a policy that permits import without download', async (t) => {
  const body = {
    name: 'Import only',
    permissions: { view: true, download: false, import: true, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['title'], evidenceCategories: ['video'], attachments: false },
    maxDurationSeconds: 86_400,
  }
  const response = await ta.call({ method: 'POST', url: `${API}/policies`, payload: body })
  t.equal(response.statusCode, 400)
  t.match(response.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/permissions/import' })
  body.permissions.download = true
  t.equal((await ta.call({ method: 'POST', url: `${API}/policies`, payload: body })).statusCode, 201)
})

// spec: CW-LOC-003, CW-POL-006
t.test('only a complete share that is neither revoked nor expired can be imported', async (t) => {
  const receiving = (await insertInbound(ta.ctx, { status: 'receiving' })).record
  const revoked = (await insertInbound(ta.ctx, { status: 'revoked' })).record
  const expired = (await insertInbound(ta.ctx, { expiresAt: Math.floor(Date.now() / 1000) - 5 })).record
  const rejected = (await insertInbound(ta.ctx, { status: 'rejected' })).record
  const expect: Array<[string, number, string]> = [
    [receiving.id, 409, 'CW_ERR_CONFLICT'],
    [revoked.id, 410, 'CW_ERR_SHARE_REVOKED'],
    [expired.id, 410, 'CW_ERR_SHARE_EXPIRED'],
    [rejected.id, 404, 'CW_ERR_NOT_FOUND'],
  ]
  for (const [id, status, code] of expect) {
    const response = await ta.call({ method: 'POST', url: `${API}/external-cases/${id}/import`, token: alice })
    t.equal(response.statusCode, status, code)
    t.equal(response.json().code, code)
    t.equal(await ta.ctx.store.cases.findImportedFrom(id), undefined)
  }
})

// spec: CW-LOC-003
t.test('import details: sender, recipients, received-on, access level and policy', async (t) => {
  const { record } = await insertInbound(ta.ctx, {
    recipients: [
      { kind: 'badge', id: 'B-1' },
      { kind: 'agency', id: ta.ctx.identity.org },
    ],
    permissions: { applyUpdates: false },
  })
  const imported = (await ta.call({ method: 'POST', url: `${API}/external-cases/${record.id}/import`, token: bob })).json()
  const details = await ta.call({ method: 'GET', url: `${API}/cases/${imported.id}/import-details`, token: bob })
  t.equal(details.statusCode, 200)
  t.same(details.json(), {
    caseId: imported.id,
    inboundId: record.id,
    senderOrg: 'county-da',
    senderName: 'County District Attorney',
    recipients: [
      { kind: 'badge', id: 'B-1' },
      { kind: 'agency', id: ta.ctx.identity.org },
    ],
    addedRecipients: [],
    receivedAt: record.receivedAt,
    importedAt: imported.createdAt,
    accessLevel: 'full',
    policy: { id: 'da-policy', version: 3, name: record.policy.name, permissions: record.policy.permissions },
    shareId: record.shareId,
    revision: 1,
    shareStatus: 'complete',
    // This fixture's one grant is unsigned but grant-shaped (onward.test.ts checks a real chain).
    provenance: [
      {
        depth: 0,
        from: { org: 'county-da', name: null },
        to: { org: ta.ctx.identity.org, name: ta.ctx.identity.name },
        issuedAt: record.receivedAt,
        expiresAt: record.expiresAt,
        policy: { id: 'da-policy', version: 3, name: record.policy.name, permissions: record.policy.permissions },
      },
    ],
  })
  const local = (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: {} }, token: bob })).json()
  const none = await ta.call({ method: 'GET', url: `${API}/cases/${local.id}/import-details`, token: bob })
  t.equal(none.statusCode, 404)
  t.equal(none.json().code, 'CW_ERR_NOT_FOUND')
  t.equal((await ta.call({ method: 'GET', url: `${API}/cases/${imported.id}/import-details`, token: mallory })).statusCode, 404)
  // An imported case holds another organization's evidence: it is not shared anew from here.
  t.equal(
    (await ta.call({ method: 'POST', url: `${API}/shares`, payload: { caseId: imported.id, partnerOrg: 'county-da', scope: 'case' }, token: bob })).statusCode,
    409,
  )
})
