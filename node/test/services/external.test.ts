import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { chunkStream, type CaseManifest, type SharingPolicy } from '#protocol'
import { getExternalCase, listExternalCases, openExternalEvidence } from '../../src/receiving/external_cases.ts'
import type { InboundShareWithManifest } from '../../src/store/metadata_store.ts'
import type { NodeContext } from '../../src/context.ts'
import { createTestContext } from '../support/context.ts'
import { piecesOf, readAll } from '../support/fixtures.ts'
import { policyBody } from '../../../testkit/fixtures/policies.ts'

const tc = await createTestContext()
t.teardown(() => tc.close())
const { ctx } = tc
const now = Math.floor(Date.now() / 1000)
const bytes = randomBytes(150_000)

/** Stores `data` in the blob store as the receiver's fetch job would, returning its summary. */
async function storeChunks(context: NodeContext, data: Uint8Array) {
  const chunks = chunkStream(piecesOf(data), 65536)
  let step = await chunks.next()
  while (step.done !== true) {
    await context.blobs.put(step.value.digest, step.value.data)
    step = await chunks.next()
  }
  return step.value
}
const summary = await storeChunks(ctx, bytes)
/** The recipient the manifests name. */
const smith = { userId: 'det-smith', role: 'member' as const, groups: [] }

/** An inbound share as the federation side stores it; `overrides` change status, policy, expiry. */
async function insertInbound(
  overrides: { status?: InboundShareWithManifest['status']; download?: boolean; expiresAt?: number } = {},
): Promise<InboundShareWithManifest> {
  const policy = { ...policyBody(), id: 'da-policy', version: 4 } as SharingPolicy
  policy.permissions = { ...policy.permissions, download: overrides.download ?? true }
  const shareId = randomUUID()
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: 'county-da',
    aud: ctx.identity.org,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    share: { id: shareId, revision: 1, scope: 'case', live: true, message: 'For review', recipients: [{ kind: 'user', id: 'det-smith' }] },
    case: { id: 'da-case-7', fields: { title: 'Robbery', caseNumber: 'DA-7' }, folders: [{ id: 'f1', name: 'Video' }] },
    evidence: [
      {
        id: 'e1',
        name: 'lobby.mp4',
        folder: 'f1',
        category: 'video',
        mediaType: 'video/mp4',
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
    senderName: 'County District Attorney',
    shareId,
    revision: 1,
    manifestJws: 'aGVhZGVy.cGF5bG9hZA.c2ln',
    manifestDigest: 'sha256:' + '0'.repeat(64),
    manifest,
    policy,
    status: overrides.status ?? 'complete',
    statusDetail: null,
    receivedAt: now,
    completedAt: overrides.status === 'receiving' ? null : now,
    expiresAt: overrides.expiresAt ?? now + 3600,
    receiptJws: null,
  }
  await ctx.store.inboundShares.insert(record)
  return record
}

t.test('external cases are listed with the sharing organization; rejected ones are not', async (t) => {
  const shown = await insertInbound()
  const rejected = await insertInbound({ status: 'rejected' })
  const listed = (await listExternalCases(ctx, smith, { limit: 100 })).externalCases
  const mine = listed.find((c) => c.id === shown.id)
  t.match(mine, { sender: { org: 'county-da', name: 'County District Attorney' }, status: 'complete', shareId: shown.shareId })
  t.notOk(listed.some((c) => c.id === rejected.id))
  await t.rejects(getExternalCase(ctx, smith, rejected.id), { code: 'CW_ERR_NOT_FOUND' })
})

t.test('an external case shows fields, folders, items and the sender policy permissions', async (t) => {
  const record = await insertInbound({ download: false })
  const external = await getExternalCase(ctx, smith, record.id)
  t.same(external.case?.fields, { title: 'Robbery', caseNumber: 'DA-7' })
  t.same(external.evidence, [
    { id: 'e1', name: 'lobby.mp4', folder: 'f1', category: 'video', mediaType: 'video/mp4', size: bytes.length, digest: summary.digest, attachmentOf: null },
  ])
  t.match(external.policy, { id: 'da-policy', version: 4, permissions: { view: true, download: false } })
  t.same(external.recipients, [{ kind: 'user', id: 'det-smith' }])
  t.equal(external.message, 'For review')
})

// spec: CW-POL-006
t.test('download is refused when the sender policy does not permit it', async (t) => {
  const record = await insertInbound({ download: false })
  await t.rejects(openExternalEvidence(ctx, smith, record.id, 'e1'), { code: 'CW_ERR_ACTION_NOT_ALLOWED' })
})

// spec: CW-POL-006
t.test('download streams the bytes when permitted and the share is complete', async (t) => {
  const record = await insertInbound({ download: true })
  const { evidence, stream } = await openExternalEvidence(ctx, smith, record.id, 'e1')
  t.equal(evidence.digest, summary.digest)
  t.ok((await readAll(stream)).equals(bytes))
  await t.rejects(openExternalEvidence(ctx, smith, record.id, 'e2'), { code: 'CW_ERR_NOT_FOUND' })
})

// spec: CW-POL-006
t.test('revoked, expired and still-receiving shares give no download', async (t) => {
  const revoked = await insertInbound({ status: 'revoked' })
  await t.rejects(openExternalEvidence(ctx, smith, revoked.id, 'e1'), { code: 'CW_ERR_SHARE_REVOKED' })
  await t.rejects(getExternalCase(ctx, smith, revoked.id), { code: 'CW_ERR_SHARE_REVOKED' })
  const expired = await insertInbound({ expiresAt: now - 1 })
  await t.rejects(openExternalEvidence(ctx, smith, expired.id, 'e1'), { code: 'CW_ERR_SHARE_EXPIRED' })
  t.equal(
    (await listExternalCases(ctx, smith, { limit: 100 })).externalCases.find((c) => c.id === expired.id)?.status,
    'expired',
    'past expiry reads as expired',
  )
  const marked = await insertInbound({ status: 'expired' })
  await t.rejects(openExternalEvidence(ctx, smith, marked.id, 'e1'), { code: 'CW_ERR_SHARE_EXPIRED' })
  const receiving = await insertInbound({ status: 'receiving' })
  await t.rejects(openExternalEvidence(ctx, smith, receiving.id, 'e1'), { code: 'CW_ERR_CONFLICT' })
  await t.rejects(openExternalEvidence(ctx, smith, 'missing', 'e1'), { code: 'CW_ERR_NOT_FOUND' })
})
