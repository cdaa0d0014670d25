/**
 * A wrong method on a path the local API has is `405` `CW_ERR_METHOD_NOT_ALLOWED` with `Allow`
 * naming the path's methods; a path it does not have stays `404` (SPEC.md CW-LOC-029).
 */
import t from 'tap'
import { createTestApp } from '../support/local_app.ts'

const ta = await createTestApp()
t.teardown(() => ta.close())

/** Each route URL with the methods registered on it (HEAD twins included). */
const byUrl = new Map<string, Set<string>>()
for (const route of ta.routes) {
  const [method, url] = route.split(' ') as [string, string]
  if (!byUrl.has(url)) byUrl.set(url, new Set())
  byUrl.get(url)!.add(method)
}
const concrete = (url: string) => url.replace(/:(\w+)/g, 'no-such-$1')
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

// spec: CW-LOC-029
t.test('every known path answers a method it does not have with 405 and Allow', async (t) => {
  t.ok(byUrl.size >= 25, `${byUrl.size} paths`)
  for (const url of byUrl.keys()) {
    // Another route with parameters may match the same concrete path (`/x/:id` and `/x/new`).
    const samePath = [...byUrl.entries()].filter(([other]) => new RegExp(`^${other.replace(/:(\w+)/g, '[^/]+')}$`).test(concrete(url)))
    const allowed = new Set(samePath.flatMap(([, those]) => [...those]))
    const missing = METHODS.find((method) => !allowed.has(method))
    if (missing === undefined) continue
    const response = await ta.call({ method: missing, url: concrete(url), ...(missing === 'GET' ? {} : { payload: {} }) })
    t.equal(response.statusCode, 405, `${missing} ${url}`)
    t.equal(response.headers['allow'], [...allowed].sort().join(', '), `${missing} ${url}: Allow`)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.equal(response.json().code, 'CW_ERR_METHOD_NOT_ALLOWED', `${missing} ${url}`)
  }
})

// spec: CW-LOC-029
t.test('examples: DELETE on a download, POST on /healthz, PUT on a case; unknown paths stay 404', async (t) => {
  const download = await ta.call({ method: 'DELETE', url: '/api/v1/evidence/e1/content' })
  t.equal(download.statusCode, 405)
  t.equal(download.headers['allow'], 'GET, HEAD')
  const health = await ta.call({ method: 'POST', url: '/healthz', payload: {} })
  t.equal(health.statusCode, 405)
  t.equal(health.headers['allow'], 'GET, HEAD')
  const theCase = await ta.call({ method: 'PUT', url: '/api/v1/cases/c1', payload: {} })
  t.equal(theCase.statusCode, 405)
  t.match(theCase.headers['allow'], /\bGET\b/)
  for (const [method, url] of [
    ['GET', '/api/v1/no-such-thing'],
    ['POST', '/api/v1/evidence/e1/content/more'],
    ['GET', '/api/v2/cases'],
  ] as const) {
    const unknown = await ta.call({ method, url, ...(method === 'POST' ? { payload: {} } : {}) })
    t.equal(unknown.statusCode, 404, `${method} ${url}`)
    t.notOk(unknown.headers['allow'], `${method} ${url}: no Allow`)
    t.equal(unknown.json().code, 'CW_ERR_NOT_FOUND')
  }
})
