/**
 * Revocation on both sides, in one process (SPEC.md §13): the sender marks the share revoked,
 * refuses its chunks and queues a signed revocation in the same step; the receiver verifies
 * one, ends its users' access, and cascades to the shares it derived. Expiry reads the same way.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { PROTOCOL_VERSION, signRevocation, verifyRevocation, type Revocation } from '#protocol'
import { createCase } from '../../src/cases/cases.ts'
import { getCaseAccessOverview } from '../../src/access/case_access_overview.ts'
import { openChunk } from '../../src/sending/serve_chunk.ts'
import { getExternalCase, openExternalEvidence } from '../../src/receiving/external_cases.ts'
import { getImportDetails, importExternalCase } from '../../src/receiving/import_case.ts'
import { acceptRevocation } from '../../src/revocation/accept_revocation.ts'
import { createShare, getShare } from '../../src/sending/share_case.ts'
import { revokeShare } from '../../src/revocation/revoke_share.ts'
import { userActor } from '../../src/events.ts'
import type { OutboundShareRecord } from '../../src/store/metadata_store.ts'
import { createTestContext } from '../support/context.ts'
import { type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { addPartner, upload } from '../support/fixtures.ts'
import { insertInbound } from '../support/inbound.ts'
import { PooledBuffers } from '../../src/store/pooled_buffers.ts'

let now = new Date()
const tc = await createTestContext({ clock: { now: () => now } })
t.teardown(() => tc.close())
const { ctx } = tc
const { partner: da } = await addPartner(ctx, 'county-da')
const { partner: court } = await addPartner(ctx, 'county-court')
const alice = { userId: 'alice', role: 'member' as const, groups: [] }
await ctx.store.principals.upsertUser({
  id: 'alice',
  name: 'Alice',
  email: null,
  badge: null,
  role: 'member',
  kind: 'user',
  disabled: false,
  createdAt: 0,
  updatedAt: 0,
})
const seconds = () => Math.floor(now.getTime() / 1000)

async function sharedCase() {
  const theCase = await createCase(ctx, { fields: { title: 'Burglary' } })
  await ctx.store.cases.setAccess({ caseId: theCase.id, owner: 'alice', team: [], updatedAt: seconds() })
  const item = await upload(ctx, theCase.id)
  const { share } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  return { caseId: theCase.id, item, share }
}

function payloadOf<T>(jws: string): T {
  return JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as T
}

async function revocationFrom(sender: TestOrg, shareId: string, overrides: Partial<Revocation> = {}): Promise<string> {
  const iat = seconds()
  return signRevocation(
    { cwv: PROTOCOL_VERSION, iss: sender.org, aud: ctx.identity.org, iat, exp: iat + 3600, jti: randomUUID(), share: shareId, revokedAt: iat, ...overrides },
    sender.signer,
  )
}

/** An onward share of ours made of external case content (as the onward-sharing service will store it). */
async function onwardShare(caseId: string, partnerOrg = 'county-court'): Promise<OutboundShareRecord> {
  const base = (await ctx.store.outboundShares.list())[0]!
  const share: OutboundShareRecord = {
    ...base,
    id: randomUUID(),
    caseId,
    partnerOrg,
    status: 'delivered',
    createdAt: seconds(),
    updatedAt: seconds(),
    expiresAt: seconds() + 3600,
  }
  await ctx.store.outboundShares.insert(share)
  return share
}

