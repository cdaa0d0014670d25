/**
 * The last contact with a partner is written to the store at most once a minute per partner
 * (`partners/contacts.ts`), on the node clock; readers see the stored time with what this
 * process saw since on top.
 */
import t from 'tap'
import { CONTACT_WRITE_INTERVAL_MS, lastContacts, partnerContactWriter } from '../../src/partners/contacts.ts'
import { manualClock } from '../../../testkit/clock.ts'
import { createTestContext } from '../support/context.ts'
import { T0, partnerRecord } from '../support/records.ts'

t.test('one write per partner per interval; a later contact after it is written again', async (t) => {
  const clock = manualClock(T0 * 1000)
  const tc = await createTestContext({ clock })
  t.teardown(() => tc.close())
  const { store } = tc.ctx
  await store.partners.upsert(partnerRecord({ org: 'river-pd', policyId: null, policyVersion: null }))
  await store.partners.upsert(partnerRecord({ org: 'lake-pd', policyId: null, policyVersion: null }))
  const contacted = partnerContactWriter(tc.ctx)

  contacted('river-pd')
  t.same(await store.partners.listContacts(), new Map([['river-pd', T0]]), 'the first contact is stored')
  clock.advance(CONTACT_WRITE_INTERVAL_MS - 1000)
  contacted('river-pd')
  contacted('lake-pd')
  t.same(
    await store.partners.listContacts(),
    new Map([
      ['lake-pd', T0 + 59],
      ['river-pd', T0],
    ]),
    'within the interval: not written again; another partner has its own interval',
  )
  const seen = new Map([['river-pd', clock.now()]])
  t.same((await lastContacts(tc.ctx, seen)).get('river-pd'), clock.now(), 'a reader sees the contact this process saw on top')

  clock.advance(1000)
  contacted('river-pd')
  t.equal((await store.partners.listContacts()).get('river-pd'), T0 + 60, 'written again once the interval passed')
  await store.partners.recordContact('river-pd', T0)
  t.equal((await store.partners.listContacts()).get('river-pd'), T0 + 60, 'never moved back')
  contacted('unknown-org')
  t.notOk((await store.partners.listContacts()).has('unknown-org'), 'an organization that is no partner is not stored')
})
