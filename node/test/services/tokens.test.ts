import { createHash } from 'node:crypto'
import t from 'tap'
import { authenticate, createToken } from '../../src/access/tokens.ts'
import { createTestContext } from '../support/context.ts'

const tc = await createTestContext()
t.teardown(() => tc.close())

t.test('a token is cw_ + 32 random bytes base64url, and only its SHA-256 is stored', async (t) => {
  const created = await createToken(tc.ctx, { userId: 'alice', role: 'admin' })
  t.match(created.token, /^cw_[A-Za-z0-9_-]{43}$/)
  t.equal(Buffer.from(created.token.slice(3), 'base64url').length, 32)
  const hash = createHash('sha256').update(created.token).digest('hex')
  const record = await tc.ctx.store.findTokenByHash(hash)
  t.equal(record?.id, created.id)
  t.equal(record?.userId, 'alice')
  t.notOk(JSON.stringify(record).includes(created.token), 'the secret itself is not stored')
  const other = await createToken(tc.ctx, { userId: 'alice', role: 'admin' })
  t.not(other.token, created.token)
})

t.test('authenticate returns the principal of a valid token', async (t) => {
  const created = await createToken(tc.ctx, { userId: 'bob', role: 'member' })
  t.same(await authenticate(tc.ctx, created.token), { tokenId: created.id, userId: 'bob', role: 'member', groups: [] })
})

t.test('missing, malformed, unknown and tampered tokens are CW_ERR_UNAUTHENTICATED', async (t) => {
  const created = await createToken(tc.ctx, { userId: 'carol', role: 'admin' })
  const last = created.token.at(-1) === 'A' ? 'B' : 'A'
  for (const bearer of [undefined, '', 'cw_', 'Bearer ' + created.token, created.token + 'x', created.token.slice(0, -1) + last, 'cw_' + 'A'.repeat(43)]) {
    await t.rejects(authenticate(tc.ctx, bearer), { code: 'CW_ERR_UNAUTHENTICATED' }, String(bearer).slice(0, 12))
  }
})

t.test('createToken refuses an unknown role or an empty user', async (t) => {
  await t.rejects(createToken(tc.ctx, { userId: 'dave', role: 'root' as never }), { code: 'CW_ERR_BAD_REQUEST', at: '/role' })
  await t.rejects(createToken(tc.ctx, { userId: '', role: 'member' }), { code: 'CW_ERR_BAD_REQUEST', at: '/userId' })
})
