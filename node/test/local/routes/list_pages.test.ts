/**
 * Local API lists page by page (SPEC.md CW-LOC-054, CW-LOC-055): following `next` walks every
 * external case (GET /api/v1/external-cases), every case (GET /api/v1/cases) and every share
 * of a case (GET /api/v1/shares?caseId=) the caller may see exactly once, even when one arrives between pages; each page holds only what the caller
 * may see (CW-LOC-001, CW-LOC-002); a bad limit or cursor is a `400` problem.
 */
// spec: CW-LOC-001, CW-LOC-002, CW-LOC-054, CW-LOC-055
import t from 'tap'
import type { Recipient } from '#protocol'
import { createTestApp } from '../../support/local_app.ts'
import { insertInbound } from '../../support/inbound.ts'
import { createUser } from '../../../src/access/principals.ts'
import { createToken } from '../../../src/access/tokens.ts'
import { outboundShareRecord, partnerRecord, policyRecord } from '../../support/records.ts'
import type { InboundPackageRecord } from '../../../src/store/metadata_store.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())

await createUser(ta.ctx, { id: 'det-jones', name: 'Det. Jones', email: 'Jones@River.example' })
const jonesToken = (await createToken(ta.ctx, { userId: 'det-jones', role: 'member' })).token

interface ListedPage {
  externalCases: Array<{ id: string; access: string }>
  cases: Array<{ id: string }>
  shares: Array<{ id: string }>
  inboundPackages: Array<{ id: string }>
  next: string | null
}

async function page(token: string, query = '', list = 'external-cases'): Promise<ListedPage> {
  const response = await ta.call({ method: 'GET', url: `/api/v1/${list}${query}`, token })
  t.equal(response.statusCode, 200, response.body)
  return response.json<ListedPage>()
}

/** Follows `next` from the first page, `limit` at a time; calls `between` after the first page. */
async function walk(token: string, limit: number, between?: () => Promise<void>): Promise<{ ids: string[]; pages: number }> {
  let listed = await page(token, `?limit=${limit}`)
  const ids = listed.externalCases.map((c) => c.id)
  let pages = 1
  await between?.()
  while (listed.next !== null) {
    listed = await page(token, `?limit=${limit}&cursor=${encodeURIComponent(listed.next)}`)
    ids.push(...listed.externalCases.map((c) => c.id))
    pages += 1
  }
  return { ids, pages }
}

const smith: Recipient[] = [{ kind: 'user', id: 'det-smith' }]
const jones: Recipient[] = [{ kind: 'email', id: 'jones@river.example' }]
const both: Recipient[] = [...smith, ...jones]
const stored: Array<{ id: string; recipients: Recipient[] }> = []
for (const recipients of [smith, jones, both, smith, jones, both, smith]) {
  stored.push({ id: (await insertInbound(ta.ctx, { recipients })).record.id, recipients })
}
const newestFirst = (who: Recipient[]): string[] =>
  stored
    .filter((s) => s.recipients.some((r) => who.some((w) => w.kind === r.kind && w.id === r.id)))
    .map((s) => s.id)
    .reverse()

t.test('following next walks every external case the caller may see exactly once, newest first', async (t) => {
  const walked = await walk(ta.memberToken, 2)
  t.same(walked.ids, newestFirst(smith), 'det-smith: its own, by user id')
  t.equal(walked.pages, 3)
  t.same((await walk(jonesToken, 1)).ids, newestFirst(jones), 'det-jones: its own, by e-mail address')
  const admin = await walk(ta.adminToken, 3)
  t.same(
    admin.ids,
    [...stored].reverse().map((s) => s.id),
    'an administrator: every one',
  )
  const first = await page(ta.adminToken, '?limit=100')
  t.ok(
    first.externalCases.every((c) => c.access === 'administration'),
    'metadata only: the administrator is no recipient',
  )
  t.equal(first.next, null, 'one page holds them all: no next')
})

t.test('an external case received between pages neither repeats nor shifts one', async (t) => {
  let arrived = ''
  const walked = await walk(ta.memberToken, 2, async () => {
    arrived = (await insertInbound(ta.ctx, { recipients: smith })).record.id
  })
  t.same(walked.ids, newestFirst(smith), 'the walk begun before it does not list it')
  const again = await walk(ta.memberToken, 2)
  t.equal(again.ids[0], arrived, 'a new walk lists it first')
  t.same(again.ids.slice(1), newestFirst(smith))
})

