/**
 * Recipients the receiving side adds (SPEC.md CW-POL-008, CW-POL-009, CW-LOC-025, CW-LOC-026),
 * between two real nodes over TLS: the permission travels with the share in its grant, the
 * receiver adds users or groups when it permits it and refuses when it does not, the added
 * users see the external case, and both trails record it.
 */
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { SharingPolicy } from '#protocol'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { createGroup, createUser } from '../../src/access/principals.ts'
import { getExternalCase, listExternalCases } from '../../src/receiving/external_cases.ts'
import { getImportDetails, importExternalCase } from '../../src/receiving/import_case.ts'
import { addExternalRecipients, addImportRecipients } from '../../src/receiving/added_recipients.ts'
import { startTestNode, type TestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]
const reader = { userId: 'reader', role: 'member' as const, groups: [] }
const admin = { userId: 'root', role: 'admin' as const, groups: [] }
const newcomer = { userId: 'newcomer', role: 'member' as const, groups: [] }
const analyst = { userId: 'analyst', role: 'member' as const, groups: ['lab'] }

/** Alpha shares a case with user `reader` at bravo under `permissions`; resolves once bravo holds it. */
async function shared(t: Test, permissions: Partial<SharingPolicy['permissions']>) {
  const [sender, receiver] = await Promise.all([startTestNode(t, alpha, { runJobs: true }), startTestNode(t, bravo, { runJobs: true })])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  for (const id of ['reader', 'newcomer', 'analyst']) await createUser(receiver.ctx, { id, name: id })
  await createGroup(receiver.ctx, { id: 'lab', name: 'Lab', members: ['analyst'] })
  const policy = await createPolicy(sender.ctx, testPolicy(FEDERATION, { permissions }))
  await assignPolicy(sender.ctx, 'bravo', policy.id)
  const theCase = await createCase(sender.ctx, { fields: { title: 'Burglary at 12 Elm St' } })
  await uploadEvidence(sender.ctx, theCase.id, { name: 'door.jpg', category: 'photo', mediaType: 'image/jpeg' }, Readable.from([randomBytes(500)]))
  const { share } = await createShare(sender.ctx, {
    caseId: theCase.id,
    partnerOrg: 'bravo',
    scope: 'case',
    recipients: [{ kind: 'user', id: 'reader' }],
    createdBy: 'alice',
  })
  const inbound = await waitFor(
    'share complete at bravo',
    async () => {
      const found = await receiver.store.inboundShares.find('alpha', share.id)
      return found?.status === 'complete' ? found : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
  return { sender, receiver, inboundId: inbound.id, policy: inbound.policy }
}

function trail(node: TestNode, caseId: string) {
  return node.store.audit.list(caseId, { limit: 1000 })
}

/** The problem code and status an action was refused with (undefined: it was not). */
async function refusalOf(action: Promise<unknown>): Promise<{ code?: string } | undefined> {
  return action.then(
    () => undefined,
    (error: unknown) => error as { code?: string },
  )
}

// spec: CW-POL-008, CW-LOC-025, CW-LOC-026
t.test('a policy that permits addRecipients lets a recipient add a user and a group; they see the case; both trails record it', async (t) => {
  const { receiver, inboundId, policy } = await shared(t, { addRecipients: true })
  t.equal(policy.permissions.addRecipients, true, 'the permission travelled in the grant')
  t.same(
    (await listExternalCases(receiver.ctx, newcomer, { limit: 100 })).externalCases.map((c) => c.id),
    [],
    'not a recipient yet',
  )
  t.equal((await refusalOf(getExternalCase(receiver.ctx, newcomer, inboundId)))?.code, 'CW_ERR_NOT_FOUND')
  t.equal(
    (await refusalOf(addExternalRecipients(receiver.ctx, newcomer, inboundId, { recipients: [{ kind: 'user', id: 'newcomer' }] })))?.code,
    'CW_ERR_NOT_FOUND',
    'someone who is neither a recipient nor an administrator cannot add (nor learn the case exists)',
  )

  const result = await addExternalRecipients(receiver.ctx, reader, inboundId, {
    recipients: [
      { kind: 'user', id: 'newcomer' },
      { kind: 'user', id: 'reader' },
    ],
  })
  t.same(result.added, [{ kind: 'user', id: 'newcomer' }], 'a recipient named by the sender is not added again')
  t.equal((await getExternalCase(receiver.ctx, newcomer, inboundId)).access, 'recipient', 'the added user sees the content')
  t.equal((await getExternalCase(receiver.ctx, newcomer, inboundId)).evidence?.length, 1)

  const imported = await importExternalCase(receiver.ctx, reader, inboundId)
  const viaImport = await addImportRecipients(receiver.ctx, reader, imported.case.id, { recipients: [{ kind: 'group', id: 'lab' }] })
  t.same(viaImport.added, [{ kind: 'group', id: 'lab' }])
  t.equal((await getExternalCase(receiver.ctx, analyst, inboundId)).access, 'recipient', 'members of an added group see it')
  const details = await getImportDetails(receiver.ctx, reader, imported.case.id)
  t.same(
    details.addedRecipients.map((r) => [r.kind, r.id, r.addedBy]),
    [
      ['user', 'newcomer', 'reader'],
      ['group', 'lab', 'reader'],
    ],
  )
  t.same(details.recipients, [{ kind: 'user', id: 'reader' }], 'what the sender named is unchanged')

  const again = await addExternalRecipients(receiver.ctx, admin, inboundId, { recipients: [{ kind: 'group', id: 'lab' }] })
  t.same(again.added, [], 'an administrator may add; one already added is not added twice')

  const external = (await trail(receiver, inboundId)).filter((e) => e.type === 'recipients.added')
  t.same(
    external.map((e) => [e.actor, e.data['recipients'], e.data['importedCaseId']]),
    [
      [{ kind: 'user', id: 'reader' }, ['user:newcomer'], null],
      [{ kind: 'user', id: 'reader' }, ['group:lab'], imported.case.id],
    ],
  )
  const local = (await trail(receiver, imported.case.id)).filter((e) => e.type === 'import.recipients_added')
  t.same(
    local.map((e) => [e.data['inboundId'], e.data['recipients']]),
    [[inboundId, ['group:lab']]],
  )

  t.equal(
    (await refusalOf(addExternalRecipients(receiver.ctx, reader, inboundId, { recipients: [{ kind: 'email', id: 'x@bravo.example' }] })))?.code,
    'CW_ERR_BAD_REQUEST',
    'only users and groups',
  )
  t.equal(
    (await refusalOf(addExternalRecipients(receiver.ctx, reader, inboundId, { recipients: [{ kind: 'user', id: 'nobody' }] })))?.code,
    'CW_ERR_BAD_REQUEST',
    'only users of this node',
  )
})

// spec: CW-POL-008, CW-LOC-025
t.test('a policy that withholds addRecipients: the member is not on the wire, and adding is refused and recorded', async (t) => {
  const { receiver, inboundId, policy } = await shared(t, { addRecipients: false })
  t.notOk('addRecipients' in policy.permissions, 'false is not emitted: absent means false')
  const refusal = await refusalOf(addExternalRecipients(receiver.ctx, reader, inboundId, { recipients: [{ kind: 'user', id: 'newcomer' }] }))
  t.equal(refusal?.code, 'CW_ERR_ACTION_NOT_ALLOWED')
  const refusedByAdmin = await refusalOf(addExternalRecipients(receiver.ctx, admin, inboundId, { recipients: [{ kind: 'user', id: 'newcomer' }] }))
  t.equal(refusedByAdmin?.code, 'CW_ERR_ACTION_NOT_ALLOWED', 'an administrator too')
  t.equal((await refusalOf(getExternalCase(receiver.ctx, newcomer, inboundId)))?.code, 'CW_ERR_NOT_FOUND', 'nobody was added')
  const refused = (await trail(receiver, inboundId)).filter((e) => e.type === 'action.refused' && e.data['action'] === 'external.add_recipients')
  t.equal(refused.length, 2)
  t.equal(refused[0]?.data['code'], 'CW_ERR_ACTION_NOT_ALLOWED')
})
