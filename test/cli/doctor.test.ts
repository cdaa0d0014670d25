/**
 * `caseway doctor` on real node directories and running nodes: each check ok, warn or fail with
 * a one-line reason, exit 1 when any fails (issue 16). Key files readable by others fail, naming
 * the file; certificates close to expiry warn, expired ones fail; a clock before the node
 * certificate fails; ports held by the running node are fine; each enabled partner is reached
 * over mutual TLS with its pinned CA.
 */
import { chmod, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { initNode } from '../../node/src/init_node.ts'
import { pair, startOrg } from '../../node/test/support/processes.ts'
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3Server } from '../../node/test/support/s3_server.ts'
import { freePorts } from '../../testkit/node_process.ts'
import { caseway, lines } from '../support/cli.ts'

t.setTimeout(300_000)
const root = t.testdir()

interface Check {
  name: string
  status: 'ok' | 'warn' | 'fail'
  detail: string
}

async function doctor(dir: string): Promise<{ code: number; ok: boolean; checks: Map<string, Check>; stderr: string }> {
  const result = await caseway(['doctor', '--dir', dir, '--json'])
  const report = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] }
  return { code: result.code, ok: report.ok, checks: new Map(report.checks.map((check) => [check.name, check])), stderr: result.stderr }
}

async function freshNode(name: string, now?: Date): Promise<string> {
  const dir = join(root, name)
  const [federationPort, localPort] = await freePorts(2)
  await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: federationPort!, localPort: localPort!, ...(now === undefined ? {} : { now }) })
  return dir
}

const DAY_MS = 86_400_000
const KEY_CHECKS = ['node key', 'signing key', 'CA key', 'admin token']

t.test('a fresh node directory: every check ok, no partners, exit 0', async (t) => {
  const dir = await freshNode('fresh')
  const result = await caseway(['doctor', '--dir', dir])
  t.equal(result.code, 0, result.stdout)
  t.equal(result.stderr, '')
  const names = lines(result.stdout).map((line) => line.split(/ {2,}/).slice(0, 2))
  t.same(
    names,
    [
      'config',
      ...KEY_CHECKS,
      'node certificate',
      'signing certificate',
      'ca certificate',
      'federation port',
      'local port',
      'clock',
      'blob store',
      'partners',
    ].map((name) => ['ok', name]),
  )
  const report = await doctor(dir)
  t.equal(report.checks.get('node key')?.detail, `${join(dir, 'pki', 'node.key')} (mode 600)`)
  t.equal(report.checks.get('partners')?.detail, 'no enabled partners')
  t.match(report.checks.get('federation port')?.detail, /is free$/)
  t.match(report.checks.get('node certificate')?.detail, /node\.crt expires in \d+ days/)
  t.equal(report.checks.get('blob store')?.detail, `${join(dir, 'blobs')} is readable and writable`)
})

t.test('the blob store: a file where the directory should be fails; an S3 bucket must answer, a missing one fails by name', async (t) => {
  const dir = await freshNode('blobs')
  await rm(join(dir, 'blobs'), { recursive: true })
  t.match((await doctor(dir)).checks.get('blob store'), { status: 'ok', detail: `${join(dir, 'blobs')} does not exist yet: the node creates it at start` })
  await writeFile(join(dir, 'blobs'), 'not a directory')
  const blocked = await doctor(dir)
  t.match(blocked.checks.get('blob store'), { status: 'fail', detail: `${join(dir, 'blobs')} is not a directory: change storage.blobs` })

  const s3 = await startS3Server(t)
  const config = JSON.parse(await readFile(join(dir, 'caseway.json'), 'utf8')) as Record<string, Record<string, unknown>>
  const useBucket = async (bucket: string) => {
    config['storage'] = {
      ...config['storage'],
      blobs: { kind: 's3', endpoint: s3.endpoint, bucket, region: 'us-east-1', accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY },
    }
    await writeFile(join(dir, 'caseway.json'), JSON.stringify(config), { mode: 0o600 })
    return (await doctor(dir)).checks.get('blob store')
  }
  t.match(await useBucket(s3.bucket), { status: 'ok', detail: `bucket ${s3.bucket} at ${s3.endpoint} answers` })
  t.same(await s3.keys(), [], 'nothing written to the bucket')
  const missing = await useBucket('no-such-bucket')
  t.equal(missing?.status, 'fail')
  t.match(missing?.detail, `bucket no-such-bucket does not exist: check storage.blobs`)
  t.notMatch(missing?.detail, S3RVER_SECRET_KEY, 'the secret key is not in the report')
})

