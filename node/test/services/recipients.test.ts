import t from 'tap'
import type { Recipient } from '#protocol'
import { isRecipient, recipientEmails } from '../../src/access/recipients.ts'
import { createGroup, createUser, updateUser } from '../../src/access/principals.ts'
import { createTestContext } from '../support/context.ts'

const tc = await createTestContext({ org: 'county-pd' })
t.teardown(() => tc.close())
const { ctx } = tc

/** The same node with `notifications.allowedDomains` set. */
function allowing(...allowedDomains: string[]): typeof ctx {
  return { ...ctx, config: { ...ctx.config, notifications: { ...ctx.config.notifications, allowedDomains } } }
}

// spec: CW-NOT-006
t.test('e-mail recipients a partner names are mailed only in an allowed domain', async (t) => {
  const named: Recipient[] = [
    { kind: 'email', id: 'Ada@County-PD.example' },
    { kind: 'email', id: 'ada@county-pd.example' },
    { kind: 'email', id: 'bo@lab.example' },
  ]
  t.same(await recipientEmails(ctx, named), { to: [], withheld: 3 }, 'no allowed domain: recorded, not mailed')
  t.same(
    await recipientEmails(allowing('county-pd.example'), named),
    { to: ['Ada@County-PD.example'], withheld: 1 },
    'unique case-insensitively, in order; the domain compared case-insensitively; another domain withheld',
  )
  t.same(await recipientEmails(allowing('pd.example'), named), { to: [], withheld: 3 }, 'a parent domain does not allow its sub-domains')
  t.same(
    await recipientEmails(ctx, [
      { kind: 'user', id: 'nobody' },
      { kind: 'group', id: 'none' },
      { kind: 'badge', id: '1' },
    ]),
    { to: [], withheld: 0 },
  )
})

// spec: CW-NOT-006, CW-FMT-006
t.test('an address that is not one plain address never reaches the mailer, even in an allowed domain', async (t) => {
  const hostile = [
    'ada@x.example\r\nBcc: evil@y.example',
    'a@x.example, evil@y.example',
    '"Ada" <evil@y.example>',
    'undisclosed: evil@y.example;',
    'evil@y.example (x.example)',
  ]
  for (const id of hostile) {
    t.same(await recipientEmails(allowing('x.example', 'y.example'), [{ kind: 'email', id }]), { to: [], withheld: 1 }, JSON.stringify(id))
  }
})

await createUser(ctx, { id: 'alice', name: 'Alice Able', email: 'alice@county-pd.example', badge: 'B-100' })
await createUser(ctx, { id: 'bob', name: 'Bob Baker', email: 'bob@county-pd.example', badge: 'B-200' })
await createUser(ctx, { id: 'carol', name: 'Carol Cole' })
await createUser(ctx, { id: 'dan', name: 'Dan Dale', email: 'dan@county-pd.example' })
await updateUser(ctx, 'dan', { disabled: true })
await createGroup(ctx, { id: 'robbery', name: 'Robbery unit', members: ['bob', 'dan'] })

const principal = async (userId: string, groups?: string[]) => ({ userId, groups: groups ?? (await ctx.store.principals.listUserGroups(userId)) })

// spec: CW-LOC-001
t.test('isRecipient: user, group, email, badge and the entire agency', async (t) => {
  const cases: Array<[Recipient[], string, boolean]> = [
    [[{ kind: 'user', id: 'alice' }], 'alice', true],
    [[{ kind: 'user', id: 'alice' }], 'bob', false],
    [[{ kind: 'group', id: 'robbery' }], 'bob', true],
    [[{ kind: 'group', id: 'robbery' }], 'alice', false],
    [[{ kind: 'email', id: 'ALICE@county-pd.example' }], 'alice', true],
    [[{ kind: 'email', id: 'alice@county-pd.example' }], 'carol', false],
    [[{ kind: 'badge', id: 'B-200' }], 'bob', true],
    [[{ kind: 'badge', id: 'B-200' }], 'alice', false],
    [[{ kind: 'badge', id: 'b-200' }], 'bob', false],
    [[{ kind: 'agency', id: 'county-pd' }], 'carol', true],
    [[{ kind: 'agency', id: 'other-pd' }], 'carol', false],
    [[], 'carol', true],
    [
      [
        { kind: 'user', id: 'zed' },
        { kind: 'badge', id: 'B-100' },
      ],
      'alice',
      true,
    ],
  ]
  for (const [recipients, userId, expected] of cases) {
    t.equal(await isRecipient(ctx, await principal(userId), recipients), expected, `${userId} in ${JSON.stringify(recipients)}`)
  }
  t.ok(await isRecipient(ctx, await principal('carol'), undefined), 'no recipients means the entire agency')
})

// spec: CW-LOC-001
t.test('isRecipient: a group from OIDC claims counts without local membership', async (t) => {
  t.ok(await isRecipient(ctx, await principal('carol', ['homicide']), [{ kind: 'group', id: 'homicide' }]))
  t.notOk(await isRecipient(ctx, await principal('carol', []), [{ kind: 'group', id: 'homicide' }]))
})

t.test('recipientEmails: the enabled users a user, badge, group or agency stands for', async (t) => {
  const to = async (recipients: Recipient[] | undefined) => (await recipientEmails(ctx, recipients)).to
  t.same(
    await to([
      { kind: 'user', id: 'alice' },
      { kind: 'badge', id: 'B-200' },
    ]),
    ['alice@county-pd.example', 'bob@county-pd.example'],
  )
  t.same(await to([{ kind: 'group', id: 'robbery' }]), ['bob@county-pd.example'], 'dan is disabled')
  t.same(
    await to([
      { kind: 'user', id: 'dan' },
      { kind: 'user', id: 'carol' },
    ]),
    [],
    'disabled, or without e-mail',
  )
  t.same(await to([{ kind: 'agency', id: 'county-pd' }]), ['alice@county-pd.example', 'bob@county-pd.example'])
  t.same(await to(undefined), ['alice@county-pd.example', 'bob@county-pd.example'], 'default: the entire agency')
  t.same(await to([{ kind: 'agency', id: 'other-pd' }]), [])
  t.same(
    await recipientEmails(ctx, [
      { kind: 'email', id: 'x@y.example' },
      { kind: 'user', id: 'alice' },
      { kind: 'email', id: 'ALICE@county-pd.example' },
      { kind: 'email', id: 'dan@county-pd.example' },
    ]),
    { to: ['alice@county-pd.example'], withheld: 2 },
    "an e-mail recipient that is one of our enabled users' address is mailed whatever the domains; others (dan is disabled) are withheld",
  )
})
