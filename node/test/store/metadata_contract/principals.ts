/**
 * The principals part of the SQLite store: users, groups and members, case owner and team,
 * one import per external case, and the migration that gives existing tokens their users.
 *
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */

import type { Test } from 'tap'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import type { CaseRecord, UserRecord } from '../../../src/store/metadata_store.ts'

/** A user record of `id`, a member, enabled. */
export const userRecord = (id: string, overrides: Partial<UserRecord> = {}): UserRecord => ({
  id,
  name: id,
  email: null,
  badge: null,
  role: 'member',
  kind: 'user',
  disabled: false,
  createdAt: 100,
  updatedAt: 100,
  ...overrides,
})

const user = userRecord

export function principalsContract(t: Test, harness: MetadataStoreHarness): void {
  const theCase = (id: string, importedFrom: string | null = null): CaseRecord => ({ id, fields: {}, createdAt: 1, updatedAt: 1, importedFrom })

  t.test('users, groups and members', async (t) => {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    await store.principals.upsertUser(user('alice', { email: 'a@x.example', badge: 'B-1' }))
    await store.principals.upsertUser(user('bob'))
    await store.principals.upsertUser(user('alice', { name: 'Alice', createdAt: 999, updatedAt: 200 }))
    t.same(await store.principals.getUser('alice'), user('alice', { name: 'Alice', updatedAt: 200 }), 'an upsert keeps createdAt')
    await store.principals.upsertGroup({ id: 'g', name: 'G', createdAt: 5 })
    await store.principals.setGroupMembers('g', ['bob', 'alice'])
    t.same(await store.principals.listGroupMembers('g'), ['alice', 'bob'])
    t.same(await store.principals.listUserGroups('bob'), ['g'])
    await store.principals.setGroupMembers('g', ['bob'])
    t.same(await store.principals.listUserGroups('alice'), [])
    await t.rejects(store.principals.setGroupMembers('g', ['ghost']), { code: 'CW_ERR_CONFLICT' }, 'members are users')
    t.same(await store.principals.listGroupMembers('g'), ['bob'], 'a failed replacement changes nothing')
    await t.rejects(
      store.principals.setGroupMembers('none', []),
      { code: 'CW_ERR_NOT_FOUND' },
      'an unknown group is not found (PrincipalRepository.setGroupMembers)',
    )
  })

  t.test('case access and one import per external case', async (t) => {
    const store = await harness.open(t).then((opened) => opened.store)
    t.teardown(() => store.close())
    await store.cases.insert(theCase('c1'))
    await store.cases.setAccess({ caseId: 'c1', owner: 'alice', team: [{ kind: 'group', id: 'g' }], updatedAt: 3 })
    t.same(await store.cases.getAccess('c1'), { caseId: 'c1', owner: 'alice', team: [{ kind: 'group', id: 'g' }], updatedAt: 3 })
    await store.cases.setAccess({ caseId: 'c1', owner: 'alice', team: [], updatedAt: 4 })
    t.same((await store.cases.getAccess('c1'))?.team, [])
    await t.rejects(store.cases.setAccess({ caseId: 'nope', owner: 'alice', team: [], updatedAt: 4 }), { code: 'CW_ERR_CONFLICT' })
    await store.cases.insert(theCase('c2', 'inbound-1'))
    t.equal((await store.cases.findImportedFrom('inbound-1'))?.id, 'c2')
    t.equal(await store.cases.findImportedFrom('inbound-2'), undefined)
    await t.rejects(store.cases.insert(theCase('c3', 'inbound-1')), { code: 'CW_ERR_CONFLICT' })
  })
}
