/**
 * The audit trail: every event of a case becomes the next entry of that case's hash chain;
 * verification names the first entry that was edited, removed, moved or inserted, even when
 * the database rows were changed behind the node's back.
 */
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { partnerActor, userActor, type AnyNodeEvent } from '../../src/events.ts'
import {
  FEDERATION_AUDIT_CASE,
  auditEntryDigest,
  auditExportText,
  auditSubscriber,
  verifyAuditChain,
  verifyStoredAuditChain,
} from '../../src/audit/audit_trail.ts'
import { createCase, updateCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { createShare } from '../../src/sending/share_case.ts'
import type { AuditEntryRecord } from '../../src/store/metadata_store.ts'
import { expectedDigest, tamper, withAuditTrail } from '../support/audit.ts'
import { manualClock } from '../../../testkit/clock.ts'
import { createTestContext, type TestContext } from '../support/context.ts'
import { addPartner } from '../support/fixtures.ts'

const alice = userActor('alice')

async function context(t: Test): Promise<TestContext> {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  return tc
}

/** `n` entries on `caseId`'s chain, through the real subscriber. */
async function chain(tc: TestContext, caseId: string, n: number): Promise<AuditEntryRecord[]> {
  const audit = auditSubscriber({ store: tc.ctx.store, clock: tc.ctx.clock })
  for (let i = 1; i <= n; i += 1) await audit({ type: 'case.updated', caseId, actor: alice, fields: [`field${i}`] })
  return tc.ctx.store.audit.list(caseId)
}

const verifyStored = (tc: TestContext, caseId: string) => verifyStoredAuditChain(tc.ctx.store, caseId)

// spec: CW-AUD-001, CW-AUD-002, CW-AUD-005
t.test('what a user does to a case is chained, entry by entry, with its actor', async (t) => {
  const clock = manualClock()
  const tc = await createTestContext({ clock })
  t.teardown(() => tc.close())
  const ctx = withAuditTrail(tc.ctx)
  await addPartner(ctx, 'county-da')
  const t0 = clock.seconds()
  const theCase = await createCase(ctx, { fields: { title: 'Burglary' } }, alice)
  clock.advance(60_000)
  await updateCase(ctx, theCase.id, { fields: { description: 'garage door forced' } }, alice)
  clock.advance(60_000)
  const secretBytes = 'frames-of-the-cctv-video'
  const evidence = await uploadEvidence(
    ctx,
    theCase.id,
    { name: 'cctv.mp4', category: 'video', mediaType: 'video/mp4', doNotDisclose: false },
    Readable.from([Buffer.from(secretBytes)]),
    alice,
  )
  clock.advance(60_000)
  const { share } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })

  const entries = await ctx.store.audit.list(theCase.id)
  t.same(
    entries.map((e) => [e.seq, e.type, e.actor]),
    [
      [1, 'case.created', alice],
      [2, 'case.updated', alice],
      [3, 'evidence.uploaded', alice],
      [4, 'share.created', alice],
    ],
  )
  t.same(entries[0]!.data, {})
  t.same(entries[1]!.data, { fields: ['description'] })
  t.same(entries[2]!.data, { evidenceId: evidence.id, digest: evidence.digest, size: secretBytes.length })
  t.same(entries[3]!.data, { shareId: share.id, partner: 'county-da', revision: 1, items: 1 })
  entries.forEach((entry, index) => {
    t.equal(entry.caseId, theCase.id)
    t.equal(entry.prev, index === 0 ? null : entries[index - 1]!.digest, `entry ${entry.seq} links to the one before`)
    t.equal(entry.digest, expectedDigest(entry), `entry ${entry.seq}: sha256 of the canonical JSON of { caseId, seq, at, type, actor, data, prev }`)
  })
  t.same(
    entries.map((e) => e.at),
    [t0, t0 + 60, t0 + 120, t0 + 180],
    'at is the node clock at each action, in Unix seconds',
  )
  t.notMatch(JSON.stringify(entries), secretBytes, 'no evidence content')
  t.same(verifyAuditChain(entries), { ok: true, entries: 4 })
  t.same(await verifyStored(tc, theCase.id), { ok: true, entries: 4 })
})

