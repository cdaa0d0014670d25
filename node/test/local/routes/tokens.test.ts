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
