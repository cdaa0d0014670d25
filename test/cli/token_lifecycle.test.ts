/**
 * The admin token and the token lifecycle through the real CLI and a real node (issue 11,
 * findings 5 and 6): `caseway init` mints the admin token once into `admin.token` (0600) and
 * prints only where it is; `caseway start` mints nothing and prints no token;
 * `caseway tokens list|revoke` work through the running node's local API.
 */
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { nodePath } from '../../node/src/config/load.ts'
import { loadConfig } from '../../node/src/config/load.ts'
import { openSqliteMetadataStore } from '../../node/src/store/sqlite/sqlite_metadata_store.ts'
import { CASEWAY_BIN, freePorts, startNodeProcess } from '../../testkit/node_process.ts'
import { caseway, lines } from '../support/cli.ts'

const dir = join(t.testdir(), 'node')
const [federationPort, localPort] = await freePorts(2)
const init = await caseway([
  'init',
  '--org',
  'metro-pd',
  '--name',
  'Metro PD',
  '--dir',
  dir,
  '--federation-port',
  String(federationPort),
  '--local-port',
  String(localPort),
])
const tokenFile = join(dir, 'admin.token')
const adminToken = (await readFile(tokenFile, 'utf8')).trim()

async function tokenRecords() {
  const config = await loadConfig(dir)
  const store = await openSqliteMetadataStore(nodePath(config, config.storage.database), { readOnly: true })
  try {
    return await store.tokens.list()
  } finally {
    await store.close()
  }
}

// spec: CW-LOC-011
t.test('init mints the admin token into admin.token (0600) and prints where it is, never the token', async (t) => {
  t.equal(init.code, 0, init.stderr)
  t.match(adminToken, /^cw_[A-Za-z0-9_-]{43}$/)
  t.equal((await stat(tokenFile)).mode & 0o777, 0o600, 'readable by the owner only')
  t.notMatch(init.stdout + init.stderr, /cw_[A-Za-z0-9_-]{43}/, 'no token on the terminal')
  t.match(init.stdout, `admin token     in ${tokenFile}`)
  const records = await tokenRecords()
  t.equal(records.length, 1)
  t.match(records[0], { userId: 'admin', role: 'admin', revokedAt: null, hash: createHash('sha256').update(adminToken).digest('hex') })
  t.equal(records[0]!.expiresAt - records[0]!.createdAt, 90 * 86_400, 'it expires like any token')
})

// spec: CW-LOC-011
t.test('start mints no token and prints none, with or without --admin-token; it says where the file is', async (t) => {
  for (const argv of [
    [CASEWAY_BIN, 'start', '--dir', dir],
    [CASEWAY_BIN, 'start', '--dir', dir, '--admin-token'],
  ]) {
    const node = await startNodeProcess({ dir, argv })
    t.teardown(() => node.stop('SIGKILL'))
    const response = await fetch(`${node.localUrl}/api/v1/tokens`, { headers: { authorization: `Bearer ${adminToken}` } })
    t.equal(response.status, 200, 'the init token works')
    await node.stop()
    t.notMatch(node.stderr(), /cw_[A-Za-z0-9_-]{43}/, argv.join(' '))
    t.match(node.stderr(), `admin token in ${tokenFile}`)
  }
  t.equal((await tokenRecords()).length, 1, 'still the one token init made')
})

// spec: CW-LOC-010
t.test('tokens list and revoke through the running node: admin.token by default, --token and CASEWAY_TOKEN otherwise', async (t) => {
  const node = await startNodeProcess({ dir })
  t.teardown(() => node.stop('SIGKILL'))
  const created = await caseway(['tokens', 'create', '--user', 'alice', '--role', 'member', '--name', 'laptop', '--expires-in-days', '30', '--dir', dir])
  t.equal(created.code, 0, created.stderr)
  const alice = lines(created.stdout)[0]!
  const aliceId = /^token (\S+) for alice/m.exec(created.stderr)?.[1]
  t.ok(aliceId, created.stderr)

  const asAdmin = await caseway(['tokens', 'list', '--json', '--dir', dir])
  t.equal(asAdmin.code, 0, asAdmin.stderr)
  const all = JSON.parse(asAdmin.stdout) as Array<{ id: string; userId: string; name: string; status: string; expiresAt: number; createdAt: number }>
  t.same(all.map((x) => x.userId).sort(), ['admin', 'alice'])
  t.match(
    all.find((x) => x.userId === 'alice'),
    { id: aliceId, name: 'laptop', status: 'active' },
  )
  t.notMatch(asAdmin.stdout, /cw_/, 'no secrets listed')

  const asAlice = await caseway(['tokens', 'list', '--dir', dir], undefined, { CASEWAY_TOKEN: alice })
  t.equal(asAlice.code, 0, asAlice.stderr)
  t.match(asAlice.stdout, /laptop/)
  t.notMatch(asAlice.stdout, /\badmin\b.*first administrator/, 'alice sees only her own')
  t.equal(lines(asAlice.stdout).length, 2, 'a header and her token')

  const adminId = all.find((x) => x.userId === 'admin')!.id
  const refused = await caseway(['tokens', 'revoke', adminId, '--dir', dir, '--token', alice])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /CW_ERR_NOT_FOUND/)

  const revoked = await caseway(['tokens', 'revoke', aliceId!, '--dir', dir])
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.stderr, `token ${aliceId} of alice revoked`)
  const after = await fetch(`${node.localUrl}/api/v1/cases`, { headers: { authorization: `Bearer ${alice}` } })
  t.equal(after.status, 401, 'refused at once')
  const listAfter = await caseway(['tokens', 'list', '--dir', dir, '--token', alice])
  t.equal(listAfter.code, 1)
  t.match(listAfter.stderr, /CW_ERR_UNAUTHENTICATED/)
})
