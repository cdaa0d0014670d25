/**
 * `caseway start` refuses a caseway.json other users can read when it holds a secret inline,
 * and starts with the secrets in a 0600 file or the environment, never logging them (issue 11,
 * finding 10; CW-LOC-013).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { initNode } from '../../node/src/init_node.ts'
import { freePorts, startNodeProcess } from '../../testkit/node_process.ts'
import { caseway } from '../support/cli.ts'

const root = t.testdir()
const dir = join(root, 'node')
const [federationPort, localPort] = await freePorts(2)
await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: federationPort!, localPort: localPort! })
const configFile = join(dir, 'caseway.json')
const initial = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>
const PASSWORD = 'smtp-Pass-4c1e-never-logged'
const WEBHOOK_SECRET = 'hook-secret-8f2a9d0c4b7e61a35d2f-never-logged'

async function writeConfig(notifications: unknown, mode: number): Promise<void> {
  await writeFile(configFile, JSON.stringify({ ...initial, notifications }, null, 2))
  await chmod(configFile, mode)
}

const smtp = { host: '127.0.0.1', port: 2525, from: 'caseway@metro-pd.example', user: 'caseway' }
const webhookUrl = 'http://127.0.0.1:9/hook'

// spec: CW-LOC-013
t.test('a world-readable caseway.json with an inline secret: start refuses, naming file, key and fix', async (t) => {
  await writeConfig({ smtp: { ...smtp, password: PASSWORD } }, 0o644)
  const result = await caseway(['start', '--dir', dir])
  t.equal(result.code, 1)
  t.match(result.stderr, configFile)
  t.match(result.stderr, /notifications\.smtp\.password inline/)
  t.match(result.stderr, /chmod 600/)
  t.notMatch(result.stderr + result.stdout, PASSWORD, 'the secret is not echoed')
})

// spec: CW-LOC-013
t.test('secrets from a 0600 file and from the environment: the node starts and never logs them', async (t) => {
  const secretFile = join(dir, 'smtp.password')
  await writeFile(secretFile, PASSWORD + '\n', { mode: 0o600 })
  await writeConfig({ smtp: { ...smtp, password: { file: 'smtp.password' } }, webhook: { url: webhookUrl, secret: { env: 'CASEWAY_WEBHOOK_SECRET' } } }, 0o644)
  const logFile = join(root, 'node.log')
  const node = await startNodeProcess({ dir, logFile, env: { CASEWAY_WEBHOOK_SECRET: WEBHOOK_SECRET } })
  t.teardown(() => node.stop('SIGKILL'))
  t.equal((await fetch(`${node.localUrl}/healthz`)).status, 200, 'serving, with a readable caseway.json that holds no secret')
  await node.stop()
  const logs = await readFile(logFile, 'utf8')
  t.ok(logs.length > 0, 'it logged')
  t.notMatch(logs, PASSWORD)
  t.notMatch(logs, WEBHOOK_SECRET)
  t.notMatch(node.stderr(), PASSWORD)

  await chmod(secretFile, 0o644)
  const exposed = await caseway(['start', '--dir', dir], undefined, { CASEWAY_WEBHOOK_SECRET: WEBHOOK_SECRET })
  t.equal(exposed.code, 1, 'a secret file others can read is refused too')
  t.match(exposed.stderr, /smtp\.password: the secret file .* is readable by other users/)
})
