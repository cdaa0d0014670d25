/**
 * The audit routes of the local API: a case's trail page by page, its export as one JSON
 * document, its verification; the same for external cases; administrators only.
 */
import t from 'tap'
import { partnerActor } from '../../../src/events.ts'
import { verifyAuditChain } from '../../../src/audit/audit_trail.ts'
import { tamper, withAuditTrail } from '../../support/audit.ts'
import { createTestApp, type TestApp } from '../../support/local_app.ts'
import { inboundShareRecord } from '../../support/records.ts'

const ta: TestApp = await createTestApp()
t.teardown(() => ta.close())
withAuditTrail(ta.ctx)

/** A case made through the API, with `edits` further changes: 1 + edits entries. */
async function caseWithTrail(edits: number): Promise<string> {
  const created = await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Burglary' } } })
  const id = created.json().id as string
  for (let i = 0; i < edits; i += 1) {
    await ta.call({ method: 'PATCH', url: `/api/v1/cases/${id}`, payload: { fields: { description: `edit ${i}` } } })
  }
  return id
}

// spec: CW-AUD-001, CW-AUD-002
t.test('GET /cases/{id}/audit lists the trail page by page', async (t) => {
  const id = await caseWithTrail(4)
  const all = await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit` })
  t.equal(all.statusCode, 200)
  const body = all.json()
  t.equal(body.caseId, id)
  t.equal(body.next, null)
  t.same(
    body.entries.map((e: { seq: number; type: string }) => [e.seq, e.type]),
    [
      [1, 'case.created'],
      [2, 'case.updated'],
      [3, 'case.updated'],
      [4, 'case.updated'],
      [5, 'case.updated'],
    ],
  )
  t.same(body.entries[0].actor, { kind: 'user', id: 'admin-1' }, 'the user behind the token')
  t.same(body.entries, await ta.ctx.store.audit.list(id), 'every field as stored')

  const first = (await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit?limit=2` })).json()
  t.same(
    first.entries.map((e: { seq: number }) => e.seq),
    [1, 2],
  )
  t.equal(first.next, 2)
  const second = (await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit?after=${first.next}&limit=2` })).json()
  t.same(
    second.entries.map((e: { seq: number }) => e.seq),
    [3, 4],
  )
  t.equal(second.next, 4)
  const last = (await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit?after=4&limit=2` })).json()
  t.same(
    last.entries.map((e: { seq: number }) => e.seq),
    [5],
  )
  t.equal(last.next, null)

  for (const query of ['limit=0', 'limit=1001', 'after=-1', 'limit=x', 'page=2']) {
    const bad = await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit?${query}` })
    t.equal(bad.statusCode, 400, query)
    t.equal(bad.json().code, 'CW_ERR_BAD_REQUEST', query)
  }
})

// spec: CW-AUD-004
t.test('GET /cases/{id}/audit/export streams the whole trail as one JSON document', async (t) => {
  const id = await caseWithTrail(3)
  const response = await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit/export` })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.match(response.headers['content-disposition'], /^attachment; filename="audit-/)
  const doc = response.json()
  t.same(Object.keys(doc), ['caseId', 'exportedAt', 'node', 'entries'])
  t.equal(doc.caseId, id)
  t.equal(doc.node, 'county-pd', "this node's organization")
  t.ok(Number.isInteger(doc.exportedAt) && Math.abs(doc.exportedAt - Date.now() / 1000) < 60)
  t.same(doc.entries, await ta.ctx.store.audit.list(id))
  t.same(verifyAuditChain(doc.entries), { ok: true, entries: 4 }, 'the export verifies on its own')
})

