/**
 * /readyz and /metrics on the local API, on a real test context: each readiness check
 * passing and failing for real (short-lived certificates, a blob store that cannot write, a
 * closed metadata store), and the metrics of separate nodes kept apart.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { register as globalRegistry } from 'prom-client'
import t, { type Test } from 'tap'
import { issueNodeCertificate, issueSigningCertificate } from '#certs'
import type { NodeContext } from '../../src/context.ts'
import { localApp } from '../../src/local/app.ts'
import { createMetrics, type NodeMetrics } from '../../src/operations/metrics.ts'
import { BLOB_PROBE_INTERVAL_MS } from '../../src/operations/readiness.ts'
import { createToken } from '../../src/access/tokens.ts'
import { createTestContext, type TestContext } from '../support/context.ts'

const DAY_MS = 86_400_000

async function appFor(t: Test, ctx: NodeContext, metrics?: NodeMetrics): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(localApp, metrics === undefined ? { ctx } : { ctx, metrics })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

async function context(t: Test, options: Parameters<typeof createTestContext>[0] = {}): Promise<TestContext> {
  const tc = await createTestContext(options)
  t.teardown(() => tc.close())
  return tc
}

interface ReadyAnswer {
  status: string
  checks: Record<
    string,
    { status: string; detail: string; certificates?: Record<string, { daysLeft: number; notAfter: string }>; partners?: Array<Record<string, unknown>> }
  >
}

t.test('a healthy node is ready: every check named with its state, days left per certificate', async (t) => {
  const tc = await context(t)
  const app = await appFor(t, tc.ctx)
  const response = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/, 'JSON, not a problem document')
  const body = response.json<ReadyAnswer>()
  t.equal(body.status, 'ready')
  t.same(Object.keys(body.checks).sort(), ['blobStore', 'certificates', 'metadataStore', 'partners'])
  for (const name of ['metadataStore', 'blobStore', 'certificates']) t.equal(body.checks[name]!.status, 'pass', name)
  t.equal(body.checks['partners']!.status, 'info', 'partners are informative')
  const certificates = body.checks['certificates']!.certificates!
  t.same(Object.keys(certificates).sort(), ['ca', 'node', 'signing'])
  t.ok(certificates['node']!.daysLeft > 300, `node.crt: ${certificates['node']!.daysLeft} days left`)
  t.ok(certificates['ca']!.daysLeft > 3000, `ca.crt: ${certificates['ca']!.daysLeft} days left`)
  t.equal(response.headers['retry-after'], undefined)
})

// spec: CW-LOC-021
t.test('a certificate expiring within 30 days keeps the node ready (200), named in warnings; an expired one is not ready', async (t) => {
  const tc = await context(t)
  const { org, name } = tc.self
  const soon = await issueNodeCertificate(tc.self.ca, { org, name, hosts: [`${org}.test`], validityDays: 10 })
  const identity = { ...tc.ctx.identity, tls: { ...tc.ctx.identity.tls, cert: soon.certificate.toString('pem') } }
  const app = await appFor(t, { ...tc.ctx, identity })
  const response = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(response.statusCode, 200, 'the node still does its job')
  t.match(response.headers['content-type'], /^application\/json/)
  const body = response.json<ReadyAnswer>()
  t.equal(body.status, 'ready')
  t.equal(body.checks['certificates']!.status, 'pass')
  t.match(body.checks['certificates']!.detail, /node expires in 9 days: renew it/)
  t.same((body.checks['certificates'] as { warnings?: string[] }).warnings, ['node expires in 9 days: renew it'])
  t.equal(body.checks['certificates']!.certificates!['node']!.daysLeft, 9)
  t.ok(body.checks['certificates']!.certificates!['signing']!.daysLeft > 300, 'the others are fine')
  t.equal(body.checks['metadataStore']!.status, 'pass', 'the other checks still pass')

  // 31 days: no warning; an expired signing certificate is not ready.
  const fine = await issueNodeCertificate(tc.self.ca, { org, name, hosts: [`${org}.test`], validityDays: 31 })
  const fineApp = await appFor(t, { ...tc.ctx, identity: { ...identity, tls: { ...identity.tls, cert: fine.certificate.toString('pem') } } })
  const fineAnswer = await fineApp.inject({ method: 'GET', url: '/readyz' })
  t.equal(fineAnswer.statusCode, 200, '31 days left is ready')
  t.equal(fineAnswer.json<{ checks: { certificates: { warnings?: string[] } } }>().checks.certificates.warnings, undefined, 'without a warning')
  const expired = await issueSigningCertificate(tc.self.ca, {
    org,
    name,
    notBefore: new Date(Date.now() - 30 * DAY_MS),
    notAfter: new Date(Date.now() - DAY_MS),
  })
  const signer = { ...tc.ctx.identity.signer, chain: [expired.certificate.toString('pem'), tc.ctx.identity.caCertificate] }
  const expiredApp = await appFor(t, { ...tc.ctx, identity: { ...tc.ctx.identity, signer } })
  const expiredAnswer = await expiredApp.inject({ method: 'GET', url: '/readyz' })
  t.equal(expiredAnswer.statusCode, 503)
  t.match(expiredAnswer.json<ReadyAnswer>().checks['certificates']!.detail, /^signing expired at /)
})

t.test('a blob store that cannot write makes the node not ready until it can again', async (t) => {
  let nowMs = Date.now()
  const tc = await context(t, { clock: { now: () => new Date(nowMs) } })
  const app = await appFor(t, tc.ctx)
  // The probe is written in blobs/tmp; a file in its place makes every write fail (even for root).
  const tmp = join(tc.dir, 'blobs', 'tmp')
  await rm(tmp, { recursive: true, force: true })
  await writeFile(tmp, 'not a directory')
  const failing = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(failing.statusCode, 503)
  const body = failing.json<ReadyAnswer>()
  t.equal(body.checks['blobStore']!.status, 'fail')
  t.match(body.checks['blobStore']!.detail, /^ENOTDIR/)
  t.equal(body.checks['metadataStore']!.status, 'pass')

  await rm(tmp)
  await mkdir(tmp, { mode: 0o700 })
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'the last probe stands within the interval')
  nowMs += BLOB_PROBE_INTERVAL_MS
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready again at the next probe')
})

// spec: CW-LOC-015
t.test('/readyz writes at most one blob probe per interval, however often it is called', async (t) => {
  let nowMs = Date.now()
  const tc = await context(t, { clock: { now: () => new Date(nowMs) } })
  const app = await appFor(t, tc.ctx)
  let probes = 0
  const check = tc.ctx.blobs.check.bind(tc.ctx.blobs)
  tc.ctx.blobs.check = async () => {
    probes++
    return check()
  }
  const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'GET', url: '/readyz' })))
  t.same(new Set(answers.map((answer) => answer.statusCode)), new Set([200]))
  t.equal(probes, 1, '50 concurrent calls, one probe')
  nowMs += BLOB_PROBE_INTERVAL_MS - 1
  await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(probes, 1, 'still within the interval')
  nowMs += 1
  await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(probes, 2, 'the next probe once the interval has passed')
})

t.test('a closed metadata store makes the node not ready', async (t) => {
  const tc = await context(t)
  const app = await appFor(t, tc.ctx)
  await tc.ctx.store.close()
  const response = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(response.statusCode, 503)
  const body = response.json<ReadyAnswer>()
  t.equal(body.checks['metadataStore']!.status, 'fail')
  t.match(body.checks['metadataStore']!.detail, /closed/)
  t.equal(body.checks['blobStore']!.status, 'pass')
  t.equal(body.checks['partners']!.status, 'info', 'partners never fail readiness')
})

t.test('a metadata store that does not answer fails its check in bounded time', async (t) => {
  const tc = await context(t)
  // A transaction that never ends holds the store; the ping waits behind it.
  let release!: () => void
  const held = tc.ctx.store.transaction(() => new Promise<void>((resolve) => (release = resolve)))
  t.teardown(async () => {
    release()
    await held
  })
  const { checkReadiness } = await import('../../src/operations/readiness.ts')
  const readiness = await checkReadiness(tc.ctx, { timeoutMs: 200 })
  t.equal(readiness.status, 'not-ready')
  t.same(readiness.checks.metadataStore, { status: 'fail', detail: 'no answer within 200 ms' })
})

t.test('partners: the last successful exchange with each, informative only', async (t) => {
  const tc = await context(t)
  const metrics = createMetrics(tc.ctx)
  const app = await appFor(t, tc.ctx, metrics)
  const { partnerRecord } = await import('../support/records.ts')
  await tc.ctx.store.partners.upsert(partnerRecord({ org: 'river-pd', policyId: null, policyVersion: null }))
  await tc.ctx.store.partners.upsert(partnerRecord({ org: 'lake-pd', name: 'Lake PD', policyId: null, policyVersion: null }))
  let body = (await app.inject({ method: 'GET', url: '/readyz' })).json<ReadyAnswer>()
  t.equal(body.status, 'ready', 'partners never heard from do not make the node unready')
  t.same(body.checks['partners']!.partners, [
    { org: 'lake-pd', name: 'Lake PD', enabled: true, lastSuccess: null },
    { org: 'river-pd', name: 'River Police Department', enabled: true, lastSuccess: null },
  ])
  metrics.peerSucceeded('river-pd')
  body = (await app.inject({ method: 'GET', url: '/readyz' })).json<ReadyAnswer>()
  const river = body.checks['partners']!.partners!.find((partner) => partner['org'] === 'river-pd')!
  t.ok(Math.abs(Date.parse(river['lastSuccess'] as string) - Date.now()) < 5000, `river-pd last contact ${String(river['lastSuccess'])}`)
  t.match(body.checks['partners']!.detail, /1 enabled without a successful exchange/)
})

t.test('/metrics: Prometheus text from the node registry, public, never the global registry', async (t) => {
  const tc = await context(t)
  const app = await appFor(t, tc.ctx)
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = response.body
  for (const series of [
    /^caseway_certificate_expiry_seconds\{certificate="node"\} \d+(\.\d+)?$/m,
    /^caseway_certificate_expiry_seconds\{certificate="signing"\} \d+/m,
    /^caseway_certificate_expiry_seconds\{certificate="ca"\} \d+/m,
    /^# TYPE caseway_shares gauge$/m,
    /^# TYPE caseway_bytes_sent_total counter$/m,
    /^# TYPE caseway_bytes_received_total counter$/m,
    /^# TYPE caseway_verification_failures_total counter$/m,
    /^# TYPE caseway_transfer_duration_seconds histogram$/m,
    /^# TYPE caseway_notification_failures_total counter$/m,
    /^# TYPE caseway_blobs_freed_total counter$/m,
    /^# TYPE caseway_blob_bytes_freed_total counter$/m,
    /^# TYPE caseway_peer_last_success_timestamp_seconds gauge$/m,
    /^caseway_process_cpu_user_seconds_total \d/m,
    /^caseway_nodejs_heap_size_used_bytes \d/m,
  ])
    t.match(text, series)
  t.equal(globalRegistry.getSingleMetric('caseway_shares'), undefined, 'nothing in the global registry')
  t.equal(globalRegistry.getSingleMetric('caseway_process_cpu_user_seconds_total'), undefined)

  // A second node in the same process: its own series, no "already registered" clash.
  const other = await context(t, { org: 'lake-pd' })
  const second = createMetrics(other.ctx)
  const first = createMetrics(tc.ctx)
  first.chunkServed('river-pd', 1000)
  t.match(await first.expose(), /^caseway_bytes_sent_total\{peer="river-pd"\} 1000$/m)
  t.notMatch(await second.expose(), /caseway_bytes_sent_total\{/, 'the other node counted nothing')
})

t.test('metrics.enabled false: no /metrics route; readiness stays', async (t) => {
  const tc = await context(t)
  const ctx = { ...tc.ctx, config: { ...tc.ctx.config, metrics: { enabled: false } } }
  const app = await appFor(t, ctx)
  const { token } = await createToken(ctx, { userId: 'ops', role: 'admin' })
  const response = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })
  t.equal(response.statusCode, 404)
  t.equal(response.json().code, 'CW_ERR_NOT_FOUND')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})
