/**
 * The audit table of the SQLite store: an entry is stored only as the next one of its chain,
 * atomically; entries come back in seq order, page by page; the node's own code cannot change
 * or remove one; a second process can read it read-only.
 *
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */

import type { Test } from 'tap'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import type { AuditEntryRecord, MetadataStore } from '../../../src/store/metadata_store.ts'

export const digestOf = (n: number): string => 'sha256:' + n.toString(16).padStart(64, '0')

/** Entry `seq` of a chain of `caseId` whose digests are `digestOf(seq)`. */
export function auditEntry(caseId: string, seq: number, overrides: Partial<AuditEntryRecord> = {}): AuditEntryRecord {
  return {
    caseId,
    seq,
    at: 1_700_000_000 + seq,
    type: 'case.updated',
    actor: { kind: 'user', id: 'alice' },
    data: { fields: ['title'] },
    prev: seq === 1 ? null : digestOf(seq - 1),
    digest: digestOf(seq),
    ...overrides,
  }
}

const entry = auditEntry

export function auditContract(t: Test, harness: MetadataStoreHarness): void {
  async function openStore(t: Test): Promise<{ store: MetadataStore }> {
    const { store } = await harness.open(t)
    return { store }
  }

  // spec: CW-AUD-001
  t.test('an entry is stored only as the next one of its chain', async (t) => {
    const { store } = await openStore(t)
    await t.rejects(store.audit.append(entry('c1', 2)), { code: 'CW_ERR_CONFLICT' }, 'a chain starts at 1')
    await t.rejects(store.audit.append(entry('c1', 1, { prev: digestOf(9) })), { code: 'CW_ERR_CONFLICT' }, 'entry 1 has no prev')
    await store.audit.append(entry('c1', 1))
    await t.rejects(store.audit.append(entry('c1', 1)), { code: 'CW_ERR_CONFLICT' }, 'no second entry 1 (no fork)')
    await t.rejects(store.audit.append(entry('c1', 3)), { code: 'CW_ERR_CONFLICT' }, 'no gap')
    await t.rejects(store.audit.append(entry('c1', 2, { prev: digestOf(7) })), { code: 'CW_ERR_CONFLICT' }, 'prev must be the last digest')
    await store.audit.append(entry('c1', 2))
    await store.audit.append(entry('c2', 1))
    await t.rejects(store.audit.append(entry('c1', 3, { digest: 'sha256:nothex' })), TypeError)
    await t.rejects(store.audit.append(entry('c1', 3, { seq: 0 })), TypeError)

    t.same(
      (await store.audit.list('c1')).map((e) => e.seq),
      [1, 2],
      'refused entries left nothing behind',
    )
    t.same(await store.audit.last('c1'), entry('c1', 2))
    t.equal(await store.audit.last('nothing'), undefined)
    t.same(await store.audit.listCaseIds(), ['c1', 'c2'])
  })

  // spec: CW-AUD-001
  t.test('a refused append inside a transaction rolls back with it', async (t) => {
    const { store } = await openStore(t)
    await store.audit.append(entry('c1', 1))
    await t.rejects(
      store.transaction(async (tx) => {
        await tx.audit.append(entry('c1', 2))
        await tx.audit.append(entry('c1', 4))
      }),
      { code: 'CW_ERR_CONFLICT' },
    )
    t.same(
      (await store.audit.list('c1')).map((e) => e.seq),
      [1],
    )
  })

  t.test('entries come back in seq order, after a seq, at most limit', async (t) => {
    const { store } = await openStore(t)
    for (let seq = 1; seq <= 12; seq += 1) await store.audit.append(entry('c1', seq))
    t.same(
      (await store.audit.list('c1')).map((e) => e.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      'seq order, not text order',
    )
    t.same(
      (await store.audit.list('c1', { afterSeq: 9 })).map((e) => e.seq),
      [10, 11, 12],
    )
    t.same(
      (await store.audit.list('c1', { afterSeq: 2, limit: 3 })).map((e) => e.seq),
      [3, 4, 5],
    )
    t.same(await store.audit.list('c1', { limit: 0 }), [])
    await t.rejects(store.audit.list('c1', { limit: -1 }), TypeError)
    await t.rejects(store.audit.list('c1', { afterSeq: 1.5 }), TypeError)
    t.same((await store.audit.list('c1', { limit: 1 }))[0], entry('c1', 1), 'actor and data come back as objects')
  })
}
