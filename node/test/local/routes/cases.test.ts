import t from 'tap'
import { createTestApp } from '../../support/local_app.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())

t.test('a case with nested folders, read back with its folders', async (t) => {
  const created = await ta.call({
    method: 'POST',
    url: '/api/v1/cases',
    payload: { fields: { caseNumber: '2025-7', title: 'Arson', tags: ['warehouse'] } },
    token: ta.memberToken,
  })
  t.equal(created.statusCode, 201)
  const theCase = created.json()
  t.same(theCase.fields, { caseNumber: '2025-7', title: 'Arson', tags: ['warehouse'] })
  const scene = (await ta.call({ method: 'POST', url: `/api/v1/cases/${theCase.id}/folders`, payload: { name: 'Scene' } })).json()
  const photos = await ta.call({ method: 'POST', url: `/api/v1/cases/${theCase.id}/folders`, payload: { name: 'Photos', parentId: scene.id } })
  t.equal(photos.statusCode, 201)
  t.match(photos.json(), { caseId: theCase.id, parentId: scene.id, name: 'Photos' })
  const detail = (await ta.call({ method: 'GET', url: `/api/v1/cases/${theCase.id}` })).json()
  t.same(
    detail.folders.map((f: { name: string; parentId: string | null }) => [f.name, f.parentId]),
    [
      ['Scene', null],
      ['Photos', scene.id],
    ],
  )
  const listed = (await ta.call({ method: 'GET', url: '/api/v1/cases' })).json().cases
  t.ok(listed.some((c: { id: string }) => c.id === theCase.id))

  const other = (await ta.call({ method: 'POST', url: '/api/v1/cases', payload: {} })).json()
  const foreign = await ta.call({ method: 'POST', url: `/api/v1/cases/${other.id}/folders`, payload: { name: 'X', parentId: scene.id } })
  t.equal(foreign.statusCode, 400)
  t.match(foreign.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/parentId' })
  t.equal((await ta.call({ method: 'GET', url: '/api/v1/cases/missing' })).statusCode, 404)
})

t.test('PATCH changes fields; bad field names and values are 400', async (t) => {
  const theCase = (await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Old', description: 'x' } } })).json()
  const patched = await ta.call({ method: 'PATCH', url: `/api/v1/cases/${theCase.id}`, payload: { fields: { title: 'New', description: null, tags: ['a'] } } })
  t.equal(patched.statusCode, 200)
  t.same(patched.json().fields, { title: 'New', tags: ['a'] })
  const badName = await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { 'Bad Name': 'x' } } })
  t.equal(badName.json().code, 'CW_ERR_BAD_REQUEST')
  const tooLong = await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'x'.repeat(4001) } } })
  t.match(tooLong.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/fields/title' })
  const massAssign = await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: {}, importedFrom: 'x' } })
  t.equal(massAssign.statusCode, 400, 'unknown properties are refused')
})
