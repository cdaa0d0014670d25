/**
 * createMetrics on a real test context with an injected clock: transfer durations from the
 * events (and from the store when the start was before this process), rejections and
 * notification failures.
 */
import t, { type Test } from 'tap'
import { SYSTEM_ACTOR } from '../../src/events.ts'
import { createMetrics } from '../../src/operations/metrics.ts'
import { createTestContext } from '../support/context.ts'
import { T0, caseRecord, fakeDigest, inboundShareRecord, outboundShareRecord, partnerRecord, policyRecord } from '../support/records.ts'
import { manualClock } from '../../../testkit/clock.ts'

async function setup(t: Test) {
  const clock = manualClock(T0 * 1000)
  const tc = await createTestContext({ clock })
  t.teardown(() => tc.close())
  return { tc, clock, metrics: createMetrics(tc.ctx) }
}

function value(text: string, line: string): number | undefined {
  const found = text.split('\n').find((candidate) => candidate.startsWith(line + ' '))
  return found === undefined ? undefined : Number(found.slice(line.length + 1))
}

t.test('inbound duration: from inbound.received to inbound.completed, on the node clock', async (t) => {
  const { clock, metrics } = await setup(t)
  const about = { caseId: 'ext-1', actor: SYSTEM_ACTOR, sender: 'hill-pd', shareId: 'share-1', revision: 1 }
  await metrics.observe({ type: 'inbound.received', ...about, items: 2 })
  clock.advance(2500)
  await metrics.observe({ type: 'inbound.completed', ...about, bytes: 10 })
  const text = await metrics.expose()
  t.equal(value(text, 'caseway_transfer_duration_seconds_sum{direction="inbound"}'), 2.5)
  t.equal(value(text, 'caseway_transfer_duration_seconds_count{direction="inbound"}'), 1)
  t.equal(value(text, 'caseway_transfer_duration_seconds_bucket{le="2.5",direction="inbound"}'), 1)
  t.equal(value(text, 'caseway_transfer_duration_seconds_bucket{le="1",direction="inbound"}'), 0)
})

t.test('a transfer that started before this process is timed from the store', async (t) => {
  const { tc, clock, metrics } = await setup(t)
  const { store } = tc.ctx
  await store.inboundShares.insert(inboundShareRecord({ id: 'ext-1', senderOrg: 'hill-pd', shareId: 'share-1', revision: 1, receivedAt: T0 }))
  await store.policies.insert(policyRecord())
  await store.partners.upsert(partnerRecord())
  await store.cases.insert(caseRecord())
  await store.outboundShares.insert(outboundShareRecord({ id: 'out-1', createdAt: T0 }))
  await store.outboundShares.insertRevision(
    { shareId: 'out-1', revision: 1, manifestJws: 'a.b.c', manifestDigest: fakeDigest('m'), createdAt: T0 + 10, receiptJws: null },
    [],
  )
  clock.advance(120_000)

  await metrics.observe({ type: 'inbound.completed', caseId: 'ext-1', actor: SYSTEM_ACTOR, sender: 'hill-pd', shareId: 'share-1', revision: 1, bytes: 10 })
  await metrics.observe({
    type: 'share.delivered',
    caseId: 'case-1',
    actor: { kind: 'partner', org: 'river-pd' },
    shareId: 'out-1',
    partner: 'river-pd',
    revision: 1,
  })
  // A revision the store does not know is not timed at all.
  await metrics.observe({
    type: 'share.delivered',
    caseId: 'case-1',
    actor: { kind: 'partner', org: 'river-pd' },
    shareId: 'out-1',
    partner: 'river-pd',
    revision: 2,
  })
  const text = await metrics.expose()
  t.equal(value(text, 'caseway_transfer_duration_seconds_sum{direction="inbound"}'), 120, 'received at T0, completed at T0 + 120 s')
  t.equal(value(text, 'caseway_transfer_duration_seconds_sum{direction="outbound"}'), 110, 'revision created at T0 + 10 s')
  t.equal(value(text, 'caseway_transfer_duration_seconds_count{direction="outbound"}'), 1)
})

t.test('rejections after a transfer and notification failures are counted; other events are not', async (t) => {
  const { metrics } = await setup(t)
  const about = { caseId: 'ext-1', actor: SYSTEM_ACTOR, sender: 'hill-pd', shareId: 'share-1', revision: 1 }
  await metrics.observe({ type: 'inbound.received', ...about, items: 1 })
  await metrics.observe({ type: 'inbound.rejected', ...about, code: 'CW_ERR_CHUNK_DIGEST_MISMATCH' })
  const failed = { caseId: 'ext-1', actor: SYSTEM_ACTOR, revision: 1, attempts: 1, error: 'timeout', dead: false } as const
  await metrics.observe({ type: 'notification.failed', ...failed, channel: 'email' })
  await metrics.observe({ type: 'notification.failed', ...failed, channel: 'email' })
  await metrics.observe({ type: 'notification.failed', ...failed, channel: 'webhook' })
  await metrics.observe({ type: 'notification.sent', caseId: 'ext-1', actor: SYSTEM_ACTOR, channel: 'webhook', revision: 1, attempts: 2 })
  await metrics.observe({ type: 'offer.refused', actor: { kind: 'partner', org: 'hill-pd' }, code: 'CW_ERR_REPLAY' })
  const text = await metrics.expose()
  t.equal(value(text, 'caseway_verification_failures_total{code="CW_ERR_CHUNK_DIGEST_MISMATCH"}'), 1)
  t.equal(value(text, 'caseway_verification_failures_total{code="CW_ERR_REPLAY"}'), undefined, 'a refused offer is counted where it is answered, once')
  t.equal(value(text, 'caseway_transfer_duration_seconds_count{direction="inbound"}'), undefined, 'a rejected transfer is not timed')
  t.equal(value(text, 'caseway_notification_failures_total{channel="email"}'), 2)
  t.equal(value(text, 'caseway_notification_failures_total{channel="webhook"}'), 1)
})

t.test('share counts come from the store at scrape time', async (t) => {
  const { tc, clock, metrics } = await setup(t)
  const { store } = tc.ctx
  t.notMatch(await metrics.expose(), /^caseway_shares\{/m, 'no shares, no series')
  await store.policies.insert(policyRecord())
  await store.partners.upsert(partnerRecord())
  await store.cases.insert(caseRecord())
  await store.outboundShares.insert(outboundShareRecord({ id: 'out-1', status: 'processing', expiresAt: T0 + 60 }))
  t.equal(value(await metrics.expose(), 'caseway_shares{direction="outbound",status="processing"}'), 1)
  clock.advance(61_000)
  const later = await metrics.expose()
  t.equal(value(later, 'caseway_shares{direction="outbound",status="expired"}'), 1, 'past its expiry on the node clock')
  t.equal(value(later, 'caseway_shares{direction="outbound",status="processing"}'), undefined, 'and no longer processing')
})
