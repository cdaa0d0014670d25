import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { chunkStream, type CaseManifest, type SharingPolicy } from '#protocol'
import type { InboundShareRecord } from '../../../src/store/metadata_store.ts'
import { piecesOf } from '../../support/fixtures.ts'
import { createTestApp } from '../../support/local_app.ts'
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

async function insertInbound(download: boolean): Promise<InboundShareRecord> {
  const policy = { ...policyBody(), id: 'da-policy', version: 2 } as SharingPolicy
  policy.permissions = { ...policy.permissions, download }
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
  const record: InboundShareRecord = {
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
  await ta.ctx.store.insertInboundShare(record)
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
