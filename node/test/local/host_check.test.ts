/**
 * The local listener answers only for its own hosts (SPEC.md CW-LOC-014): a
 * DNS-rebinding page, whose requests reach 127.0.0.1 with the attacker's host name, gets
 * `421 CW_ERR_MISDIRECTED` from every route — probes, metrics, the API — before anything runs.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createToken } from '../../src/access/tokens.ts'
import { allowedHostNames, hostNameOf } from '../../src/http/host_check.ts'
import { localApp } from '../../src/local/app.ts'
import { createTestContext, type TestContext } from '../support/context.ts'

async function appOn(t: Test, local: Record<string, unknown> = {}): Promise<{ app: FastifyInstance; tc: TestContext }> {
  const tc = await createTestContext({ local })
  const app = Fastify({ logger: false })
  await app.register(localApp, { ctx: tc.ctx })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await tc.close()
  })
  return { app, tc }
}

const ROUTES = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/api/v1/cases', '/api/v1/partners', '/api/v1/no-such-route']

// spec: CW-LOC-014
t.test('every route refuses a foreign Host with 421 CW_ERR_MISDIRECTED, a valid token or not', async (t) => {
  const { app, tc } = await appOn(t)
  const { token } = await createToken(tc.ctx, { userId: 'root', role: 'admin' })
  for (const host of [
    'rebind.attacker.example',
    'rebind.attacker.example:8081',
    '127.0.0.1.nip.io',
    'localhost.attacker.example',
    'a b',
    '[::1',
    'localhost@evil',
  ]) {
    for (const url of ROUTES) {
      const answer = await app.inject({ method: 'GET', url, headers: { host, authorization: `Bearer ${token}` } })
      t.equal(answer.statusCode, 421, `${JSON.stringify(host)} ${url}`)
      t.match(answer.json(), { code: 'CW_ERR_MISDIRECTED', status: 421 })
      t.notMatch(answer.body, /county-pd|"checks"|"partners"|caseway_/, 'nothing of the node in the answer')
    }
  }
  const posted = await app.inject({
    method: 'POST',
    url: '/api/v1/cases',
    headers: { host: 'evil.example', authorization: `Bearer ${token}` },
    payload: { fields: { title: 'x' } },
  })
  t.equal(posted.statusCode, 421, 'nothing is created')
  t.same(await tc.ctx.store.cases.list(), [])
})

// spec: CW-LOC-014
t.test('loopback names and the bound address are allowed by default, with any port and any case', async (t) => {
  const { app } = await appOn(t, { host: '10.20.30.40' })
  for (const host of ['localhost', 'LOCALHOST:8081', 'localhost.', '127.0.0.1:8081', '[::1]:8081', '[::1]', '10.20.30.40:8081']) {
    t.equal((await app.inject({ method: 'GET', url: '/healthz', headers: { host } })).statusCode, 200, host)
  }
})

// spec: CW-LOC-014
t.test('a wildcard bind address adds no name', async (t) => {
  const { app } = await appOn(t, { host: '0.0.0.0' })
  t.equal((await app.inject({ method: 'GET', url: '/healthz', headers: { host: '0.0.0.0:8081' } })).statusCode, 421)
  t.equal((await app.inject({ method: 'GET', url: '/healthz', headers: { host: '192.168.1.9' } })).statusCode, 421)
})

// spec: CW-LOC-014
t.test('local.allowedHosts adds the names a reverse proxy forwards', async (t) => {
  const { app } = await appOn(t, { allowedHosts: ['caseway.agency.example', '192.0.2.7', '[2001:db8::7]'] })
  for (const host of ['caseway.agency.example', 'Caseway.Agency.Example:443', '192.0.2.7:8081', '[2001:db8::7]:8081']) {
    t.equal((await app.inject({ method: 'GET', url: '/healthz', headers: { host } })).statusCode, 200, host)
  }
  t.equal((await app.inject({ method: 'GET', url: '/healthz', headers: { host: 'other.agency.example' } })).statusCode, 421)
})

t.test('Host values are read strictly', async (t) => {
  t.equal(hostNameOf('Example.ORG:80'), 'example.org')
  t.equal(hostNameOf('[::1]:80'), '::1')
  t.equal(hostNameOf('user@example.org'), undefined)
  t.equal(hostNameOf('example.org/path'), undefined)
  t.equal(hostNameOf(undefined), undefined)
  t.same([...allowedHostNames('::', ['a.example'])].sort(), ['127.0.0.1', '::1', 'a.example', 'localhost'])
})
