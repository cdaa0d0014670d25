/**
 * Users, groups and tokens through the admin API: a token belongs to an existing user and never
 * exceeds its role; a disabled user's tokens stop working; group membership is what group
 * recipients and case teams go by.
 */
import t from 'tap'
import { createTestApp } from '../../support/local_app.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())

t.test('an admin creates users and lists them; ids are unique; fields are checked', async (t) => {
  const created = await ta.call({
    method: 'POST',
    url: '/api/v1/users',
    payload: { id: 'alice', name: 'Alice Able', email: 'alice@county-pd.example', badge: 'B-100' },
  })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { id: 'alice', name: 'Alice Able', email: 'alice@county-pd.example', badge: 'B-100', role: 'member', kind: 'user', disabled: false })
  const service = await ta.call({ method: 'POST', url: '/api/v1/users', payload: { id: 'rms', name: 'Records system', kind: 'service' } })
  t.match(service.json(), { id: 'rms', kind: 'service', email: null, badge: null })
  const again = await ta.call({ method: 'POST', url: '/api/v1/users', payload: { id: 'alice' } })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'CW_ERR_CONFLICT')
  t.match((await ta.call({ method: 'POST', url: '/api/v1/users', payload: { id: 'x', email: 'not-an-address' } })).json(), {
    code: 'CW_ERR_BAD_REQUEST',
    at: '/email',
  })
  t.match((await ta.call({ method: 'POST', url: '/api/v1/users', payload: { id: 'x', role: 'root' } })).json(), { code: 'CW_ERR_BAD_REQUEST', at: '/role' })
  const ids = (await ta.call({ method: 'GET', url: '/api/v1/users' })).json().users.map((u: { id: string }) => u.id)
  t.same(ids, ['admin-1', 'alice', 'det-smith', 'rms'], 'the users of the helper tokens were created with them')
})

t.test('members may not manage users or groups', async (t) => {
  const requests = [
    { method: 'GET', url: '/api/v1/users' },
    { method: 'POST', url: '/api/v1/users', payload: { id: 'mallory' } },
    { method: 'PATCH', url: '/api/v1/users/det-smith', payload: { role: 'admin' } },
    { method: 'GET', url: '/api/v1/groups' },
    { method: 'POST', url: '/api/v1/groups', payload: { id: 'g' } },
    { method: 'PUT', url: '/api/v1/groups/g/members', payload: { members: ['det-smith'] } },
  ] as const
  for (const request of requests) {
    const response = await ta.call({ ...request, token: ta.memberToken })
    t.equal(response.statusCode, 403, `${request.method} ${request.url}`)
    t.equal(response.json().code, 'CW_ERR_FORBIDDEN')
  }
})

t.test('groups: created with members, members replaced, unknown users refused', async (t) => {
  const created = await ta.call({ method: 'POST', url: '/api/v1/groups', payload: { id: 'robbery', name: 'Robbery unit', members: ['alice'] } })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { id: 'robbery', name: 'Robbery unit', members: ['alice'] })
  const replaced = await ta.call({ method: 'PUT', url: '/api/v1/groups/robbery/members', payload: { members: ['det-smith', 'alice', 'alice'] } })
  t.equal(replaced.statusCode, 200)
  t.same(replaced.json().members, ['det-smith', 'alice'])
  t.same((await ta.call({ method: 'GET', url: '/api/v1/groups' })).json().groups, [{ ...replaced.json(), members: ['alice', 'det-smith'] }])
  t.match((await ta.call({ method: 'PUT', url: '/api/v1/groups/robbery/members', payload: { members: ['ghost'] } })).json(), {
    code: 'CW_ERR_BAD_REQUEST',
    at: '/members/0',
  })
  t.equal((await ta.call({ method: 'PUT', url: '/api/v1/groups/none/members', payload: { members: [] } })).statusCode, 404)
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/groups', payload: { id: 'robbery' } })).statusCode, 409)
  t.same(await ta.ctx.store.principals.listUserGroups('det-smith'), ['robbery'])
})

// spec: CW-LOC-004
t.test('POST /tokens names an existing user and never exceeds its role', async (t) => {
  const unknown = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'ghost', role: 'member' } })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { code: 'CW_ERR_NOT_FOUND', at: '/userId' })
  t.equal(await ta.ctx.store.principals.getUser('ghost'), undefined, 'no user was made up')
  const above = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'alice', role: 'admin' } })
  t.match(above.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/role' })
  const token = await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'alice', role: 'member' } })
  t.equal(token.statusCode, 201)
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases', token: token.json().token })).statusCode, 200)
})

// spec: CW-LOC-004
t.test('disabling a user stops its tokens; demoting it caps their role', async (t) => {
  await ta.call({ method: 'POST', url: '/api/v1/users', payload: { id: 'boss', role: 'admin' } })
  const token = (await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'boss', role: 'admin' } })).json().token
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/users', token })).statusCode, 200)
  t.match((await ta.call({ method: 'PATCH', url: '/api/v1/users/boss', payload: { role: 'member' } })).json(), { role: 'member' })
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/users', token })).statusCode, 403, 'an admin token of a member acts as a member')
  t.match((await ta.call({ method: 'PATCH', url: '/api/v1/users/boss', payload: { disabled: true } })).json(), { disabled: true })
  const refused = await ta.call({ method: 'GET', url: '/api/v1/cases', token })
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().code, 'CW_ERR_UNAUTHENTICATED')
  t.match((await ta.call({ method: 'POST', url: '/api/v1/tokens', payload: { userId: 'boss', role: 'member' } })).json(), {
    code: 'CW_ERR_BAD_REQUEST',
    at: '/userId',
  })
  t.equal((await ta.call({ method: 'PATCH', url: '/api/v1/users/ghost', payload: { name: 'G' } })).statusCode, 404)
})