// spec: CW-AUD-001
t.test('a refused offer belongs to no case: it goes to the _federation chain with its code', async (t) => {
  const tc = await context(t)
  const audit = auditSubscriber({ store: tc.ctx.store, clock: tc.ctx.clock })
  await audit({ type: 'offer.refused', actor: partnerActor('lake-pd'), code: 'CW_ERR_CHAIN_UNTRUSTED' })
  await audit({ type: 'offer.refused', actor: partnerActor('lake-pd'), code: 'CW_ERR_REPLAY', shareId: 's-1' })
  const entries = await tc.ctx.store.audit.list(FEDERATION_AUDIT_CASE)
  t.same(
    entries.map((e) => [e.seq, e.type, e.actor, e.data]),
    [
      [1, 'offer.refused', { kind: 'partner', org: 'lake-pd' }, { code: 'CW_ERR_CHAIN_UNTRUSTED' }],
      [2, 'offer.refused', { kind: 'partner', org: 'lake-pd' }, { code: 'CW_ERR_REPLAY', shareId: 's-1' }],
    ],
  )
  t.same(await tc.ctx.store.audit.listCaseIds(), [FEDERATION_AUDIT_CASE])
  t.same(await verifyStored(tc, FEDERATION_AUDIT_CASE), { ok: true, entries: 2 })
})

// spec: CW-AUD-005
t.test('an event carrying a secret or a nested value is refused, and nothing is appended', async (t) => {
  const tc = await context(t)
  const audit = auditSubscriber({ store: tc.ctx.store, clock: tc.ctx.clock })
  const withToken = { type: 'case.viewed', caseId: 'c1', actor: alice, token: 'cw_secret' } as unknown as AnyNodeEvent
  const withJws = { type: 'share.offered', caseId: 'c1', actor: alice, manifestJws: 'eyJ…' } as unknown as AnyNodeEvent
  const nested = { type: 'case.viewed', caseId: 'c1', actor: alice, evidence: { bytes: [1, 2] } } as unknown as AnyNodeEvent
  const bytes = { type: 'case.viewed', caseId: 'c1', actor: alice, content: Buffer.from('x') } as unknown as AnyNodeEvent
  const withKey = { type: 'case.viewed', caseId: 'c1', actor: alice, privateKey: '-----BEGIN PRIVATE KEY-----' } as unknown as AnyNodeEvent
  for (const event of [withToken, withJws, withKey, nested, bytes]) t.throws(() => audit(event), TypeError)
  t.same(await tc.ctx.store.audit.list('c1'), [])
  await audit({ type: 'share.failed', caseId: 'c1', actor: alice, shareId: 's', partner: 'p', error: 'x'.repeat(5000) })
  t.equal(((await tc.ctx.store.audit.list('c1'))[0]!.data['error'] as string).length, 1001, 'a long message is cut')
  await audit({ type: 'case.viewed', caseId: 'c1', actor: alice, tokenId: 'tok-1' } as unknown as AnyNodeEvent)
  t.same((await tc.ctx.store.audit.list('c1'))[1]!.data, { tokenId: 'tok-1' }, 'an id that names a token is fine')
})

// spec: CW-AUD-001
t.test('concurrent events on one case make one gapless chain, in the order they were recorded', async (t) => {
  const tc = await context(t)
  const audit = auditSubscriber({ store: tc.ctx.store, clock: tc.ctx.clock })
  const other = auditSubscriber({ store: tc.ctx.store, clock: tc.ctx.clock })
  const work: Array<Promise<void>> = []
  for (let i = 0; i < 40; i += 1) {
    work.push(Promise.resolve(audit({ type: 'case.updated', caseId: 'c1', actor: alice, fields: [`f${i}`] })))
    work.push(Promise.resolve(audit({ type: 'case.updated', caseId: 'c2', actor: alice, fields: [`g${i}`] })))
    // A second subscriber shares no queue with the first: the store transaction alone keeps the chain whole.
    work.push(Promise.resolve(other({ type: 'case.viewed', caseId: 'c1', actor: userActor('bob') })))
  }
  await Promise.all(work)
  const c1 = await tc.ctx.store.audit.list('c1')
  t.same(
    c1.map((e) => e.seq),
    Array.from({ length: 80 }, (_, i) => i + 1),
    'no gap, no duplicate',
  )
  t.same(
    c1.filter((e) => e.type === 'case.updated').map((e) => (e.data['fields'] as string[])[0]),
    Array.from({ length: 40 }, (_, i) => `f${i}`),
    'one subscriber appends in recording order',
  )
  t.same(await verifyStored(tc, 'c1'), { ok: true, entries: 80 })
  t.same(await verifyStored(tc, 'c2'), { ok: true, entries: 40 })
})