t.test('limit and cursor are checked: 400 CW_ERR_BAD_REQUEST', async (t) => {
  const valid = (await page(ta.adminToken, '?limit=1')).next
  t.type(valid, 'string')
  for (const query of [
    '?limit=0',
    '?limit=1001',
    '?limit=-1',
    '?limit=ten',
    '?cursor=',
    '?cursor=not-a-cursor',
    `?cursor=${Buffer.from('cases:12').toString('base64url')}`,
    `?cursor=${Buffer.from('external-cases:-1').toString('base64url')}`,
    `?cursor=${'A'.repeat(200)}`,
    `?cursor=${valid ?? ''}%3D`,
  ]) {
    const response = await ta.call({ method: 'GET', url: `/api/v1/external-cases${query}` })
    t.equal(response.statusCode, 400, query)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.match(response.json(), { code: 'CW_ERR_BAD_REQUEST', at: query.startsWith('?limit') ? '/limit' : '/cursor' }, query)
  }
  t.equal((await page(ta.adminToken, '?limit=1000')).next, null, 'the maximum limit is accepted')
  const defaulted = await page(ta.adminToken)
  t.equal(defaulted.externalCases.length, stored.length + 1, 'the default (100) holds them all')
})

t.test('a cursor of another caller shows only what the caller may see', async (t) => {
  // The first page of the administrator's holds the case received between pages above.
  const admin = await page(ta.adminToken, '?limit=1')
  t.not(admin.next, null)
  const rest = await page(ta.memberToken, `?limit=100&cursor=${encodeURIComponent(admin.next ?? '')}`)
  t.same(
    rest.externalCases.map((c) => c.id),
    newestFirst(smith),
    'a cursor is a position, not a permission: the filter still applies',
  )
})