// spec: CW-REV-001, CW-REV-002, CW-REV-005, CW-FED-005
t.test('revoking marks the share revoked, refuses its chunks at once and queues a signed revocation for the partner', async (t) => {
  const { caseId, item, share } = await sharedCase()
  const before = tc.jobs.length
  const { share: revoked, revoked: changed } = await revokeShare(ctx, share.id, { actor: userActor('alice'), reason: 'Sent to the wrong agency' })
  t.equal(changed, true)
  t.equal(revoked.status, 'revoked')
  t.equal(revoked.statusDetail, 'Sent to the wrong agency')
  await t.rejects(openChunk(ctx, 'county-da', share.id, item.chunks[0]!, undefined, new PooledBuffers()), { code: 'CW_ERR_SHARE_REVOKED' })

  // The job was stored with the status (and the runner woken).
  const stored = (await ctx.store.jobs.list(share.id)).filter((job) => job.kind === 'revoke')
  t.equal(stored.length, 1)
  t.same(
    tc.jobs.slice(before).map((job) => job.kind),
    ['revoke'],
  )
  const jws = stored[0]!.payload['jws'] as string
  const { revocation } = await verifyRevocation(jws, {
    trustAnchors: [{ certificate: ctx.identity.caCertificate, org: ctx.identity.org }],
    audience: 'county-da',
    currentDate: now,
  })
  t.match(revocation, { iss: ctx.identity.org, aud: 'county-da', share: share.id, revokedAt: seconds(), reason: 'Sent to the wrong agency' })
  // spec: CW-SIG-014 — valid for 30 days, but never beyond the share's expiry.
  t.equal(revocation.exp, Math.min(seconds() + 30 * 86_400, share.expiresAt), 'valid for 30 days or until the share expires, whichever is first')
  t.ok(revocation.exp <= share.expiresAt, 'no later than the share')

  t.match(tc.events.at(-1), { type: 'share.revoked', caseId, shareId: share.id, partner: 'county-da', actor: { kind: 'user', id: 'alice' }, derivedFrom: null })

  // Again: nothing changes, nothing new is queued.
  const events = tc.events.length
  const again = await revokeShare(ctx, share.id, { actor: userActor('alice') })
  t.equal(again.revoked, false)
  t.equal(again.share.statusDetail, 'Sent to the wrong agency')
  t.equal((await ctx.store.jobs.list(share.id)).filter((job) => job.kind === 'revoke').length, 1)
  t.equal(tc.events.length, events)
})

t.test('revoking an unknown share is not found; a reason longer than the schema allows is refused', async (t) => {
  await t.rejects(revokeShare(ctx, randomUUID(), { actor: userActor('alice') }), { code: 'CW_ERR_NOT_FOUND' })
  const { share } = await sharedCase()
  await t.rejects(revokeShare(ctx, share.id, { actor: userActor('alice'), reason: 'x'.repeat(4001) }), { code: 'CW_ERR_BAD_REQUEST' })
  t.equal((await getShare(ctx, share.id)).status, 'processing')
})

