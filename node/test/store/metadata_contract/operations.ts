import type { Test } from 'tap'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import type { ShareCount } from '../../../src/store/metadata_store.ts'
import { HELD, OWNER, T0, caseRecord, inboundShareRecord, jobRecord, outboundShareRecord, partnerRecord, policyRecord } from '../../support/records.ts'

export function operationsContract(t: Test, harness: MetadataStoreHarness): void {
  const sorted = (counts: ShareCount[]) => [...counts].sort((a, b) => `${a.direction}/${a.status}`.localeCompare(`${b.direction}/${b.status}`))

  t.test('ping answers while the store is open and fails once it is closed', async (t) => {
    const store = await harness.open(t).then((opened) => opened.store)
    await t.resolves(store.ping())
    await store.close()
    await t.rejects(store.ping(), /closed/)
  })

  t.test('countShares counts by direction and status, an unmarked expired share as expired', async (t) => {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    t.same(await store.metrics.countShares(T0), [], 'no shares, no rows')

    await store.policies.insert(policyRecord())
    await store.partners.upsert(partnerRecord())
    await store.cases.insert(caseRecord())
    const outbound: Array<[string, 'processing' | 'delivered' | 'rejected' | 'revoked', number]> = [
      ['s1', 'processing', T0 + 100],
      ['s2', 'processing', T0 + 100],
      ['s3', 'delivered', T0 + 100],
      ['s4', 'delivered', T0 - 1], // past its expiry, not marked yet
      ['s5', 'rejected', T0 - 1], // a rejection stays a rejection
      ['s6', 'revoked', T0 - 1],
    ]
    for (const [id, status, expiresAt] of outbound) await store.outboundShares.insert(outboundShareRecord({ id, status, expiresAt }))
    await store.inboundShares.insert(inboundShareRecord({ id: 'e1', shareId: 'x1', status: 'receiving', expiresAt: T0 + 100 }))
    await store.inboundShares.insert(inboundShareRecord({ id: 'e2', shareId: 'x2', status: 'complete', expiresAt: T0 + 100 }))
    await store.inboundShares.insert(inboundShareRecord({ id: 'e3', shareId: 'x3', status: 'complete', expiresAt: T0 }))

    t.same(sorted(await store.metrics.countShares(T0)), [
      { direction: 'inbound', status: 'complete', count: 1 },
      { direction: 'inbound', status: 'expired', count: 1 },
      { direction: 'inbound', status: 'receiving', count: 1 },
      { direction: 'outbound', status: 'delivered', count: 1 },
      { direction: 'outbound', status: 'expired', count: 1 },
      { direction: 'outbound', status: 'processing', count: 2 },
      { direction: 'outbound', status: 'rejected', count: 1 },
      { direction: 'outbound', status: 'revoked', count: 1 },
    ])
    t.same(
      sorted(await store.metrics.countShares(T0 + 1000)).filter((row) => row.status === 'expired'),
      [
        { direction: 'inbound', status: 'expired', count: 3 },
        { direction: 'outbound', status: 'expired', count: 4 },
      ],
      'later, everything still in flight or delivered has expired',
    )
    await t.rejects(store.metrics.countShares(Number.NaN), TypeError)
  })

  // spec: CW-LOC-030
  t.test('countShares counts a failed outbound share as retrying while its offer job is live, failed once it is dead', async (t) => {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    await store.policies.insert(policyRecord())
    await store.partners.upsert(partnerRecord())
    await store.cases.insert(caseRecord())
    for (const id of ['pending', 'running', 'dead', 'other-kind']) {
      await store.outboundShares.insert(outboundShareRecord({ id, status: 'failed', expiresAt: T0 + 100 }))
    }
    await store.jobs.enqueue(jobRecord({ id: 'j1', kind: 'offer', ref: 'pending' }))
    await store.jobs.enqueue(jobRecord({ id: 'j2', kind: 'offer', ref: 'running', runAt: T0 - 10 }))
    t.equal((await store.jobs.claimDue(T0 - 5, 10, { owner: OWNER, leaseUntil: T0 + 25 })).length, 1, 'the offer job of "running" runs')
    await store.jobs.enqueue(jobRecord({ id: 'j3', kind: 'offer', ref: 'dead', state: 'dead' }))
    // A live job of another kind says nothing about the offer being tried again.
    await store.jobs.enqueue(jobRecord({ id: 'j4', kind: 'revoke', ref: 'other-kind' }))

    t.same(
      sorted(await store.metrics.countShares(T0)),
      [
        { direction: 'outbound', status: 'failed', count: 2 },
        { direction: 'outbound', status: 'retrying', count: 2 },
      ],
      'pending and running offer jobs retry; a dead one or none at all is failed',
    )
  })

  // spec: CW-LOC-030
  t.test('countShares counts an inbound share being received as its fetch job says: retrying while it will run again, failed once dead', async (t) => {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    await store.policies.insert(policyRecord())
    await store.partners.upsert(partnerRecord())
    const shares = ['fresh', 'running', 'retrying', 'dead', 'dead-then-again', 'done', 'no-job']
    for (const [index, id] of shares.entries()) {
      await store.inboundShares.insert(inboundShareRecord({ id, shareId: `x${index}`, status: 'receiving', expiresAt: T0 + 100 }))
    }
    await store.jobs.enqueue(jobRecord({ id: 'j-fresh', kind: 'fetch', ref: 'fresh' }))
    await store.jobs.enqueue(jobRecord({ id: 'j-running', kind: 'fetch', ref: 'running', runAt: T0 - 10 }))
    t.equal((await store.jobs.claimDue(T0 - 5, 10, { owner: OWNER, leaseUntil: T0 + 25 })).length, 1, 'the fetch job of "running" runs')
    await store.jobs.enqueue(jobRecord({ id: 'j-retrying', ...HELD, kind: 'fetch', ref: 'retrying' }))
    await store.jobs.fail('j-retrying', 'connect ECONNREFUSED', T0 + 60, false, T0 + 1, OWNER)
    await store.jobs.enqueue(jobRecord({ id: 'j-dead', ...HELD, kind: 'fetch', ref: 'dead' }))
    await store.jobs.fail('j-dead', 'out of attempts', T0, true, T0 + 1, OWNER)
    // A dead fetch job that a later one took over (the partner offered again) is history.
    await store.jobs.enqueue(jobRecord({ id: 'j-dead-1', ...HELD, kind: 'fetch', ref: 'dead-then-again' }))
    await store.jobs.fail('j-dead-1', 'out of attempts', T0, true, T0 + 1, OWNER)
    await store.jobs.enqueue(jobRecord({ id: 'j-dead-2', kind: 'fetch', ref: 'dead-then-again', createdAt: T0 + 2 }))
    await store.jobs.enqueue(jobRecord({ id: 'j-done', ...HELD, kind: 'fetch', ref: 'done' }))
    await store.jobs.complete('j-done', T0 + 1, OWNER)
    // A live job of another kind says nothing about the fetch.
    await store.jobs.enqueue(jobRecord({ id: 'j-receipt', kind: 'receipt', ref: 'no-job', lastError: 'refused' }))

    t.same(
      sorted(await store.metrics.countShares(T0)),
      [
        { direction: 'inbound', status: 'failed', count: 1 },
        { direction: 'inbound', status: 'receiving', count: 5 },
        { direction: 'inbound', status: 'retrying', count: 1 },
      ],
      'a failed attempt with one to come is retrying, a dead last job failed, anything else receiving',
    )
  })

  t.test('listFailingJobs: live jobs with a failed attempt, and dead jobs no later job of their kind and ref replaced', async (t) => {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    await store.jobs.enqueue(jobRecord({ id: 'never-tried', kind: 'offer', ref: 's1' }))
    await store.jobs.enqueue(jobRecord({ id: 'retrying', ...HELD, kind: 'fetch', ref: 'e1', createdAt: T0 + 1 }))
    await store.jobs.fail('retrying', 'connect ECONNREFUSED', T0 + 60, false, T0 + 2, OWNER)
    await store.jobs.enqueue(jobRecord({ id: 'dead', ...HELD, kind: 'offer', ref: 's2', createdAt: T0 + 2 }))
    await store.jobs.fail('dead', 'out of attempts', T0, true, T0 + 3, OWNER)
    await store.jobs.enqueue(jobRecord({ id: 'dead-then-redone', ...HELD, kind: 'offer', ref: 's3', createdAt: T0 + 3 }))
    await store.jobs.fail('dead-then-redone', 'out of attempts', T0, true, T0 + 4, OWNER)
    await store.jobs.enqueue(jobRecord({ id: 'the-next-revision', kind: 'offer', ref: 's3', createdAt: T0 + 4 }))
    await store.jobs.enqueue(jobRecord({ id: 'done', ...HELD, kind: 'receipt', ref: 'e2', createdAt: T0 + 5 }))
    await store.jobs.complete('done', T0 + 6, OWNER)

    const failing = await store.jobs.listFailing()
    t.same(
      failing.map((job) => [job.id, job.state, job.lastError]),
      [
        ['retrying', 'pending', 'connect ECONNREFUSED'],
        ['dead', 'dead', 'out of attempts'],
      ],
      'oldest first; neither a job not tried yet, nor a dead one a later job took over, nor a done one',
    )
  })
}
