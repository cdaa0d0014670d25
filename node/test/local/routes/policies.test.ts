import t from 'tap'
import { createTestApp } from '../../support/local_app.ts'
import { policyBody } from '../../../../testkit/fixtures/policies.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())

// spec: CW-POL-001, CW-POL-007
t.test('a policy is created at version 1; a new version leaves version 1 unchanged', async (t) => {
  const created = await ta.call({ method: 'POST', url: '/api/v1/policies', payload: policyBody({ id: 'da-standard' }) })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { id: 'da-standard', version: 1, policy: { id: 'da-standard', version: 1, name: 'Prosecutor standard' } })
  const v2 = await ta.call({
    method: 'POST',
    url: '/api/v1/policies/da-standard/versions',
    payload: policyBody({ name: 'Narrower', maxDurationSeconds: 3600 }),
  })
  t.equal(v2.statusCode, 201)
  t.match(v2.json(), { id: 'da-standard', version: 2, policy: { version: 2, name: 'Narrower', maxDurationSeconds: 3600 } })
  const v1 = await ta.call({ method: 'GET', url: '/api/v1/policies/da-standard?version=1' })
  t.same(v1.json(), created.json(), 'version 1 as created')
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/policies/da-standard' })).json().version, 2)
  const list = (await ta.call({ method: 'GET', url: '/api/v1/policies' })).json().policies
  t.same(
    list.map((p: { id: string; version: number }) => [p.id, p.version]),
    [['da-standard', 2]],
  )
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/policies/nope' })).statusCode, 404)
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/policies/nope/versions', payload: policyBody() })).statusCode, 404)
  t.equal((await ta.call({ method: 'POST', url: '/api/v1/policies', payload: policyBody({ id: 'da-standard' }) })).statusCode, 409)
})

// spec: CW-POL-001, CW-FMT-004
t.test('an invalid policy is 400 CW_ERR_BAD_REQUEST naming the rule; unknown rules are refused, not dropped', async (t) => {
  const unknown = await ta.call({
    method: 'POST',
    url: '/api/v1/policies',
    payload: { ...policyBody(), permissions: { ...(policyBody()['permissions'] as object), delete: true } },
  })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/permissions/delete' })
  const viewFalse = await ta.call({
    method: 'POST',
    url: '/api/v1/policies',
    payload: { ...policyBody(), permissions: { ...(policyBody()['permissions'] as object), view: false } },
  })
  t.match(viewFalse.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/permissions/view' })
  const category = await ta.call({
    method: 'POST',
    url: '/api/v1/policies',
    payload: policyBody({ content: { caseFields: [], evidenceCategories: ['Not A Category'], attachments: false } }),
  })
  t.match(category.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/content/evidenceCategories/0' })
  t.same(
    (await ta.call({ method: 'GET', url: '/api/v1/policies' })).json().policies.filter((p: { id: string }) => p.id !== 'da-standard'),
    [],
    'nothing stored',
  )
})