// spec: CW-AUD-003
t.test('an edited entry is named by its digest', async (t) => {
  const tc = await context(t)
  await chain(tc, 'c1', 6)
  tamper(tc.dir, `UPDATE audit_entries SET data = '{"fields":["nothing happened"]}' WHERE case_id = 'c1' AND seq = 3`)
  t.same(await verifyStored(tc, 'c1'), { ok: false, seq: 3, caseId: 'c1', reason: 'digest' })

  await chain(tc, 'c2', 6)
  tamper(tc.dir, `UPDATE audit_entries SET at = at + 3600 WHERE case_id = 'c2' AND seq = 6`)
  t.same(await verifyStored(tc, 'c2'), { ok: false, seq: 6, caseId: 'c2', reason: 'digest' }, 'the last entry too')

  await chain(tc, 'c3', 6)
  tamper(tc.dir, `UPDATE audit_entries SET actor = '{"kind":"system"}' WHERE case_id = 'c3' AND seq = 1`)
  t.same(await verifyStored(tc, 'c3'), { ok: false, seq: 1, caseId: 'c3', reason: 'digest' }, 'the first entry too')

  await chain(tc, 'c4', 6)
  tamper(tc.dir, `UPDATE audit_entries SET data = 'not json' WHERE case_id = 'c4' AND seq = 2`)
  t.same(await verifyStored(tc, 'c4'), { ok: false, seq: 2, caseId: 'c4', reason: 'digest' }, 'and an entry that is no JSON any more')
})

// spec: CW-AUD-003
t.test('an edited entry whose digest was recomputed breaks the link of the next one', async (t) => {
  const tc = await context(t)
  const entries = await chain(tc, 'c1', 6)
  const forged = { ...entries[2]!, data: { fields: ['nothing happened'] } }
  tamper(tc.dir, 'UPDATE audit_entries SET data = ?, digest = ? WHERE case_id = ? AND seq = 3', JSON.stringify(forged.data), auditEntryDigest(forged), 'c1')
  t.same(await verifyStored(tc, 'c1'), { ok: false, seq: 4, caseId: 'c1', reason: 'link' })
})

// spec: CW-AUD-003
t.test('a removed entry is named by the sequence gap it leaves', async (t) => {
  const tc = await context(t)
  await chain(tc, 'c1', 6)
  tamper(tc.dir, `DELETE FROM audit_entries WHERE case_id = 'c1' AND seq = 3`)
  t.same(await verifyStored(tc, 'c1'), { ok: false, seq: 3, caseId: 'c1', reason: 'sequence' })

  await chain(tc, 'c2', 6)
  tamper(tc.dir, `DELETE FROM audit_entries WHERE case_id = 'c2' AND seq = 1`)
  t.same(await verifyStored(tc, 'c2'), { ok: false, seq: 1, caseId: 'c2', reason: 'sequence' })
})

// spec: CW-AUD-003
t.test('reordered entries are found, in the database and in an exported list', async (t) => {
  const tc = await context(t)
  const entries = await chain(tc, 'c1', 6)
  // Swap the places of entries 3 and 4.
  tamper(tc.dir, `UPDATE audit_entries SET seq = 100 WHERE case_id = 'c1' AND seq = 3`)
  tamper(tc.dir, `UPDATE audit_entries SET seq = 3 WHERE case_id = 'c1' AND seq = 4`)
  tamper(tc.dir, `UPDATE audit_entries SET seq = 4 WHERE case_id = 'c1' AND seq = 100`)
  t.same(await verifyStored(tc, 'c1'), { ok: false, seq: 3, caseId: 'c1', reason: 'digest' })

  const moved = [entries[0]!, entries[1]!, entries[3]!, entries[2]!, entries[4]!, entries[5]!]
  t.same(verifyAuditChain(moved), { ok: false, seq: 3, caseId: 'c1', reason: 'sequence' })
  const renumbered = moved.map((entry, index) => {
    const copy = { ...entry, seq: index + 1 }
    return { ...copy, digest: auditEntryDigest(copy) }
  })
  t.same(verifyAuditChain(renumbered), { ok: false, seq: 3, caseId: 'c1', reason: 'link' }, 'renumbered and re-digested: the links give it away')
  t.same(
    verifyAuditChain(entries.slice(0, 5).concat([{ ...entries[5]!, caseId: 'c9' }])),
    { ok: false, seq: 6, caseId: 'c1', reason: 'sequence' },
    'an entry of another case',
  )
})

