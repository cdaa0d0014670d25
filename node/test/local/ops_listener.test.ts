/**
 * The ops listener (`ops: {host, port}`) and what every listener does for the operator
 * (CW-LOC-022): /healthz, /readyz (no partner names) and /metrics only; X-Request-Id honoured
 * when sane, else a UUID unique across listeners, echoed; request durations per route and
 * listener; metrics that pass `promtool check metrics`.
 */
// spec: CW-LOC-022
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { createNode, loadConfig, initNode } from '../../src/index.ts'
import { createToken } from '../../src/access/tokens.ts'

const dir = join(t.testdir(), 'node')
await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: 0, localPort: 0 })
const configPath = join(dir, 'caseway.json')
const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>
await writeFile(configPath, JSON.stringify({ ...config, ops: { host: '127.0.0.1', port: 0 } }))
const node = await createNode(await loadConfig(dir), { logger: { level: 'silent' } })
await node.start()
t.teardown(() => node.stop())
const { token } = await createToken(node.ctx, { userId: 'admin', role: 'admin' })

t.test('the ops listener serves the probes and the metrics, and nothing else', async (t) => {
  t.match(node.opsUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.same(await (await fetch(`${node.opsUrl}/healthz`)).json(), { status: 'ok' })
  const ready = await fetch(`${node.opsUrl}/readyz`)
  t.equal(ready.status, 200)
  const body = (await ready.json()) as { status: string; checks: { partners: { partners: unknown[]; detail: string } } }
  t.equal(body.status, 'ready')
  t.same(body.checks.partners.partners, [], 'no partner names on the ops listener')
  const metrics = await fetch(`${node.opsUrl}/metrics`)
  t.equal(metrics.status, 200)
  t.match(await metrics.text(), /^# TYPE caseway_certificate_expiry_seconds gauge$/m)
  for (const path of ['/openapi.json', '/api/v1/cases', '/api/v1/partners']) {
    const response = await fetch(`${node.opsUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(response.status, 404, `${path} is not on the ops listener`)
  }
  t.equal((await fetch(`${node.localUrl}/healthz`)).status, 200, 'the local listener keeps them too')
})

t.test('X-Request-Id: a sane one is echoed; otherwise a fresh UUID, different on every listener', async (t) => {
  const given = await fetch(`${node.localUrl}/healthz`, { headers: { 'x-request-id': 'trace-42.a:b' } })
  t.equal(given.headers.get('x-request-id'), 'trace-42.a:b')
  const insane = await fetch(`${node.localUrl}/healthz`, { headers: { 'x-request-id': 'x'.repeat(200) } })
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  t.match(insane.headers.get('x-request-id'), uuid, 'too long: replaced')
  const fromLocal = (await fetch(`${node.localUrl}/healthz`)).headers.get('x-request-id')
  const fromOps = (await fetch(`${node.opsUrl}/healthz`)).headers.get('x-request-id')
  t.match(fromLocal, uuid)
  t.match(fromOps, uuid)
  t.not(fromLocal, fromOps, 'ids do not restart per listener')
})

t.test('request durations per listener and route; promtool check metrics is clean', async (t) => {
  await fetch(`${node.opsUrl}/healthz`)
  await fetch(`${node.localUrl}/api/v1/cases`, { headers: { authorization: `Bearer ${token}` } })
  const text = await (await fetch(`${node.opsUrl}/metrics`)).text()
  t.match(text, /^caseway_http_request_duration_seconds_count\{listener="ops",method="GET",route="\/healthz",status="200"\} [1-9]/m)
  t.match(text, /^caseway_http_request_duration_seconds_count\{listener="local",method="GET",route="\/api\/v1\/cases",status="200"\} [1-9]/m)
  t.notMatch(text, /caseway_certificate_expiry_days/, 'seconds, not days')
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (match[1]!.endsWith('_total')) t.equal(match[2], 'counter', `${match[1]} is a counter`)
  }
  const promtool = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, output: stdout + stderr }),
    )
    child.stdin!.end(text)
  })
  t.equal(promtool.code, 0, promtool.output)
  t.equal(promtool.output.trim(), '', 'no findings')
})

t.test('an ops port equal to another listener port is refused', async (t) => {
  const other = join(t.testdir(), 'clash')
  await initNode({ org: 'metro-pd', name: 'Metro PD', dir: other, federationPort: 0, localPort: 39991 })
  const clashPath = join(other, 'caseway.json')
  const clash = JSON.parse(await readFile(clashPath, 'utf8')) as Record<string, unknown>
  await writeFile(clashPath, JSON.stringify({ ...clash, ops: { port: 39991 } }))
  await t.rejects(loadConfig(other), /local\.port and ops\.port are both 39991/)
})

// spec: CW-LOC-023
t.test('HTTP details on the local API: 401 says WWW-Authenticate; a text/plain body on a JSON route is 415', async (t) => {
  const unauthenticated = await fetch(`${node.localUrl}/api/v1/cases`)
  t.equal(unauthenticated.status, 401)
  t.equal(unauthenticated.headers.get('www-authenticate'), 'Bearer realm="caseway"')
  const plain = await fetch(`${node.localUrl}/api/v1/cases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    body: '{"title":"x"}',
  })
  t.equal(plain.status, 415)
  t.match(plain.headers.get('content-type'), /^application\/problem\+json/)
  t.equal(((await plain.json()) as { code: string }).code, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
})
