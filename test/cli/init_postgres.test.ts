/**
 * `caseway init --postgres` makes a node whose metadata lives in PostgreSQL (a real server here,
 * started by the test): the configuration names the environment variable holding the URL (and
 * its password), never the URL; init creates the schema and mints the first admin token there,
 * and the node started from it serves that token. Without the URL in the environment, init
 * refuses and leaves no node behind.
 */
// spec: CW-LOC-013
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { LocalClient } from '../../client/local_client.ts'
import { freePorts, startNodeProcess } from '../../testkit/node_process.ts'
import { startPostgresServer, TEST_POSTGRES_PASSWORD } from '../../node/test/support/postgres_server.ts'
import { caseway } from '../support/cli.ts'

async function initArgs(dir: string): Promise<string[]> {
  const [federationPort, localPort] = await freePorts(2)
  return [
    'init',
    ...['--org', 'metro-pd', '--name', 'Metro PD', '--dir', dir],
    ...['--federation-port', String(federationPort), '--local-port', String(localPort)],
    '--postgres',
  ]
}

t.test('init writes a PostgreSQL metadata store whose URL comes from the environment; the node runs on it', async (t) => {
  const postgres = await startPostgresServer(t)
  const env = { CASEWAY_POSTGRES_URL: await postgres.createDatabase() }
  const dir = join(t.testdir(), 'node')
  const init = await caseway(await initArgs(dir), undefined, env)
  t.equal(init.code, 0, init.stderr)
  const written = await readFile(join(dir, 'caseway.json'), 'utf8')
  t.same(JSON.parse(written).storage, { metadata: { kind: 'postgres', url: { env: 'CASEWAY_POSTGRES_URL' } } })
  t.notMatch(written, TEST_POSTGRES_PASSWORD, 'no password in the configuration file')
  t.notMatch(init.stdout + init.stderr, TEST_POSTGRES_PASSWORD, 'nor in what init printed')
  await t.rejects(access(join(dir, 'caseway.db')), 'no SQLite database beside it')

  const node = await startNodeProcess({ dir, adminToken: true, env: { ...process.env, ...env } })
  t.teardown(() => node.stop('SIGKILL'))
  const api = new LocalClient({ baseUrl: node.localUrl, token: node.adminToken! })
  const theCase = await api.createCase({ caseNumber: 'MPD-2', title: 'Garage' })
  t.same(
    (await api.listCases()).map((c) => c.id),
    [theCase.id],
    'the token init minted in PostgreSQL opens the local API',
  )
})

t.test('init refuses a PostgreSQL store without its URL in the environment', async (t) => {
  const dir = join(t.testdir(), 'node')
  const missing = await caseway(await initArgs(dir), undefined, { CASEWAY_POSTGRES_URL: '' })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /storage\.metadata\.url/, 'names the setting that is missing')
  await t.rejects(access(join(dir, 'caseway.json')), 'no node made')
})