// spec: CW-AUD-003
t.test('an entry inserted with a recomputed digest is named by its broken link', async (t) => {
  const tc = await context(t)
  const entries = await chain(tc, 'c1', 6)
  // Make room after entry 3, then insert a well-formed entry 4 whose prev is not entry 3's digest.
  tamper(tc.dir, `UPDATE audit_entries SET seq = seq + 100 WHERE case_id = 'c1' AND seq > 3`)
  tamper(tc.dir, `UPDATE audit_entries SET seq = seq - 99 WHERE case_id = 'c1' AND seq > 100`)
  const inserted = {
    caseId: 'c1',
    seq: 4,
    at: entries[3]!.at,
    type: 'evidence.downloaded',
    actor: alice,
    data: { evidenceId: 'e1', bytes: 10 },
    prev: entries[1]!.digest,
  }
  tamper(
    tc.dir,
    'INSERT INTO audit_entries (case_id, seq, at, type, actor, data, prev, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    'c1',
    4,
    inserted.at,
    inserted.type,
    JSON.stringify(inserted.actor),
    JSON.stringify(inserted.data),
    inserted.prev,
    auditEntryDigest(inserted),
  )
  t.same(
    (await tc.ctx.store.audit.list('c1')).map((e) => e.seq),
    [1, 2, 3, 4, 5, 6, 7],
  )
  t.same(await verifyStored(tc, 'c1'), { ok: false, seq: 4, caseId: 'c1', reason: 'link' })

  const appended = await chain(tc, 'c2', 3)
  const extra = { caseId: 'c2', seq: 4, at: appended[2]!.at, type: 'case.viewed', actor: alice, data: {}, prev: appended[1]!.digest }
  tamper(
    tc.dir,
    'INSERT INTO audit_entries (case_id, seq, at, type, actor, data, prev, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    'c2',
    4,
    extra.at,
    extra.type,
    JSON.stringify(extra.actor),
    JSON.stringify(extra.data),
    extra.prev,
    auditEntryDigest(extra),
  )
  t.same(await verifyStored(tc, 'c2'), { ok: false, seq: 4, caseId: 'c2', reason: 'link' }, 'at the end too')
})

// spec: CW-AUD-003
t.test('with several changes, the first one is named', async (t) => {
  const tc = await context(t)
  await chain(tc, 'c1', 8)
  tamper(tc.dir, `DELETE FROM audit_entries WHERE case_id = 'c1' AND seq = 7`)
  tamper(tc.dir, `UPDATE audit_entries SET type = 'case.viewed' WHERE case_id = 'c1' AND seq = 5`)
  tamper(tc.dir, `UPDATE audit_entries SET prev = NULL WHERE case_id = 'c1' AND seq = 2`)
  t.same(await verifyStored(tc, 'c1'), { ok: false, seq: 2, caseId: 'c1', reason: 'digest' })
  t.same(await verifyStored(tc, 'c0'), { ok: true, entries: 0 }, 'an empty chain is intact')
})

// spec: CW-AUD-004
t.test('the export is one JSON document, read page by page, whose entries verify on their own', async (t) => {
  const tc = await context(t)
  const entries = await chain(tc, 'c1', 7)
  let pieces = 0
  let text = ''
  for await (const piece of auditExportText(tc.ctx.store, 'c1', { node: 'county-pd', exportedAt: 1_700_000_000, pageSize: 2 })) {
    pieces += 1
    text += piece
  }
  t.ok(pieces >= 5, `written in ${pieces} pieces, not built as one string`)
  const doc = JSON.parse(text)
  t.same(doc, { caseId: 'c1', exportedAt: 1_700_000_000, node: 'county-pd', entries })
  t.same(verifyAuditChain(doc.entries), { ok: true, entries: 7 })
  doc.entries[4].data.fields = ['edited in the export']
  t.same(verifyAuditChain(doc.entries), { ok: false, seq: 5, caseId: 'c1', reason: 'digest' })

  let empty = ''
  for await (const piece of auditExportText(tc.ctx.store, 'none', { node: 'county-pd', exportedAt: 1 })) empty += piece
  t.same(JSON.parse(empty), { caseId: 'none', exportedAt: 1, node: 'county-pd', entries: [] })
})
