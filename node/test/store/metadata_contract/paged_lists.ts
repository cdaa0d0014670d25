/**
 * Lists page by page (SPEC.md CW-LOC-054), as the stores keep them.
 *
 * External cases (CW-LOC-001):
 * newest first in the order first received, whatever an update changes; a page never repeats
 * or skips a share, even when one is received between pages; and a viewer gets only the shares
 * it is a recipient of (each kind of recipient, added ones, the agency default), an
 * administrator every one marked with whether it is a recipient. Rejected shares never.
 *
 * Cases (CW-LOC-002): newest first in the order created, whatever an update changes; a viewer
 * gets those it owns or is on the team of, as a user or through a group; an administrator all.
 *
 * The shares of a case: newest first in the order created, whatever a status change does.
 *
 * Part of the MetadataStore contract (`../metadata_store_contract.ts`), run against every store.
 */
// spec: CW-LOC-001, CW-LOC-002, CW-LOC-054
import type { Test } from 'tap'
import type { Recipient } from '#protocol'
import type { MetadataStoreHarness } from '../metadata_store_contract.ts'
import type {
  CaseViewer,
  InboundShareWithManifest,
  InboundShareViewer,
  ListPosition,
  MetadataStore,
  Page,
  PageRequest,
} from '../../../src/store/metadata_store.ts'
import { T0, caseRecord, inboundShareRecord, outboundShareRecord, partnerRecord, policyRecord } from '../../support/records.ts'

const ORG = 'river-pd'

