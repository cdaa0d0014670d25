/**
 * The transactional outbox (`outbox/`): events are written in their action's transaction and
 * handled by each consumer at least once, in each case's order, with its store effects exactly
 * once; a failing consumer is retried and holds back nothing but its own later entries of that
 * case; what a crash left pending is drained at the next start; several items added together
 * make one live revision.
 */
import { Readable } from 'node:stream'
import t from 'tap'
import { pino } from 'pino'
import { addEvidence, storeEvidenceContent } from '../../src/cases/evidence.ts'
import { createCase, updateCase } from '../../src/cases/cases.ts'
import { userActor, type AnyNodeEvent } from '../../src/events.ts'
import { Outbox, type OutboxConsumer } from '../../src/outbox/outbox.ts'
import { createActions } from '../../src/outbox/transaction.ts'
import { createShare } from '../../src/sending/share_case.ts'
import type { OutboxEntry, Repositories } from '../../src/store/metadata_store.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { createTestContext } from '../support/context.ts'
import { addPartner } from '../support/fixtures.ts'

const alice = userActor('alice')

t.test("an action's events commit with it: a rolled-back action leaves no event and no audit entry", async (t) => {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  const { ctx } = tc
  const theCase = await createCase(ctx, { fields: { title: 'Burglary' } }, alice)
  await t.rejects(
    ctx.transaction(async (tx) => {
      await tx.store.cases.updateFields(theCase.id, { title: 'changed' }, 2)
      tx.record({ type: 'case.updated', caseId: theCase.id, actor: alice, fields: ['title'] })
      throw new Error('the action failed')
    }),
    /the action failed/,
  )
  t.same(
    (await ctx.store.audit.list(theCase.id)).map((e) => e.type),
    ['case.created'],
    'when the action returns, its audit entry is there',
  )
  t.same(await ctx.store.outbox.list('audit', 10), [], 'nothing left pending')
  t.same((await ctx.store.cases.get(theCase.id))?.fields, { title: 'Burglary' })
})

/** An outbox over `store` with consumers that note what they handled. */
function recordingOutbox(store: Parameters<typeof createActions>[0]['store'], consumers: OutboxConsumer[], retryMs = 10) {
  const outbox = new Outbox({ store, log: pino({ level: 'silent' }), consumers, retryBaseMs: retryMs, retryMaxMs: retryMs })
  const actions = createActions({ store, clock: { now: () => new Date() }, log: pino({ level: 'silent' }), outbox, observers: [] })
  return { outbox, actions }
}

function consumer(name: string, handle: (entry: OutboxEntry) => Promise<void> | void, store: Pick<Repositories, 'outbox'>): OutboxConsumer {
  return {
    name,
    accepts: () => true,
    async handle(_caseId, entries) {
      for (const entry of entries) {
        await handle(entry)
        await store.outbox.delete(name, entry.eventId)
      }
    },
  }
}

const updated = (caseId: string, field: string): AnyNodeEvent => ({ type: 'case.updated', caseId, actor: alice, fields: [field] })

t.test('a failing consumer is retried, keeps its case in order, and holds back no other case or consumer', async (t) => {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  const store = tc.ctx.store
  const seen: string[] = []
  const other: string[] = []
  let failures = 1
  const flaky = consumer(
    'flaky',
    (entry) => {
      const key = `${entry.caseId}:${(entry.event['fields'] as string[])[0]}`
      if (key === 'a:1' && failures-- > 0) throw new Error('not now')
      seen.push(key)
    },
    store,
  )
  const steady = consumer('steady', (entry) => void other.push(`${entry.caseId}:${(entry.event['fields'] as string[])[0]}`), store)
  // A retry after 1.5 to 3 s: surely after the three actions below.
  const { outbox, actions } = recordingOutbox(store, [flaky, steady], 3000)
  t.teardown(() => outbox.stop())

  await actions.record(updated('a', '1'))
  await actions.record(updated('a', '2'))
  await actions.record(updated('b', '1'))
  t.same(seen, ['b:1'], "case a waits for its first entry's retry; case b goes on")
  t.same(other, ['a:1', 'a:2', 'b:1'], 'another consumer is not held back')
  await new Promise((resolve) => setTimeout(resolve, 3500))
  t.same(seen, ['b:1', 'a:1', 'a:2'], 'retried with backoff, in order')
  t.same(await store.outbox.list('flaky', 10), [])
})

t.test('what a crash left pending is handled at the next start, once', async (t) => {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  const store = tc.ctx.store
  const handled: string[] = []
  const first = recordingOutbox(store, [consumer('audit-like', () => undefined, store)])
  // The process "dies" after the commit: its outbox never runs a round.
  await first.outbox.stop()
  await first.actions.record(updated('a', '1'))
  t.equal((await store.outbox.list('audit-like', 10)).length, 1, 'committed and pending')

  const second = recordingOutbox(store, [consumer('audit-like', (entry) => void handled.push(entry.eventId), store)])
  t.teardown(() => second.outbox.stop())
  await second.outbox.start()
  t.equal(handled.length, 1)
  await second.outbox.start()
  t.equal(handled.length, 1, 'not again')
})