// spec: CW-FED-005, CW-POL-006
t.test('a share past its expiry reads as expired and its chunks are refused as expired', async (t) => {
  const { caseId, item, share } = await sharedCase()
  const { share: other } = await createShare(ctx, { caseId, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  await revokeShare(ctx, other.id, { actor: userActor('alice') })
  const saved = now
  now = new Date((share.expiresAt + 1) * 1000)
  t.teardown(() => void (now = saved))
  t.equal((await getShare(ctx, share.id)).status, 'expired')
  await t.rejects(openChunk(ctx, 'county-da', share.id, item.chunks[0]!, undefined, new PooledBuffers()), { code: 'CW_ERR_SHARE_EXPIRED' })
  // Who has access: each share with its status, revoked and expired as such.
  const overview = await getCaseAccessOverview(ctx, alice, caseId)
  t.same(
    overview.shares.map((s) => [s.shareId, s.status]),
    [
      [share.id, 'expired'],
      [other.id, 'revoked'],
    ],
  )
})

// spec: CW-REV-003, CW-REV-004, CW-REV-006
t.test('a verified revocation ends access to the external case and cascades to the shares derived from it', async (t) => {
  const { record } = await insertInbound(ctx, { recipients: [{ kind: 'user', id: 'alice' }], permissions: { import: true, download: true } })
  const imported = await importExternalCase(ctx, alice, record.id)
  await sharedCase() // an unrelated share of ours, to copy from
  const fromExternal = await onwardShare(record.id)
  const fromImported = await onwardShare(imported.case.id)
  const unrelated = await onwardShare(randomUUID())
  t.same(
    (await ctx.store.outboundShares.listDerivedFrom(record.id)).map((s) => s.id),
    [fromExternal.id, fromImported.id],
  )

  const jws = await revocationFrom(da, record.shareId, { reason: 'Court order' })
  const accepted = await acceptRevocation(ctx, 'county-da', jws)
  t.same(accepted.answer, { share: record.shareId, status: 'revoked' })
  t.same(accepted.cascaded, [fromExternal.id, fromImported.id])
  t.match(await ctx.store.inboundShares.get(record.id), { status: 'revoked', statusDetail: 'Court order' })

  // Its users lose access at once.
  await t.rejects(getExternalCase(ctx, alice, record.id), { code: 'CW_ERR_SHARE_REVOKED' })
  await t.rejects(openExternalEvidence(ctx, alice, record.id, 'e1'), { code: 'CW_ERR_SHARE_REVOKED' })
  await t.rejects(importExternalCase(ctx, alice, record.id), { code: 'CW_ERR_SHARE_REVOKED' })
  // The imported copy stays, marked as coming from a revoked share.
  t.equal((await getImportDetails(ctx, alice, imported.case.id)).shareStatus, 'revoked')

  // Each derived share is revoked with its own revocation to its partner; the unrelated one is not.
  for (const derived of [fromExternal, fromImported]) {
    t.equal((await ctx.store.outboundShares.get(derived.id))?.status, 'revoked')
    const job = (await ctx.store.jobs.list(derived.id)).find((j) => j.kind === 'revoke')
    t.match(payloadOf<Revocation>(job!.payload['jws'] as string), { iss: ctx.identity.org, aud: 'county-court', share: derived.id, reason: 'Court order' })
  }
  t.equal((await ctx.store.outboundShares.get(unrelated.id))?.status, 'delivered')
  t.match(tc.events.filter((e) => e.type === 'share.revoked').slice(-2), [
    { shareId: fromExternal.id, derivedFrom: record.id, actor: { kind: 'partner', org: 'county-da' } },
    { shareId: fromImported.id, derivedFrom: record.id },
  ])
  // The revocation is on the record in its own transaction, before the cascade it causes.
  t.match(
    tc.events.find((e) => e.type === 'inbound.revoked'),
    { type: 'inbound.revoked', caseId: record.id, sender: 'county-da', shareId: record.shareId, cascaded: 2 },
  )

  // The same revocation again, or another one: 200, nothing changes.
  const events = tc.events.length
  t.same((await acceptRevocation(ctx, 'county-da', jws)).cascaded, [])
  t.equal((await acceptRevocation(ctx, 'county-da', await revocationFrom(da, record.shareId))).revoked, false)
  t.equal(tc.events.length, events)
})

// spec: CW-REV-004, CW-SIG-012, CW-TLS-003, CW-FED-018
t.test("a revocation is refused unless it is the peer's, for a share it sent, and not a replay", async (t) => {
  const { record } = await insertInbound(ctx, { recipients: [{ kind: 'user', id: 'alice' }] })
  // Signed by another partner, over county-da's connection.
  await t.rejects(acceptRevocation(ctx, 'county-da', await revocationFrom(court, record.shareId)), { code: 'CW_ERR_PEER_MISMATCH' })
  // A share county-court never sent (CW-FED-018): taken and remembered under county-court only.
  t.match(await acceptRevocation(ctx, 'county-court', await revocationFrom(court, record.shareId)), {
    revoked: false,
    inboundId: undefined,
    answer: { share: record.shareId, status: 'revoked' },
  })
  await t.rejects(acceptRevocation(ctx, 'county-da', await revocationFrom(da, record.shareId, { aud: 'county-court' })), { code: 'CW_ERR_AUDIENCE_MISMATCH' })
  t.equal((await ctx.store.inboundShares.get(record.id))?.status, 'complete')

  const jti = randomUUID()
  await acceptRevocation(ctx, 'county-da', await revocationFrom(da, record.shareId, { jti }))
  await t.rejects(acceptRevocation(ctx, 'county-da', await revocationFrom(da, record.shareId, { jti, reason: 'other' })), { code: 'CW_ERR_REPLAY' })
})

// spec: CW-POL-006
t.test('an external case past its expiry is closed to its users as expired', async (t) => {
  const { record } = await insertInbound(ctx, { recipients: [{ kind: 'user', id: 'alice' }], permissions: { download: true }, expiresAt: seconds() - 1 })
  await t.rejects(getExternalCase(ctx, alice, record.id), { code: 'CW_ERR_SHARE_EXPIRED' })
  await t.rejects(openExternalEvidence(ctx, alice, record.id, 'e1'), { code: 'CW_ERR_SHARE_EXPIRED' })
})