export function pagedListsContract(t: Test, harness: MetadataStoreHarness): void {
  async function openStore(t: Test): Promise<MetadataStore> {
    return (await harness.open(t)).store
  }

  /** Inbound share `n`, addressed to `recipients` (none: the manifest names none). */
  function share(n: number, recipients: Recipient[] | undefined, overrides: Partial<InboundShareWithManifest> = {}): InboundShareWithManifest {
    const base = inboundShareRecord({ id: `ext-${n}`, shareId: `share-${n}`, receivedAt: T0 + n, ...overrides })
    const { recipients: _named, ...rest } = base.manifest.share
    return { ...base, manifest: { ...base.manifest, share: recipients === undefined ? rest : { ...rest, recipients } } }
  }

  const viewer = (overrides: Partial<InboundShareViewer> = {}): InboundShareViewer => ({ org: ORG, userId: 'smith', groups: [], seesAll: false, ...overrides })

  /** Every page of a list, `limit` at a time: the ids of each page. */
  async function walk<Item>(list: (page: PageRequest) => Promise<Page<Item>>, idOf: (item: Item) => string, limit: number): Promise<string[][]> {
    const read: string[][] = []
    let after: ListPosition | undefined
    for (;;) {
      const page = await list(after === undefined ? { limit } : { limit, after })
      read.push(page.items.map(idOf))
      if (page.next === null) return read
      after = page.next
    }
  }

  const pages = (store: MetadataStore, who: InboundShareViewer, limit: number): Promise<string[][]> =>
    walk(
      (page) => store.inboundShares.listVisible(who, page),
      (item) => item.share.id,
      limit,
    )
  const casePages = (store: MetadataStore, who: CaseViewer, limit: number): Promise<string[][]> =>
    walk(
      (page) => store.cases.listVisible(who, page),
      (item) => item.id,
      limit,
    )

  t.test('newest first, page by page, each share once; the last page says so', async (t) => {
    const store = await openStore(t)
    for (let n = 1; n <= 5; n++) await store.inboundShares.insert(share(n, [{ kind: 'agency', id: ORG }]))
    t.same(await pages(store, viewer(), 2), [['ext-5', 'ext-4'], ['ext-3', 'ext-2'], ['ext-1']])
    t.same(await pages(store, viewer(), 5), [['ext-5', 'ext-4', 'ext-3', 'ext-2', 'ext-1']], 'a full last page has no next')
    t.same(await pages(store, viewer(), 6), [['ext-5', 'ext-4', 'ext-3', 'ext-2', 'ext-1']])
    const empty = await openStore(t)
    t.same(await empty.inboundShares.listVisible(viewer(), { limit: 2 }), { items: [], next: null }, 'an empty list is one empty last page')
  })

  t.test('a share received between pages, or updated, neither repeats nor skips one', async (t) => {
    const store = await openStore(t)
    for (let n = 1; n <= 4; n++) await store.inboundShares.insert(share(n, undefined))
    const first = await store.inboundShares.listVisible(viewer(), { limit: 2 })
    t.same(
      first.items.map((item) => item.share.id),
      ['ext-4', 'ext-3'],
    )
    await store.inboundShares.insert(share(9, undefined))
    // A new revision of the oldest: received again (later), and listed where it was first received.
    await store.inboundShares.update({ ...share(1, undefined), revision: 2, receivedAt: T0 + 100 })
    t.not(first.next, null)
    const rest = await store.inboundShares.listVisible(viewer(), { limit: 2, after: first.next ?? 0 })
    t.same(
      rest.items.map((item) => item.share.id),
      ['ext-2', 'ext-1'],
    )
    t.equal(rest.next, null)
    t.same((await pages(store, viewer(), 10)).flat(), ['ext-9', 'ext-4', 'ext-3', 'ext-2', 'ext-1'], 'a new list starts with the new share')
  })

  t.test('a viewer sees the shares it is a recipient of, by every kind of recipient; an administrator every one', async (t) => {
    const store = await openStore(t)
    await store.principals.upsertUser({
      id: 'smith',
      name: 'Smith',
      email: 'J.Smith@River.example',
      badge: 'B-7',
      role: 'member',
      kind: 'user',
      disabled: false,
      createdAt: T0,
      updatedAt: T0,
    })
    await store.inboundShares.insert(share(1, [{ kind: 'user', id: 'smith' }]))
    await store.inboundShares.insert(share(2, [{ kind: 'user', id: 'jones' }]))
    await store.inboundShares.insert(share(3, [{ kind: 'group', id: 'detectives' }]))
    await store.inboundShares.insert(share(4, [{ kind: 'email', id: 'j.smith@river.example' }]))
    await store.inboundShares.insert(share(5, [{ kind: 'badge', id: 'B-7' }]))
    await store.inboundShares.insert(share(6, [{ kind: 'agency', id: ORG }]))
    await store.inboundShares.insert(share(7, [{ kind: 'agency', id: 'lake-pd' }]))
    await store.inboundShares.insert(share(8, undefined))
    await store.inboundShares.insert(share(9, []))
    await store.inboundShares.insert(share(10, [{ kind: 'user', id: 'smith' }], { status: 'rejected' }))
    await store.inboundShares.insert(share(11, [{ kind: 'user', id: 'jones' }]))
    await store.inboundShares.insertAddedRecipient({ inboundId: 'ext-11', kind: 'user', recipientId: 'smith', addedBy: 'jones', addedAt: T0 })
    await store.inboundShares.insert(share(12, [{ kind: 'user', id: 'jones' }]))
    await store.inboundShares.insertAddedRecipient({ inboundId: 'ext-12', kind: 'group', recipientId: 'detectives', addedBy: 'jones', addedAt: T0 })
    await store.inboundShares.insert(share(13, [{ kind: 'badge', id: 'b-7' }]))

    t.same(
      (await pages(store, viewer(), 2)).flat(),
      ['ext-11', 'ext-9', 'ext-8', 'ext-6', 'ext-5', 'ext-4', 'ext-1'],
      'user, e-mail (any case), badge (exact), agency, none named, added user',
    )
    t.same(
      (await pages(store, viewer({ groups: ['detectives'] }), 3)).flat(),
      ['ext-12', 'ext-11', 'ext-9', 'ext-8', 'ext-6', 'ext-5', 'ext-4', 'ext-3', 'ext-1'],
      'and by its groups, named or added',
    )
    t.same((await pages(store, viewer({ userId: 'nobody' }), 2)).flat(), ['ext-9', 'ext-8', 'ext-6'], 'a user without a record: the agency only')
    t.same(
      (await pages(store, viewer({ org: 'lake-pd', userId: 'nobody' }), 2)).flat(),
      ['ext-9', 'ext-8', 'ext-7'],
      'an agency recipient names its own org only',
    )

    const admin = await pages(store, viewer({ userId: 'nobody', seesAll: true }), 4)
    t.same(
      admin.flat(),
      ['ext-13', 'ext-12', 'ext-11', 'ext-9', 'ext-8', 'ext-7', 'ext-6', 'ext-5', 'ext-4', 'ext-3', 'ext-2', 'ext-1'],
      'every one but the rejected',
    )
    const marked = await store.inboundShares.listVisible(viewer({ userId: 'nobody', seesAll: true }), { limit: 5 })
    t.same(
      marked.items.map((item) => [item.share.id, item.recipient]),
      [
        ['ext-13', false],
        ['ext-12', false],
        ['ext-11', false],
        ['ext-9', true],
        ['ext-8', true],
      ],
      'each marked with whether the administrator is a recipient',
    )
    const { manifestJws: _signed, ...listed } = share(11, [{ kind: 'user', id: 'jones' }])
    const [first] = (await store.inboundShares.listVisible(viewer(), { limit: 1 })).items
    t.same(first?.share, listed, 'the whole record but its signed manifest')
    t.notOk(first !== undefined && 'manifestJws' in first.share, 'which a list never shows')
  })

  t.test('a share updated to a manifest that names other recipients is listed for them only; a status change keeps them', async (t) => {
    const store = await openStore(t)
    await store.inboundShares.insert(share(1, [{ kind: 'user', id: 'jones' }]))
    const ids = async (who: InboundShareViewer) => (await pages(store, who, 5)).flat()
    t.same(await ids(viewer()), [], 'named for jones only')
    const readdressed = share(1, [{ kind: 'user', id: 'smith' }], {
      revision: 2,
      manifestDigest: `sha256:${'7'.repeat(64)}`,
      manifestJws: 'eyJ.revision-2.sig',
    })
    await store.inboundShares.update(readdressed)
    t.same(await ids(viewer()), ['ext-1'], 'the new manifest names smith')
    t.same(await ids(viewer({ userId: 'jones' })), [], 'and no longer jones')
    await store.inboundShares.update({ ...readdressed, status: 'complete', completedAt: T0 + 10 })
    t.same(await ids(viewer()), ['ext-1'], 'a status change keeps the recipients')
    t.same(await ids(viewer({ userId: 'jones' })), [])
  })

  t.test('cases: newest first, page by page, each once; one created between pages neither repeats nor skips one', async (t) => {
    const store = await openStore(t)
    for (let n = 1; n <= 5; n++) await store.cases.insert(caseRecord({ id: `case-${n}`, createdAt: T0 + n }))
    const admin: CaseViewer = { userId: 'admin', groups: [], seesAll: true }
    t.same(await casePages(store, admin, 2), [['case-5', 'case-4'], ['case-3', 'case-2'], ['case-1']])
    const first = await store.cases.listVisible(admin, { limit: 2 })
    await store.cases.insert(caseRecord({ id: 'case-9', createdAt: T0 + 9 }))
    await store.cases.updateFields('case-1', { title: 'changed' }, T0 + 100)
    const rest = await store.cases.listVisible(admin, { limit: 10, after: first.next ?? 0 })
    t.same(
      rest.items.map((c) => c.id),
      ['case-3', 'case-2', 'case-1'],
    )
    t.equal(rest.next, null)
    t.same(rest.items[2]?.fields, { title: 'changed' }, 'the whole record, as it is now')
  })

  t.test('cases: a viewer sees those it owns or is on the team of; an administrator every one', async (t) => {
    const store = await openStore(t)
    const team = (caseId: string, owner: string, members: Array<{ kind: 'user' | 'group'; id: string }>) =>
      store.cases.setAccess({ caseId, owner, team: members, updatedAt: T0 })
    for (let n = 1; n <= 6; n++) await store.cases.insert(caseRecord({ id: `case-${n}`, createdAt: T0 + n }))
    await team('case-1', 'smith', [])
    await team('case-2', 'jones', [{ kind: 'user', id: 'smith' }])
    await team('case-3', 'jones', [{ kind: 'group', id: 'detectives' }])
    await team('case-4', 'jones', [{ kind: 'user', id: 'smithers' }])
    await team('case-5', 'jones', [])
    // case-6 has no owner record: administrators only.
    const smith: CaseViewer = { userId: 'smith', groups: [], seesAll: false }
    t.same((await casePages(store, smith, 1)).flat(), ['case-2', 'case-1'], 'owner and team member')
    t.same((await casePages(store, { ...smith, groups: ['detectives'] }, 2)).flat(), ['case-3', 'case-2', 'case-1'], 'and through a group')
    t.same((await casePages(store, { userId: 'jones', groups: [], seesAll: false }, 2)).flat(), ['case-5', 'case-4', 'case-3', 'case-2'])
    t.same((await casePages(store, { userId: 'nobody', groups: [], seesAll: false }, 2)).flat(), [])
    t.same((await casePages(store, { userId: 'nobody', groups: [], seesAll: true }, 4)).flat(), ['case-6', 'case-5', 'case-4', 'case-3', 'case-2', 'case-1'])
  })

  t.test('the shares of a case: newest first, page by page, each once; another case’s never', async (t) => {
    const store = await openStore(t)
    await store.policies.insert(policyRecord())
    await store.partners.upsert(partnerRecord())
    await store.cases.insert(caseRecord())
    await store.cases.insert(caseRecord({ id: 'case-2' }))
    for (let n = 1; n <= 5; n++) await store.outboundShares.insert(outboundShareRecord({ id: `share-${n}`, createdAt: T0 + n }))
    await store.outboundShares.insert(outboundShareRecord({ id: 'share-other', caseId: 'case-2' }))
    const list = (page: PageRequest) => store.outboundShares.listOfCase('case-1', page)
    t.same(await walk(list, (share) => share.id, 2), [['share-5', 'share-4'], ['share-3', 'share-2'], ['share-1']])
    const first = await list({ limit: 2 })
    await store.outboundShares.insert(outboundShareRecord({ id: 'share-9', createdAt: T0 + 9 }))
    await store.outboundShares.updateStatus('share-1', 'revoked', null, null, T0 + 100)
    const rest = await list({ limit: 10, after: first.next ?? 0 })
    t.same(
      rest.items.map((share) => [share.id, share.status]),
      [
        ['share-3', 'processing'],
        ['share-2', 'processing'],
        ['share-1', 'revoked'],
      ],
    )
    t.equal(rest.next, null)
    t.same(
      (
        await walk(
          (page) => store.outboundShares.listOfCase('case-2', page),
          (share) => share.id,
          2,
        )
      ).flat(),
      ['share-other'],
    )
    t.same(await store.outboundShares.listOfCase('case-3', { limit: 2 }), { items: [], next: null })
  })
}