t.test('a key readable by others fails, naming the file; exit 1', async (t) => {
  const dir = await freshNode('exposed')
  const caKey = join(dir, 'pki', 'ca.key')
  await chmod(caKey, 0o644)
  const result = await caseway(['doctor', '--dir', dir])
  t.equal(result.code, 1)
  t.match(result.stdout, `fail  CA key `)
  t.match(result.stdout, `${caKey} is readable by other users (mode 644): chmod 600 ${caKey}`)
  t.same(lines(result.stderr), ['caseway: CW_DOCTOR_CHECK_FAILED: 1 of 13 checks failed'])
  await chmod(join(dir, 'admin.token'), 0o640)
  const report = await doctor(dir)
  t.equal(report.checks.get('admin token')?.status, 'fail')
  t.equal(report.ok, false)
})

t.test('a bad configuration fails the first check, naming the key', async (t) => {
  const dir = await freshNode('bad-config')
  const file = join(dir, 'caseway.json')
  await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as object), log: { level: 'loud' } }))
  const report = await doctor(dir)
  t.equal(report.code, 1)
  t.equal(report.checks.get('config')?.status, 'fail')
  t.match(report.checks.get('config')?.detail, `${file}: invalid configuration: log.level: must be one of "fatal"`)
})

t.test('certificates: close to expiry warns, expired fails; a clock before node.crt fails', async (t) => {
  const soon = await freshNode('soon')
  const renewed = await caseway(['certs', 'issue-node', '--dir', join(soon, 'pki'), '--validity-days', '5', '--force'])
  t.equal(renewed.code, 0, renewed.stderr)
  const warned = await doctor(soon)
  t.equal(warned.code, 0, 'a warning is not a failure')
  t.equal(warned.checks.get('node certificate')?.status, 'warn')
  t.match(warned.checks.get('node certificate')?.detail, /node\.crt expires in [0-9] days .*: renew it soon$/)

  const old = await freshNode('old', new Date(Date.now() - 3 * 365 * DAY_MS))
  const expired = await doctor(old)
  t.equal(expired.code, 1)
  t.equal(expired.checks.get('node certificate')?.status, 'fail')
  t.match(expired.checks.get('node certificate')?.detail, /node\.crt expired on /)
  t.equal(expired.checks.get('ca certificate')?.status, 'ok')
  t.equal(expired.checks.get('clock')?.status, 'ok')

  const future = await freshNode('future', new Date(Date.now() + 30 * DAY_MS))
  const behind = await doctor(future)
  t.equal(behind.code, 1)
  t.equal(behind.checks.get('clock')?.status, 'fail')
  t.match(behind.checks.get('clock')?.detail, /^the system clock \(.*\) is before .*node\.crt's notBefore .*: set the clock \(NTP\)$/)
})

t.test('running paired nodes: ports held by the node, the partner reached over mTLS; a stopped partner fails', async (t) => {
  const [metro, county] = await Promise.all([startOrg(t, { org: 'metro-pd', name: 'Metro PD' }), startOrg(t, { org: 'county-da', name: 'County DA' })])
  await pair(metro, county)
  const running = await doctor(metro.node.dir)
  t.equal(running.code, 0, JSON.stringify([...running.checks.values()]))
  t.match(running.checks.get('federation port')?.detail, /is held by a running Caseway node/)
  t.match(running.checks.get('local port')?.detail, /is held by a running Caseway node/)
  t.same(running.checks.get('partner county-da'), {
    name: 'partner county-da',
    status: 'ok',
    detail: `${county.node.federationEndpoint}: mutual TLS with its pinned CA, and its health answered`,
  })

  await county.stop()
  const stopped = await doctor(metro.node.dir)
  t.equal(stopped.code, 1)
  t.equal(stopped.checks.get('partner county-da')?.status, 'fail')
  t.match(stopped.checks.get('partner county-da')?.detail, `${county.node.federationEndpoint}: `)
  t.same(lines(stopped.stderr), [`caseway: CW_DOCTOR_CHECK_FAILED: 1 of ${stopped.checks.size} checks failed`])
})
