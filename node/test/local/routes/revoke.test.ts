/**
 * `POST /api/v1/shares/{id}/revoke` (SPEC.md §13): the case owner or its team revokes a share;
 * anyone else is answered as if it did not exist (CW-LOC-002). Who has access shows it revoked.
 */
import t from 'tap'
import { createTestOrg } from '../../../../testkit/fixtures/orgs.ts'
import { createTestApp } from '../../support/local_app.ts'
import { policyBody } from '../../../../testkit/fixtures/policies.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
const API = '/api/v1'

async function userWithToken(id: string): Promise<string> {
  const user = await ta.call({ method: 'POST', url: `${API}/users`, payload: { id, name: id.toUpperCase(), role: 'member' } })
  if (user.statusCode !== 201) throw new Error(user.body)
  return (await ta.call({ method: 'POST', url: `${API}/tokens`, payload: { userId: id, role: 'member' } })).json().token
}

const alice = await userWithToken('alice')
const bob = await userWithToken('bob')
const mallory = await userWithToken('mallory')
const da = await createTestOrg('county-da')
await ta.call({ method: 'POST', url: `${API}/partners`, payload: { bundle: da.bundle, fingerprint: da.bundle.caFingerprint } })
await ta.call({ method: 'POST', url: `${API}/policies`, payload: policyBody({ id: 'da-policy' }) })
await ta.call({ method: 'PUT', url: `${API}/partners/county-da/policy`, payload: { policyId: 'da-policy' } })

async function aliceShare(): Promise<{ caseId: string; shareId: string }> {
  const theCase = (await ta.call({ method: 'POST', url: `${API}/cases`, payload: { fields: { title: 'Burglary' } }, token: alice })).json()
  await ta.call({ method: 'PUT', url: `${API}/cases/${theCase.id}/team`, payload: { team: [{ kind: 'user', id: 'bob' }] }, token: alice })
  const share = (
    await ta.call({ method: 'POST', url: `${API}/shares`, payload: { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case' }, token: alice })
  ).json()
  return { caseId: theCase.id, shareId: share.id }
}

// spec: CW-REV-002, CW-REV-005
t.test('the owner revokes a share with a reason; the revocation is queued; again changes nothing', async (t) => {
  const { caseId, shareId } = await aliceShare()
  const res = await ta.call({ method: 'POST', url: `${API}/shares/${shareId}/revoke`, payload: { reason: 'Wrong agency' }, token: alice })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { id: shareId, status: 'revoked', statusDetail: 'Wrong agency' })
  t.ok(ta.jobs.some((job) => job.kind === 'revoke' && job.ref === shareId))
  t.match(ta.events.at(-1), { type: 'share.revoked', caseId, shareId, actor: { kind: 'user', id: 'alice' } })

  const again = await ta.call({ method: 'POST', url: `${API}/shares/${shareId}/revoke`, token: alice })
  t.equal(again.statusCode, 200, again.body)
  t.match(again.json(), { status: 'revoked', statusDetail: 'Wrong agency' })

  const access = (await ta.call({ method: 'GET', url: `${API}/cases/${caseId}/access`, token: alice })).json()
  t.match(access.shares, [{ shareId, status: 'revoked' }])
})

// spec: CW-LOC-002
t.test('a team member may revoke; a stranger gets the answer an unknown share gets', async (t) => {
  const { shareId } = await aliceShare()
  const stranger = await ta.call({ method: 'POST', url: `${API}/shares/${shareId}/revoke`, payload: {}, token: mallory })
  const unknown = await ta.call({ method: 'POST', url: `${API}/shares/00000000-0000-4000-8000-000000000000/revoke`, payload: {}, token: mallory })
  t.equal(stranger.statusCode, 404)
  t.equal(stranger.json().code, 'CW_ERR_NOT_FOUND')
  t.equal(stranger.json().detail, unknown.json().detail.replace('00000000-0000-4000-8000-000000000000', shareId))
  t.equal((await ta.call({ method: 'GET', url: `${API}/shares/${shareId}`, token: alice })).json().status, 'processing')

  const teamMember = await ta.call({ method: 'POST', url: `${API}/shares/${shareId}/revoke`, payload: {}, token: bob })
  t.equal(teamMember.statusCode, 200, teamMember.body)
})

t.test('a reason beyond 4000 characters or an unknown property is a bad request', async (t) => {
  const { shareId } = await aliceShare()
  const long = await ta.call({ method: 'POST', url: `${API}/shares/${shareId}/revoke`, payload: { reason: 'x'.repeat(4001) }, token: alice })
  t.equal(long.statusCode, 400)
  const extra = await ta.call({ method: 'POST', url: `${API}/shares/${shareId}/revoke`, payload: { why: 'x' }, token: alice })
  t.equal(extra.statusCode, 400)
  t.equal((await ta.call({ method: 'GET', url: `${API}/shares/${shareId}`, token: alice })).json().status, 'processing')
})