// spec: CW-AUD-003
t.test('GET /cases/{id}/audit/verify names the first bad entry', async (t) => {
  const id = await caseWithTrail(3)
  const intact = await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit/verify` })
  t.equal(intact.statusCode, 200)
  t.same(intact.json(), { ok: true, entries: 4 })
  tamper(ta.dir, `UPDATE audit_entries SET actor = '{"kind":"system"}' WHERE case_id = ? AND seq = 2`, id)
  const broken = await ta.call({ method: 'GET', url: `/api/v1/cases/${id}/audit/verify` })
  t.equal(broken.statusCode, 200)
  t.same(broken.json(), { ok: false, seq: 2, caseId: id, reason: 'digest' })
})

// spec: CW-AUD-001
t.test('an external case has the same routes, by its inbound id', async (t) => {
  const inbound = inboundShareRecord({ id: 'ext-audit-1' })
  await ta.ctx.store.inboundShares.insert(inbound)
  const about = { caseId: inbound.id, actor: partnerActor('hill-pd'), sender: 'hill-pd', shareId: inbound.shareId, revision: 1 }
  await ta.ctx.record({ type: 'inbound.received', ...about, items: 2 })
  await ta.ctx.record({ type: 'inbound.completed', ...about, bytes: 1234 })

  const list = (await ta.call({ method: 'GET', url: '/api/v1/external-cases/ext-audit-1/audit' })).json()
  t.same(
    list.entries.map((e: { type: string; data: unknown }) => [e.type, e.data]),
    [
      ['inbound.received', { sender: 'hill-pd', shareId: 'share-1', revision: 1, items: 2 }],
      ['inbound.completed', { sender: 'hill-pd', shareId: 'share-1', revision: 1, bytes: 1234 }],
    ],
  )
  const doc = (await ta.call({ method: 'GET', url: '/api/v1/external-cases/ext-audit-1/audit/export' })).json()
  t.equal(doc.caseId, 'ext-audit-1')
  t.equal(doc.entries.length, 2)
  t.same((await ta.call({ method: 'GET', url: '/api/v1/external-cases/ext-audit-1/audit/verify' })).json(), { ok: true, entries: 2 })

  const local = await ta.call({ method: 'GET', url: '/api/v1/cases/ext-audit-1/audit' })
  t.equal(local.statusCode, 404, 'an external case is not a local case')
})

t.test('an unknown case is 404, also for the node-wide chain', async (t) => {
  for (const url of [
    '/api/v1/cases/no-such-case/audit',
    '/api/v1/cases/no-such-case/audit/export',
    '/api/v1/cases/no-such-case/audit/verify',
    '/api/v1/external-cases/no-such-case/audit',
    '/api/v1/external-cases/no-such-case/audit/export',
    '/api/v1/external-cases/no-such-case/audit/verify',
    '/api/v1/cases/_federation/audit',
  ]) {
    const response = await ta.call({ method: 'GET', url })
    t.equal(response.statusCode, 404, url)
    t.equal(response.json().code, 'CW_ERR_NOT_FOUND', url)
  }
})

t.test('members get 403 CW_ERR_FORBIDDEN, callers without a token 401', async (t) => {
  const id = await caseWithTrail(0)
  await ta.ctx.store.inboundShares.insert(inboundShareRecord({ id: 'ext-audit-2', shareId: 'share-2' }))
  for (const url of [
    `/api/v1/cases/${id}/audit`,
    `/api/v1/cases/${id}/audit/export`,
    `/api/v1/cases/${id}/audit/verify`,
    '/api/v1/external-cases/ext-audit-2/audit',
    '/api/v1/external-cases/ext-audit-2/audit/export',
    '/api/v1/external-cases/ext-audit-2/audit/verify',
  ]) {
    const member = await ta.call({ method: 'GET', url, token: ta.memberToken })
    t.equal(member.statusCode, 403, url)
    t.equal(member.json().code, 'CW_ERR_FORBIDDEN', url)
    t.notMatch(member.body, /case\.created/, 'nothing of the trail')
    const anonymous = await ta.call({ method: 'GET', url, token: null })
    t.equal(anonymous.statusCode, 401, url)
    t.equal(anonymous.json().code, 'CW_ERR_UNAUTHENTICATED', url)
  }
})

t.test('the OpenAPI document describes the audit routes and their schemas', async (t) => {
  const doc = (await ta.call({ method: 'GET', url: '/openapi.json' })).json()
  for (const base of ['/api/v1/cases/{id}', '/api/v1/external-cases/{id}']) {
    const list = doc.paths[`${base}/audit`].get
    t.same(
      list.parameters
        .filter((p: { in: string }) => p.in === 'query')
        .map((p: { name: string }) => p.name)
        .sort(),
      ['after', 'limit'],
    )
    const entry = list.responses['200'].content['application/json'].schema.properties.entries.items
    t.same(entry.required, ['caseId', 'seq', 'at', 'type', 'actor', 'data', 'prev', 'digest'])
    const exported = doc.paths[`${base}/audit/export`].get.responses['200'].content['application/json'].schema
    t.same(exported.required, ['caseId', 'exportedAt', 'node', 'entries'])
    const verified = doc.paths[`${base}/audit/verify`].get.responses['200'].content['application/json'].schema
    t.equal(verified.oneOf.length, 2)
    t.same(verified.oneOf[1].properties.reason.enum, ['digest', 'link', 'sequence'])
    for (const path of [`${base}/audit`, `${base}/audit/export`, `${base}/audit/verify`]) {
      t.ok(doc.paths[path].get.responses['403'], `${path} documents 403`)
      t.ok(doc.paths[path].get.responses['404'], `${path} documents 404`)
    }
  }
})