t.test('items added together make one live revision; a case update makes the next', async (t) => {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  const { ctx } = tc
  await addPartner(ctx, 'county-da')
  const theCase = await createCase(ctx, { fields: { title: 'Burglary' } }, alice)
  const { share } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })
  const records = []
  for (const name of ['a.pdf', 'b.pdf', 'c.pdf']) {
    records.push(await storeEvidenceContent(ctx, theCase.id, { name, category: 'document', mediaType: 'application/pdf' }, Readable.from([Buffer.from(name)])))
  }
  await addEvidence(ctx, records, alice)
  t.equal((await ctx.store.outboundShares.get(share.id))?.revision, 2, 'one revision for three items, made before the call returned')
  t.equal(tc.events.filter((e) => e.type === 'share.revised').length, 1)
  await updateCase(ctx, theCase.id, { fields: { title: 'Burglary, 12 Elm St' } }, alice)
  t.equal((await ctx.store.outboundShares.get(share.id))?.revision, 3)
  t.same(
    (await ctx.store.audit.list(theCase.id)).map((e) => e.type),
    ['case.created', 'share.created', 'evidence.uploaded', 'evidence.uploaded', 'evidence.uploaded', 'share.revised', 'case.updated', 'share.revised'],
    'the audit trail in commit order',
  )
  t.same(await ctx.store.outbox.list('revisions', 10), [])
})

// spec: CW-REVN-010
t.test('a deferred case is held until its time: not asked nor read again, holds back no other case or consumer, then handled at once', async (t) => {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  const { store } = tc.ctx
  let now = 1_000_000
  const calls: string[] = []
  const deferring: OutboxConsumer = {
    name: 'deferring',
    accepts: () => true,
    async handle(caseId, entries) {
      calls.push(caseId)
      // Only case-1 waits (as a live share waits out its revision window).
      if (caseId === 'case-1' && now < 1_060_000) return { deferred: true, retryInMs: 60_000 }
      for (const entry of entries) await store.outbox.delete('deferring', entry.eventId)
      return undefined
    },
  }
  let rowsRead = 0
  const countingOutbox = Object.assign(Object.create(store.outbox) as typeof store.outbox, {
    async list(consumer: string, limit: number, afterSeq?: number) {
      const rows = await store.outbox.list(consumer, limit, afterSeq)
      if (consumer === 'deferring') rowsRead += rows.filter((row) => row.caseId === 'case-1').length
      return rows
    },
  })
  const countingStore = Object.assign(Object.create(store) as typeof store, { outbox: countingOutbox })
  const handled: string[] = []
  const other = consumer('other', (entry) => void handled.push(entry.eventId), store)
  const outbox = new Outbox({ store: countingStore, log: pino({ level: 'silent' }), consumers: [deferring, other], now: () => now })
  const actions = createActions({ store, clock: { now: () => new Date(now) }, log: pino({ level: 'silent' }), outbox, observers: [] })
  t.teardown(() => outbox.stop())
  for (const field of ['a', 'b', 'c']) await actions.transaction(async (tx) => void tx.record(updated('case-1', field)))
  await actions.transaction(async (tx) => void tx.record(updated('case-2', 'a')))

  t.equal((await store.outbox.list('deferring', 10)).length, 3, 'the deferred entries stay')
  t.same(calls, ['case-1', 'case-2'], 'asked once for the held case; the other case of the same consumer is handled')
  t.equal(rowsRead, 3, 'each held entry was read once, not once per round')
  t.equal(handled.length, 4, 'the other consumer handled every entry')

  now = 1_060_000
  await outbox.settle()
  t.same(calls, ['case-1', 'case-2', 'case-1'], 'asked again once its time came')
  t.same(await store.outbox.list('deferring', 10), [], 'and it handled all three at once')
})

t.test('a hold still on when its wake-up fires is looked at again: the case is handled once its time comes, with nothing else waking the outbox', async (t) => {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  const { store } = tc.ctx
  // The node's clock stands still while real time passes: the wake-up timer fires before the
  // deferral's end by this clock, as a timer counting from the event loop's cached time can.
  let now = 1_000_000
  const calls: number[] = []
  const deferring: OutboxConsumer = {
    name: 'deferring',
    accepts: () => true,
    async handle(_caseId, entries) {
      calls.push(now)
      if (now < 1_000_030) return { deferred: true, retryInMs: 30 }
      for (const entry of entries) await store.outbox.delete('deferring', entry.eventId)
      return undefined
    },
  }
  const outbox = new Outbox({ store, log: pino({ level: 'silent' }), consumers: [deferring], now: () => now })
  const actions = createActions({ store, clock: { now: () => new Date(now) }, log: pino({ level: 'silent' }), outbox, observers: [] })
  t.teardown(() => outbox.stop())
  await actions.transaction(async (tx) => void tx.record(updated('case-1', 'a')))
  t.same(calls, [1_000_000], 'deferred')
  // Several wake-ups fire meanwhile; each finds the hold on (the clock has not moved).
  await new Promise((resolve) => setTimeout(resolve, 120))
  t.same(calls, [1_000_000], 'not asked while held')
  now = 1_000_030
  // No action, no settle: only the outbox's own wake-up can bring the case round.
  await waitFor('the deferred case handled', () => (calls.length === 2 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 })
  t.same(await store.outbox.list('deferring', 10), [], 'handled once its time came')
})
