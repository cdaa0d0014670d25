import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { updateUser } from '../../src/access/principals.ts'
import { authenticate, createToken, listTokens, revokeToken } from '../../src/access/tokens.ts'
import { FEDERATION_AUDIT_CASE } from '../../src/audit/audit_trail.ts'
import { createTestContext } from '../support/context.ts'

const tc = await createTestContext()
t.teardown(() => tc.close())

t.test('a token is cw_ + 32 random bytes base64url, and only its SHA-256 is stored', async (t) => {
  const created = await createToken(tc.ctx, { userId: 'alice', role: 'admin' })
  t.match(created.token, /^cw_[A-Za-z0-9_-]{43}$/)
  t.equal(Buffer.from(created.token.slice(3), 'base64url').length, 32)
  const hash = createHash('sha256').update(created.token).digest('hex')
  const record = await tc.ctx.store.tokens.findByHash(hash)
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

// Token lifecycle (issue 11, finding 5): expiry, name, last use, list, revoke, disable.

const DAY = 86_400

/** A context whose clock the test moves. */
async function movableContext(t: Test) {
  let now = Date.parse('2026-12-01T00:00:00Z')
  const ctx = await createTestContext({ clock: { now: () => new Date(now) } })
  t.teardown(() => ctx.close())
  return { ctx: ctx.ctx, advance: (seconds: number) => void (now += seconds * 1000), seconds: () => Math.floor(now / 1000) }
}

// spec: CW-LOC-010
t.test('a token expires after the default lifetime, or a shorter one asked for; never longer than the maximum', async (t) => {
  const { ctx, advance, seconds } = await movableContext(t)
  const standard = await createToken(ctx, { userId: 'erin', role: 'member', name: 'records export' })
  t.equal(standard.expiresAt, seconds() + 90 * DAY, 'auth.tokens.defaultDays = 90')
  t.equal(standard.name, 'records export')
  const short = await createToken(ctx, { userId: 'erin', role: 'member', expiresInDays: 1 })
  t.equal(short.expiresAt, seconds() + DAY)
  t.ok(await createToken(ctx, { userId: 'erin', role: 'member', expiresInDays: 365 }), 'the maximum itself')
  await t.rejects(createToken(ctx, { userId: 'erin', role: 'member', expiresInDays: 366 }), { code: 'CW_ERR_BAD_REQUEST', at: '/expiresInDays' })
  await t.rejects(createToken(ctx, { userId: 'erin', role: 'member', expiresInDays: 0 }), { code: 'CW_ERR_BAD_REQUEST', at: '/expiresInDays' })
  await t.rejects(createToken(ctx, { userId: 'erin', role: 'member', name: 'a\u202eb' }), { code: 'CW_ERR_BAD_REQUEST', at: '/name' })

  advance(DAY - 1)
  t.match(await authenticate(ctx, short.token), { userId: 'erin' }, 'valid until its last second')
  advance(1)
  await t.rejects(authenticate(ctx, short.token), { code: 'CW_ERR_UNAUTHENTICATED' }, 'refused from expiresAt on')
  t.match(await authenticate(ctx, standard.token), { userId: 'erin' })
  advance(90 * DAY)
  await t.rejects(authenticate(ctx, standard.token), { code: 'CW_ERR_UNAUTHENTICATED' }, 'the default lifetime ends too')
})

// spec: CW-LOC-010
t.test('a successful use records the last-used time (to the minute)', async (t) => {
  const { ctx, advance, seconds } = await movableContext(t)
  const created = await createToken(ctx, { userId: 'finn', role: 'member' })
  t.equal((await ctx.store.tokens.get(created.id))?.lastUsedAt, null, 'never used')
  await authenticate(ctx, created.token)
  const first = seconds()
  t.equal((await ctx.store.tokens.get(created.id))?.lastUsedAt, first)
  advance(30)
  await authenticate(ctx, created.token)
  t.equal((await ctx.store.tokens.get(created.id))?.lastUsedAt, first, 'not rewritten within the minute')
  advance(30)
  await authenticate(ctx, created.token)
  t.equal((await ctx.store.tokens.get(created.id))?.lastUsedAt, seconds())
})

// spec: CW-LOC-010
t.test('an admin lists every token, a member only its own; neither list holds a secret or a hash', async (t) => {
  const { ctx } = await movableContext(t)
  const admin = await createToken(ctx, { userId: 'root-admin', role: 'admin' })
  const mine = await createToken(ctx, { userId: 'gail', role: 'member', name: 'laptop' })
  const theirs = await createToken(ctx, { userId: 'hank', role: 'member' })
  const all = await listTokens(ctx, { userId: 'root-admin', role: 'admin' })
  t.same(new Set(all.map((x) => x.id)), new Set([admin.id, mine.id, theirs.id]))
  t.same(
    (await listTokens(ctx, { userId: 'root-admin', role: 'admin' }, 'hank')).map((x) => x.id),
    [theirs.id],
  )
  const own = await listTokens(ctx, { userId: 'gail', role: 'member' }, 'hank')
  t.same(
    own.map((x) => x.id),
    [mine.id],
    'a member asking for another user still gets only its own',
  )
  t.match(own[0], { userId: 'gail', name: 'laptop', status: 'active', revokedAt: null, lastUsedAt: null })
  const text = JSON.stringify(all)
  for (const secret of [admin.token, mine.token, theirs.token]) t.notOk(text.includes(secret))
  t.notOk(text.includes('"hash"'))
})

// spec: CW-LOC-010
t.test('revocation is immediate; a member revokes only its own; both are audited on the node-wide chain', async (t) => {
  const { ctx } = await movableContext(t)
  const mine = await createToken(ctx, { userId: 'ivy', role: 'member' }, { actor: { kind: 'user', id: 'root-admin' } })
  const theirs = await createToken(ctx, { userId: 'jack', role: 'member' })
  await authenticate(ctx, mine.token)
  await t.rejects(revokeToken(ctx, { userId: 'ivy', role: 'member' }, theirs.id), { code: 'CW_ERR_NOT_FOUND' }, "another user's token is not found")
  t.match(await authenticate(ctx, theirs.token), { userId: 'jack' }, 'and keeps working')
  await t.rejects(revokeToken(ctx, { userId: 'ivy', role: 'member' }, 'no-such-token'), { code: 'CW_ERR_NOT_FOUND' })

  const revoked = await revokeToken(ctx, { userId: 'ivy', role: 'member' }, mine.id)
  t.match(revoked, { id: mine.id, status: 'revoked' })
  t.type(revoked.revokedAt, 'number')
  await t.rejects(authenticate(ctx, mine.token), { code: 'CW_ERR_UNAUTHENTICATED' }, 'refused on the next request')
  t.match(await revokeToken(ctx, { userId: 'ivy', role: 'member' }, mine.id), { status: 'revoked', revokedAt: revoked.revokedAt }, 'again: no change')
  t.match(await revokeToken(ctx, { userId: 'root-admin', role: 'admin' }, theirs.id), { status: 'revoked' }, 'an admin revokes anyone')
  await t.rejects(authenticate(ctx, theirs.token), { code: 'CW_ERR_UNAUTHENTICATED' })

  const trail = (await ctx.store.audit.list(FEDERATION_AUDIT_CASE)).filter((e) => e.type.startsWith('token.'))
  t.match(
    trail.map((e) => [e.type, e.actor, e.data]),
    [
      ['token.created', { kind: 'user', id: 'root-admin' }, { tokenId: mine.id, userId: 'ivy', role: 'member', expiresAt: mine.expiresAt }],
      ['token.created', { kind: 'system' }, { tokenId: theirs.id, userId: 'jack' }],
      ['token.revoked', { kind: 'user', id: 'ivy' }, { tokenId: mine.id, userId: 'ivy', cause: 'revoked' }],
      ['token.revoked', { kind: 'user', id: 'root-admin' }, { tokenId: theirs.id, userId: 'jack', cause: 'revoked' }],
    ],
    'one entry per creation and per actual revocation, never the secret',
  )
  t.equal(trail.length, 4)
  t.notOk(JSON.stringify(trail).includes(mine.token))
})

// spec: CW-LOC-010
t.test('disabling a user revokes its tokens; enabling it again revives none', async (t) => {
  const { ctx } = await movableContext(t)
  const first = await createToken(ctx, { userId: 'kate', role: 'member' })
  const second = await createToken(ctx, { userId: 'kate', role: 'member' })
  const other = await createToken(ctx, { userId: 'liam', role: 'member' })
  await updateUser(ctx, 'kate', { disabled: true }, { kind: 'user', id: 'root-admin' })
  await updateUser(ctx, 'kate', { disabled: false })
  for (const token of [first, second]) {
    await t.rejects(authenticate(ctx, token.token), { code: 'CW_ERR_UNAUTHENTICATED' }, 'still refused after re-enabling')
    t.match(await ctx.store.tokens.get(token.id), { revokedAt: Number })
  }
  t.match(await authenticate(ctx, other.token), { userId: 'liam' }, "another user's token is untouched")
  const fresh = await createToken(ctx, { userId: 'kate', role: 'member' })
  t.match(await authenticate(ctx, fresh.token), { userId: 'kate' }, 'a new token works')
  const revocations = (await ctx.store.audit.list(FEDERATION_AUDIT_CASE)).filter((e) => e.type === 'token.revoked')
  t.same(new Set(revocations.map((e) => e.data['tokenId'])), new Set([first.id, second.id]))
  t.match(revocations[0], { actor: { kind: 'user', id: 'root-admin' }, data: { cause: 'user.disabled' } })
})
