/**
 * Integers a JSON number cannot carry exactly (SPEC.md CW-LOC-016): in a query or a body, a
 * `400 CW_ERR_BAD_REQUEST` naming the field, never a `500`.
 */
import t from 'tap'
import { safeIntegers } from '../../src/local/validation.ts'
import { createTestApp } from '../support/local_app.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())
const caseId = (await ta.call({ method: 'POST', url: '/api/v1/cases', payload: { fields: { title: 'Numbers' } } })).json().id as string

// spec: CW-LOC-016
t.test('a query integer beyond 2^53 is a 400 naming it', async (t) => {
  for (const after of ['99999999999999999999', '9007199254740992', '1e300']) {
    const answer = await ta.call({ method: 'GET', url: `/api/v1/cases/${caseId}/audit?after=${after}` })
    t.equal(answer.statusCode, 400, `after=${after}`)
    t.match(answer.json(), { code: 'CW_ERR_BAD_REQUEST' })
    t.match(answer.json().at, /after/)
  }
  const limit = await ta.call({ method: 'GET', url: `/api/v1/cases/${caseId}/audit?limit=99999999999999999999` })
  t.equal(limit.statusCode, 400)
  const largest = await ta.call({ method: 'GET', url: `/api/v1/cases/${caseId}/audit?after=9007199254740991` })
  t.equal(largest.statusCode, 200, 'the largest safe integer is an ordinary value')
  t.same(largest.json().entries, [])
})

// spec: CW-LOC-016
t.test('a body integer beyond 2^53 is a 400 naming it', async (t) => {
  const answer = await ta.call({
    method: 'POST',
    url: '/api/v1/shares',
    headers: { 'content-type': 'application/json' },
    payload: `{"caseId":"${caseId}","partnerOrg":"nobody","scope":"case","expiresInSeconds":99999999999999999999}`,
  })
  t.equal(answer.statusCode, 400)
  t.match(answer.json(), { code: 'CW_ERR_BAD_REQUEST', at: '/expiresInSeconds' })
})

t.test('bounds are added to every integer schema and keep tighter ones', async (t) => {
  t.same(
    safeIntegers({ type: 'object', properties: { a: { type: 'integer', minimum: 0, maximum: 10 }, b: { type: ['integer', 'null'] }, c: { type: 'string' } } }),
    {
      type: 'object',
      properties: {
        a: { type: 'integer', minimum: 0, maximum: 10 },
        b: { type: ['integer', 'null'], minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
        c: { type: 'string' },
      },
    },
  )
})