t.test('cases: following next walks every case the caller may read exactly once, newest first', async (t) => {
  const create = async (token: string): Promise<string> => {
    const response = await ta.call({ method: 'POST', url: '/api/v1/cases', token, payload: { fields: { title: 'Burglary' } } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<{ id: string }>().id
  }
  const owners = [ta.memberToken, jonesToken, ta.memberToken, ta.memberToken, jonesToken]
  const created: string[] = []
  for (const token of owners) created.push(await create(token))
  const mine = (token: string): string[] => created.filter((_, i) => owners[i] === token).reverse()

  const walkCases = async (token: string, limit: number, between?: () => Promise<void>): Promise<string[]> => {
    let listed = await page(token, `?limit=${limit}`, 'cases')
    const ids = listed.cases.map((c) => c.id)
    await between?.()
    while (listed.next !== null) {
      listed = await page(token, `?limit=${limit}&cursor=${encodeURIComponent(listed.next)}`, 'cases')
      ids.push(...listed.cases.map((c) => c.id))
    }
    return ids
  }
  t.same(await walkCases(ta.memberToken, 2), mine(ta.memberToken), 'det-smith: the cases it owns')
  t.same(await walkCases(jonesToken, 1), mine(jonesToken), 'det-jones: its own')
  t.same(await walkCases(ta.adminToken, 2), [...created].reverse(), 'an administrator: every one')

  let arrived = ''
  t.same(
    await walkCases(ta.memberToken, 1, async () => void (arrived = await create(ta.memberToken))),
    mine(ta.memberToken),
    'one created between pages: not listed, none repeated',
  )
  t.same(await walkCases(ta.memberToken, 2), [arrived, ...mine(ta.memberToken)], 'a new walk lists it first')

  const externalCursor = (await page(ta.adminToken, '?limit=1')).next ?? ''
  const wrongList = await ta.call({ method: 'GET', url: `/api/v1/cases?cursor=${encodeURIComponent(externalCursor)}` })
  t.equal(wrongList.statusCode, 400, 'a cursor of another list')
  t.match(wrongList.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/cursor' })
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases?limit=1001' })).json().code, 'CW_ERR_BAD_REQUEST')
})

t.test('the shares of a case: following next walks each once, newest first; only for who may read the case', async (t) => {
  const theCase = (await ta.call({ method: 'POST', url: '/api/v1/cases', token: ta.memberToken, payload: { fields: { title: 'Fraud' } } })).json<{
    id: string
  }>()
  await ta.ctx.store.policies.insert(policyRecord())
  await ta.ctx.store.partners.upsert(partnerRecord())
  const shares: string[] = []
  for (let n = 1; n <= 5; n++) {
    const id = `paged-share-${n}`
    await ta.ctx.store.outboundShares.insert(outboundShareRecord({ id, caseId: theCase.id }))
    shares.push(id)
  }
  const query = (more: string) => `?caseId=${theCase.id}${more}`
  let listed = await page(ta.memberToken, query('&limit=2'), 'shares')
  const ids = listed.shares.map((share) => share.id)
  await ta.ctx.store.outboundShares.insert(outboundShareRecord({ id: 'paged-share-9', caseId: theCase.id }))
  while (listed.next !== null) {
    listed = await page(ta.memberToken, query(`&limit=2&cursor=${encodeURIComponent(listed.next)}`), 'shares')
    ids.push(...listed.shares.map((share) => share.id))
  }
  t.same(ids, [...shares].reverse(), 'each once, newest first; the one created between pages not listed')
  t.same(
    (await page(ta.memberToken, query(''), 'shares')).shares.map((share) => share.id),
    ['paged-share-9', ...[...shares].reverse()],
  )
  const stranger = await ta.call({ method: 'GET', url: `/api/v1/shares${query('&limit=2')}`, token: jonesToken })
  t.equal(stranger.statusCode, 404, 'not the caller’s case: as if it did not exist')
  const bad = await ta.call({ method: 'GET', url: `/api/v1/shares${query('&cursor=bad')}`, token: ta.memberToken })
  t.match(bad.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/cursor' })
})

t.test('inbound packages: following next walks each package the caller was sent exactly once, newest first', async (t) => {
  const addressed = (n: number, recipients: InboundPackageRecord['recipients']): InboundPackageRecord => ({
    id: `in-pkg-${n}`,
    senderOrg: 'county-da',
    packageId: `pkg-${n}`,
    state: 'receiving',
    offer: {
      jws: 'h.p.s',
      digest: `sha256:${'1'.repeat(64)}`,
      jti: `jti-${n}`,
      format: 'zip',
      size: 4096,
      manifest: `sha256:${'2'.repeat(64)}`,
      message: null,
    },
    recipients,
    expiresAt: 4_000_000_000,
    failure: null,
    senderName: null,
    caseId: null,
    content: null,
    createdAt: 1_000 + n,
    updatedAt: 1_000 + n,
    receivedAt: null,
    revokedAt: null,
  })
  for (let n = 1; n <= 7; n++) {
    await ta.ctx.store.inboundPackages.insert(addressed(n, [{ kind: 'user', id: n % 2 === 1 ? 'det-jones' : 'det-smith' }]))
  }
  async function walkPackages(token: string, limit: number): Promise<string[][]> {
    let listed = await page(token, `?limit=${limit}`, 'inbound-packages')
    const pages = [listed.inboundPackages.map((held) => held.id)]
    while (listed.next !== null) {
      listed = await page(token, `?limit=${limit}&cursor=${encodeURIComponent(listed.next)}`, 'inbound-packages')
      pages.push(listed.inboundPackages.map((held) => held.id))
    }
    return pages
  }
  t.same(await walkPackages(jonesToken, 3), [['in-pkg-7', 'in-pkg-5', 'in-pkg-3'], ['in-pkg-1']], 'a recipient: theirs only, page by page')
  t.same((await walkPackages(ta.memberToken, 2)).flat(), ['in-pkg-6', 'in-pkg-4', 'in-pkg-2'], 'another user: theirs only')
  t.same((await walkPackages(ta.adminToken, 5)).flat().length, 7, 'an administrator: every one')
  const bad = await ta.call({ method: 'GET', url: `/api/v1/inbound-packages?cursor=${Buffer.from('cases:1').toString('base64url')}`, token: jonesToken })
  t.match(bad.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/cursor' }, 'a cursor of another list')
})
