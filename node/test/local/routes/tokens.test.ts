import t from 'tap'
import { createTestApp } from '../../support/local_app.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())

t.test('an admin creates a token; the secret works once returned and is not stored', async (t) => {
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/users', payload: { id: 'records-system', name: 'Records system', kind: 'service' } })).statusCode, 201)
  const created = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'records-system', role: 'member' } })
  t.equal(created.statusCode, 201)
  const body = created.json()
  t.match(body, { userId: 'records-system', role: 'member', token: /^cw_[A-Za-z0-9_-]{43}$/ })
  const used = await ta.call({ method: 'GET', url: '/api/v1/cases', token: body.token })
  t.equal(used.statusCode, 200)
  const refused = await ta.call({ method: 'GET', url: '/api/v1/policies', token: body.token })
  t.equal(refused.statusCode, 403)
})

t.test('a token request with an unknown role or extra fields is 400', async (t) => {
  const role = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'x', role: 'root' } })
  t.match(role.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/role' })
  const extra = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'x', role: 'member', isAdmin: true } })
  t.match(extra.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/isAdmin' })
})

// spec: CW-LOC-010
t.test('a token is created with a name and a lifetime; a longer one than auth.tokens.maxDays is 400', async (t) => {
  const created = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'det-smith', role: 'member', name: 'phone', expiresInDays: 7 } })
  t.equal(created.statusCode, 201)
  const body = created.json()
  t.match(body, { userId: 'det-smith', name: 'phone' })
  t.equal(body.expiresAt - body.createdAt, 7 * 86_400)
  const tooLong = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'det-smith', role: 'member', expiresInDays: 366 } })
  t.equal(tooLong.statusCode, 400)
  t.match(tooLong.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/expiresInDays' })
})

// spec: CW-LOC-010
t.test('GET /tokens: an admin sees all, a member its own; POST /tokens/{id}/revoke takes effect on the next request', async (t) => {
  const own = (await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'det-smith', role: 'member', name: 'to revoke' } })).json()
  const all = await ta.call({ method: 'GET', url: '/api/v1/tokens' })
  t.equal(all.statusCode, 200)
  const allIds = all.json<Array<{ id: string; userId: string }>>()
  t.ok(allIds.some((x) => x.userId === 'admin-1') && allIds.some((x) => x.id === own.id), 'every user')
  t.notOk(all.body.includes('cw_'), 'no secret in the list')

  const listed = await ta.call({ method: 'GET', url: '/api/v1/tokens', token: own.token })
  t.equal(listed.statusCode, 200)
  t.ok(
    listed.json<Array<{ userId: string }>>().every((x) => x.userId === 'det-smith'),
    'a member sees its own only',
  )
  t.match(
    listed.json<Array<{ id: string }>>().find((x) => x.id === own.id),
    { name: 'to revoke', status: 'active', lastUsedAt: Number },
  )

  const adminTokenId = allIds.find((x) => x.userId === 'admin-1')!.id
  const foreign = await ta.call({ method: 'POST', url: `/api/v1/tokens/${adminTokenId}/revoke`, token: own.token })
  t.equal(foreign.statusCode, 404, "a member cannot revoke another's token")

  const revoked = await ta.call({ method: 'POST', url: `/api/v1/tokens/${own.id}/revoke`, token: own.token })
  t.equal(revoked.statusCode, 200)
  t.match(revoked.json(), { id: own.id, status: 'revoked' })
  const after = await ta.call({ method: 'GET', url: '/api/v1/tokens', token: own.token })
  t.equal(after.statusCode, 401, 'the revoked token is refused at once')
  t.match((await ta.call({ method: 'GET', url: `/api/v1/tokens?userId=det-smith` })).json(), [{ userId: 'det-smith' }])
})

// spec: CW-LOC-010
t.test('PATCH /users/{id} disabled: the user’s tokens are revoked and stay revoked when it is enabled again', async (t) => {
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/users', payload: { id: 'temp-user' } })).statusCode, 201)
  const token = (await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'temp-user', role: 'member' } })).json().token
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token })).statusCode, 200)
  t.equal((await ta.call({ method: 'PATCH', url: '/api/v1/users/temp-user', payload: { disabled: true } })).statusCode, 200)
  t.equal((await ta.call({ method: 'PATCH', url: '/api/v1/users/temp-user', payload: { disabled: false } })).statusCode, 200)
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token })).statusCode, 401, 're-enabling revived nothing')
  const listed = (await ta.call({ method: 'GET', url: '/api/v1/tokens?userId=temp-user' })).json()
  t.match(listed, [{ status: 'revoked' }])
})
