/**
 * Services record what they did as domain events, with who did it: the audit trail,
 * notifications and metrics are built on these.
 */
import { Readable } from 'node:stream'
import t from 'tap'
import { createCase, updateCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { userActor } from '../../src/events.ts'
import { createTestContext } from '../support/context.ts'
import { addPartner } from '../support/fixtures.ts'

t.test('creating, editing, uploading and sharing are recorded with their actor', async (t) => {
  const tc = await createTestContext()
  t.teardown(() => tc.close())
  const { ctx } = tc
  await addPartner(ctx, 'county-da')
  const alice = userActor('alice')
  const theCase = await createCase(ctx, { fields: { title: 'Burglary' } }, alice)
  await updateCase(ctx, theCase.id, { fields: { description: 'garage door forced' } }, alice)
  const evidence = await uploadEvidence(
    ctx,
    theCase.id,
    { name: 'cctv.mp4', category: 'video', mediaType: 'video/mp4', doNotDisclose: false },
    Readable.from([Buffer.from('frames')]),
    alice,
  )
  const { share } = await createShare(ctx, { caseId: theCase.id, partnerOrg: 'county-da', scope: 'case', createdBy: 'alice' })

  t.same(
    tc.events.map((event) => [event.type, 'caseId' in event ? event.caseId : undefined, event.actor]),
    [
      ['case.created', theCase.id, alice],
      ['case.updated', theCase.id, alice],
      ['evidence.uploaded', theCase.id, alice],
      ['share.created', theCase.id, alice],
    ],
  )
  t.match(tc.events[1], { fields: ['description'] })
  t.match(tc.events[2], { evidenceId: evidence.id, digest: evidence.digest, size: 6 })
  t.match(tc.events[3], { shareId: share.id, partner: 'county-da', revision: 1, items: 1 })
})
