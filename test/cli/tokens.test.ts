/**
 * `caseway tokens create` on a node directory: the secret once on stdout, for a user that
 * exists (or is created with the token's role), never above the user's role.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { nodePath } from '../../node/src/config/load.ts'
import { initNode } from '../../node/src/init_node.ts'
import { openSqliteMetadataStore } from '../../node/src/store/sqlite/sqlite_metadata_store.ts'
import { caseway, lines } from '../support/cli.ts'

const dir = join(t.testdir(), 'node')
const { config } = await initNode({ org: 'metro-pd', name: 'Metro PD', dir })
// init minted the admin token (admin.token), and with it the admin user.
const database = nodePath(config, config.storage.database)

async function lookup(token: string) {
  const store = await openSqliteMetadataStore(database)
  try {
    const record = await store.tokens.findByHash(createHash('sha256').update(token).digest('hex'))
    return { record, user: record === undefined ? undefined : await store.principals.getUser(record.userId) }
  } finally {
    await store.close()
  }
}

t.test('the init admin token belongs to an admin user record', async (t) => {
  const store = await openSqliteMetadataStore(database)
  t.teardown(() => store.close())
  t.match(await store.principals.getUser('admin'), { id: 'admin', role: 'admin', disabled: false })
})

t.test('creates a user and a token for it; the secret is printed once on stdout', async (t) => {
  const result = await caseway(['tokens', 'create', '--user', 'alice', '--role', 'member', '--dir', dir])
  t.equal(result.code, 0, result.stderr)
  const out = lines(result.stdout)
  t.equal(out.length, 1)
  t.match(out[0], /^cw_[A-Za-z0-9_-]{43}$/)
  t.match(result.stderr, /created user alice \(member\)/)
  t.notMatch(result.stderr, out[0]!, 'the secret only on stdout')
  const { record, user } = await lookup(out[0]!)
  t.match(record, { userId: 'alice', role: 'member', revokedAt: null })
  t.match(user, { id: 'alice', role: 'member', kind: 'user' })
})

// spec: CW-LOC-004
t.test('an existing admin user gets an admin token; a member never does', async (t) => {
  const admin = await caseway(['tokens', 'create', '--user', 'admin', '--role', 'admin', '--dir', dir])
  t.equal(admin.code, 0, admin.stderr)
  t.notMatch(admin.stderr, /created user/)
  t.match((await lookup(lines(admin.stdout)[0]!)).record, { userId: 'admin', role: 'admin' })

  const above = await caseway(['tokens', 'create', '--user', 'alice', '--role', 'admin', '--dir', dir])
  t.equal(above.code, 1)
  t.equal(above.stdout, '')
  t.match(above.stderr, /^caseway: CW_ERR_BAD_REQUEST: .*not an administrator/)
})

t.test('usage errors: unknown role, missing user, no node', async (t) => {
  const role = await caseway(['tokens', 'create', '--user', 'bob', '--role', 'root', '--dir', dir])
  t.equal(role.code, 2)
  t.match(role.stderr, /role must be admin or member/)
  const user = await caseway(['tokens', 'create', '--role', 'member', '--dir', dir])
  t.equal(user.code, 2)
  const nowhere = await caseway(['tokens', 'create', '--user', 'bob', '--role', 'member', '--dir', join(dir, 'missing')])
  t.equal(nowhere.code, 1)
  t.match(nowhere.stderr, /no configuration/)
})
