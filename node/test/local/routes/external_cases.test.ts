import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { chunkStream, type CaseManifest, type SharingPolicy } from '#protocol'
import type { InboundShareWithManifest } from '../../../src/store/metadata_store.ts'
import { piecesOf } from '../../support/fixtures.ts'
import { createTestApp } from '../../support/local_app.ts'
import { createUser } from '../../../src/access/principals.ts'
import { policyBody } from '../../../../testkit/fixtures/policies.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
const now = Math.floor(Date.now() / 1000)
const bytes = randomBytes(100_000)
const chunks = chunkStream(piecesOf(bytes), 65536)
let step = await chunks.next()
while (step.done !== true) {
  await ta.ctx.blobs.put(step.value.digest, step.value.data)
  step = await chunks.next()
}
const summary = step.value

async function insertInbound(download: boolean, addRecipients?: boolean): Promise<InboundShareWithManifest> {
  const policy = { ...policyBody(), id: 'da-policy', version: 2 } as SharingPolicy
  policy.permissions = { ...policy.permissions, download, ...(addRecipients === undefined ? {} : { addRecipients }) }
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: 'county-da',
    aud: ta.ctx.identity.org,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    share: { id: randomUUID(), revision: 1, scope: 'evidence', live: false },
    case: { id: 'da-9', fields: { title: 'Fraud' }, folders: [] },
    evidence: [
      {
        id: 'ledger',
        name: 'ledger.pdf',
        category: 'document',
        mediaType: 'application/pdf',
        size: summary.size,
        digest: summary.digest,
        chunkSize: 65536,
        chunks: summary.chunks,
        doNotDisclose: false,
      },
    ],
    grants: ['aGVhZGVy.cGF5bG9hZA.c2ln'],
  }
  const record: InboundShareWithManifest = {
    id: randomUUID(),
    senderOrg: 'county-da',
    senderName: 'County DA',
    shareId: manifest.share.id,
    revision: 1,
    manifestJws: 'aGVhZGVy.cGF5bG9hZA.c2ln',
    manifestDigest: 'sha256:' + '1'.repeat(64),
    manifest,
    policy,
    status: 'complete',
    statusDetail: null,
    receivedAt: now,
    completedAt: now,
    expiresAt: now + 3600,
    receiptJws: null,
  }
  await ta.ctx.store.inboundShares.insert(record)
  return record
}

t.test('external cases are listed and shown with the sharing organization and its policy', async (t) => {
  const record = await insertInbound(false)
  const list = (await ta.call({ method: 'GET', url: '/api/v1/external-cases', token: ta.memberToken })).json().externalCases
  t.match(
    list.find((c: { id: string }) => c.id === record.id),
    { sender: { org: 'county-da', name: 'County DA' }, status: 'complete' },
  )
  const detail = await ta.call({ method: 'GET', url: `/api/v1/external-cases/${record.id}`, token: ta.memberToken })
  t.equal(detail.statusCode, 200)
  t.match(detail.json(), {
    case: { fields: { title: 'Fraud' } },
    evidence: [{ id: 'ledger', size: bytes.length, digest: summary.digest }],
    policy: { permissions: { download: false } },
  })
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/external-cases/missing' })).statusCode, 404)
})

// spec: CW-POL-006
t.test('download is 403 CW_ERR_ACTION_NOT_ALLOWED without the download permission', async (t) => {
  const record = await insertInbound(false)
  const response = await ta.call({ method: 'GET', url: `/api/v1/external-cases/${record.id}/evidence/ledger/content`, token: ta.memberToken })
  t.equal(response.statusCode, 403)
  t.equal(response.json().code, 'CW_ERR_ACTION_NOT_ALLOWED')
})

// spec: CW-POL-006
t.test('download streams the bytes when the policy permits it', async (t) => {
  const record = await insertInbound(true)
  const response = await ta.call({ method: 'GET', url: `/api/v1/external-cases/${record.id}/evidence/ledger/content`, token: ta.memberToken })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'application/pdf')
  t.equal(response.headers['content-length'], String(bytes.length))
  t.ok(response.rawPayload.equals(bytes))
})

await createUser(ta.ctx, { id: 'det-jones', name: 'Det. Jones' })

// spec: CW-POL-008, CW-LOC-025
t.test('POST /external-cases/{id}/recipients: 403 CW_ERR_ACTION_NOT_ALLOWED unless the policy permits addRecipients', async (t) => {
  const body = { recipients: [{ kind: 'user', id: 'det-jones' }] }
  const withheld = await insertInbound(true)
  const refused = await ta.call({ method: 'POST', url: `/api/v1/external-cases/${withheld.id}/recipients`, token: ta.memberToken, payload: body })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'CW_ERR_ACTION_NOT_ALLOWED')
  t.match(refused.headers['content-type'], /^application\/problem\+json/)

  const permitted = await insertInbound(true, true)
  const added = await ta.call({ method: 'POST', url: `/api/v1/external-cases/${permitted.id}/recipients`, token: ta.memberToken, payload: body })
  t.equal(added.statusCode, 200, added.body)
  t.match(added.json(), {
    inboundId: permitted.id,
    added: [{ kind: 'user', id: 'det-jones' }],
    addedRecipients: [{ kind: 'user', id: 'det-jones', addedBy: 'det-smith' }],
  })
  const shown = await ta.call({ method: 'GET', url: `/api/v1/external-cases/${permitted.id}`, token: ta.memberToken })
  t.match(shown.json().addedRecipients, [{ kind: 'user', id: 'det-jones', addedBy: 'det-smith' }])

  const badKind = await ta.call({
    method: 'POST',
    url: `/api/v1/external-cases/${permitted.id}/recipients`,
    token: ta.memberToken,
    payload: { recipients: [{ kind: 'email', id: 'x@example.org' }] },
  })
  t.equal(badKind.statusCode, 400)
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/external-cases/missing/recipients', token: ta.memberToken, payload: body })).statusCode, 404)
})

// spec: CW-LOC-025, CW-LOC-026
t.test('POST /cases/{id}/import-details/recipients adds to the external case the case was imported from', async (t) => {
  const permitted = await insertInbound(true, true)
  const imported = await ta.call({ method: 'POST', url: `/api/v1/external-cases/${permitted.id}/import`, token: ta.memberToken })
  t.equal(imported.statusCode, 201)
  const caseId = imported.json().id as string
  const added = await ta.call({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/import-details/recipients`,
    token: ta.memberToken,
    payload: { recipients: [{ kind: 'user', id: 'det-jones' }] },
  })
  t.equal(added.statusCode, 200)
  const details = await ta.call({ method: 'GET', url: `/api/v1/cases/${caseId}/import-details`, token: ta.memberToken })
  t.match(details.json().addedRecipients, [{ kind: 'user', id: 'det-jones', addedBy: 'det-smith' }])
  const trail = await ta.ctx.store.audit.list(caseId, { limit: 100 })
  t.match(trail.find((entry) => entry.type === 'import.recipients_added')?.data, { inboundId: permitted.id, recipients: ['user:det-jones'] })
})
