/**
 * The notifications table of the SQLite store: one row per external case, revision and
 * channel; insert keeps an existing row, upsert replaces it; rows belong to a stored inbound
 * share; malformed rows are refused.
 *
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */

import type { Test } from 'tap'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import type { InboundShareWithManifest, MetadataStore, NotificationRecord } from '../../../src/store/metadata_store.ts'

export function notificationsContract(t: Test, harness: MetadataStoreHarness): void {
  async function openStore(t: Test): Promise<MetadataStore> {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    return store
  }

  async function inbound(store: MetadataStore, id: string): Promise<void> {
    const record = {
      id,
      senderOrg: 'county-da',
      senderName: 'County DA',
      shareId: `share-${id}`,
      revision: 1,
      manifestJws: 'a.b.c',
      manifestDigest: 'sha256:' + '0'.repeat(64),
      manifest: { share: {}, case: {}, evidence: [] },
      policy: {},
      status: 'receiving',
      statusDetail: null,
      receivedAt: 1,
      completedAt: null,
      expiresAt: 2_000_000_000,
      receiptJws: null,
    } as unknown as InboundShareWithManifest
    await store.inboundShares.insert(record)
  }

  function note(overrides: Partial<NotificationRecord> = {}): NotificationRecord {
    return { inboundId: 'in-1', revision: 1, channel: 'email', status: 'pending', attempts: 0, lastError: null, updatedAt: 100, ...overrides }
  }

  t.test('insert keeps an existing notification; upsert replaces it; list is by revision then channel', async (t) => {
    const store = await openStore(t)
    await inbound(store, 'in-1')
    t.equal(await store.notifications.insert(note({ channel: 'webhook' })), true)
    t.equal(await store.notifications.insert(note({ revision: 2 })), true)
    t.equal(await store.notifications.insert(note()), true)
    t.equal(await store.notifications.insert(note({ status: 'sent', attempts: 3 })), false, 'a second insert changes nothing')
    t.same(await store.notifications.get('in-1', 1, 'email'), note())

    await store.notifications.upsert(note({ status: 'failed', attempts: 2, lastError: 'webhook answered HTTP 500', updatedAt: 105, channel: 'webhook' }))
    await store.notifications.upsert(note({ inboundId: 'in-1', revision: 3, channel: 'webhook', status: 'sent', attempts: 1 }))
    t.same(
      (await store.notifications.list('in-1')).map((n) => [n.revision, n.channel, n.status, n.attempts, n.lastError]),
      [
        [1, 'email', 'pending', 0, null],
        [1, 'webhook', 'failed', 2, 'webhook answered HTTP 500'],
        [2, 'email', 'pending', 0, null],
        [3, 'webhook', 'sent', 1, null],
      ],
    )
    t.same(await store.notifications.list('in-2'), [])
    t.equal(await store.notifications.get('in-1', 9, 'email'), undefined)
    t.equal(await store.transaction((tx) => tx.notifications.insert(note({ revision: 4 }))), true, 'works inside a transaction too')
  })

  t.test('a notification belongs to a stored inbound share and must be well formed', async (t) => {
    const store = await openStore(t)
    await t.rejects(store.notifications.insert(note({ inboundId: 'missing' })), { code: 'CW_ERR_CONFLICT' })
    await inbound(store, 'in-1')
    await t.rejects(store.notifications.upsert(note({ channel: 'sms' as 'email' })), TypeError)
    await t.rejects(store.notifications.upsert(note({ status: 'lost' as 'sent' })), TypeError)
    await t.rejects(store.notifications.upsert(note({ revision: 0 })), TypeError)
    await t.rejects(store.notifications.upsert(note({ attempts: -1 })), TypeError)
    t.same(await store.notifications.list('in-1'), [], 'nothing stored')
  })
}
