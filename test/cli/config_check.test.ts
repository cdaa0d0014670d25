/**
 * `caseway config check` validates caseway.json as the node does at start-up — schema, secrets
 * given by reference, ports — without starting the node or opening a port; a fault is one line
 * naming the file and the key, and an enum lists its allowed values; `start` and every other
 * command that reads the file report it in the same `caseway: CW_CONFIG_INVALID: …` form (issue
 * 16, finding 9).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { initNode } from '../../node/src/init_node.ts'
import { freePorts } from '../../testkit/node_process.ts'
import { caseway, lines } from '../support/cli.ts'

const dir = join(t.testdir(), 'node')
const [federationPort, localPort] = await freePorts(2)
await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: federationPort!, localPort: localPort! })
const configFile = join(dir, 'caseway.json')
const initial = await readFile(configFile, 'utf8')
const LEVELS = '"fatal", "error", "warn", "info", "debug", "trace", "silent"'

/** caseway.json with `settings` merged in, for one test. */
async function configure(t: Test, settings: Record<string, unknown>): Promise<void> {
  t.teardown(() => writeFile(configFile, initial, { mode: 0o600 }))
  await writeFile(configFile, JSON.stringify({ ...(JSON.parse(initial) as Record<string, unknown>), ...settings }, null, 2))
  await chmod(configFile, 0o600)
}

t.test('a good node directory: exit 0, one ok line; no port is opened', async (t) => {
  // The local port is taken: a check that tried to listen would fail.
  const squatter = createServer().listen(localPort, '127.0.0.1')
  await new Promise((resolve) => squatter.once('listening', resolve))
  t.teardown(() => new Promise((resolve) => squatter.close(resolve)))
  const result = await caseway(['config', 'check', '--dir', dir])
  t.equal(result.code, 0)
  t.same(lines(result.stdout), [`ok: ${configFile} is valid (org metro-pd; ports federation ${federationPort}, local ${localPort})`])
  t.equal(result.stderr, '')
  const json = await caseway(['config', 'check', '--dir', dir, '--json'])
  t.same(JSON.parse(json.stdout), { ok: true, file: configFile, org: 'metro-pd' })
})

t.test('a bad enum value: exit 1, the file and the key named, the allowed values listed', async (t) => {
  await configure(t, { log: { level: 'loud' } })
  const expected = `${configFile}: invalid configuration: log.level: must be one of ${LEVELS}`
  const result = await caseway(['config', 'check', '--dir', dir])
  t.equal(result.code, 1)
  t.same(lines(result.stderr), [`caseway: CW_CONFIG_INVALID: ${expected}`])
  t.equal(result.stdout, '')
  const json = await caseway(['config', 'check', '--dir', dir, '--json'])
  t.equal(json.code, 1)
  t.same(JSON.parse(json.stdout), { ok: false, code: 'CW_CONFIG_INVALID', file: configFile, key: 'log.level', message: expected })

  const start = await caseway(['start', '--dir', dir])
  t.equal(start.code, 1, 'the node refuses it at start-up')
  t.same(lines(start.stderr), [`caseway: CW_CONFIG_INVALID: ${expected}`], 'in the same form, code and message')
  t.equal(start.stdout, '')
})

t.test('every command that reads caseway.json reports a bad one as caseway: CW_CONFIG_INVALID: …, exit 1', async (t) => {
  await configure(t, { log: { level: 'loud' } })
  const expected = `caseway: CW_CONFIG_INVALID: ${configFile}: invalid configuration: log.level: must be one of ${LEVELS}`
  for (const args of [['start'], ['status'], ['case', 'list'], ['partner', 'list'], ['share', 'status', 'case-1']]) {
    const result = await caseway([...args, '--dir', dir], undefined, { CASEWAY_TOKEN: 'cw_unused' })
    t.equal(result.code, 1, args.join(' '))
    t.same(lines(result.stderr), [expected], args.join(' '))
  }
})

t.test('a secret file that is missing: exit 1 naming the key and the file', async (t) => {
  const smtp = { host: '127.0.0.1', port: 2525, from: 'caseway@metro-pd.example', user: 'caseway', password: { file: 'smtp.password' } }
  await configure(t, { notifications: { smtp } })
  const result = await caseway(['config', 'check', '--dir', dir])
  t.equal(result.code, 1)
  t.same(lines(result.stderr), [
    `caseway: CW_CONFIG_INVALID: ${configFile}: invalid configuration: notifications.smtp.password: cannot read the secret file ${join(dir, 'smtp.password')}`,
  ])

  await writeFile(join(dir, 'smtp.password'), 'smtp-pass\n', { mode: 0o600 })
  t.teardown(() => chmod(join(dir, 'smtp.password'), 0o600))
  t.equal((await caseway(['config', 'check', '--dir', dir])).code, 0, 'resolved once it is there')
})

t.test('a secret from the environment: resolved when the variable is set', async (t) => {
  await configure(t, { notifications: { webhook: { url: 'http://127.0.0.1:9/hook', secret: { env: 'CASEWAY_TEST_HOOK_SECRET' } } } })
  const unset = await caseway(['config', 'check', '--dir', dir])
  t.equal(unset.code, 1)
  t.match(unset.stderr, 'notifications.webhook.secret: the environment variable CASEWAY_TEST_HOOK_SECRET is not set')
  const set = await caseway(['config', 'check', '--dir', dir], undefined, { CASEWAY_TEST_HOOK_SECRET: 'x'.repeat(40) })
  t.equal(set.code, 0)
  t.notMatch(set.stdout + set.stderr, 'x'.repeat(40), 'never echoed')
})

t.test('no caseway.json: exit 1 naming the file', async (t) => {
  const empty = t.testdir()
  const result = await caseway(['config', 'check', '--dir', empty])
  t.equal(result.code, 1)
  t.same(lines(result.stderr), [`caseway: CW_CONFIG_INVALID: no configuration at ${join(empty, 'caseway.json')}: run caseway init first`])
})
