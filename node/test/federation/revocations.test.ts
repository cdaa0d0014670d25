/**
 * EP-5 `POST /federation/v1/revocations` over real mutual TLS (SPEC.md §13, CW-REV-002..006):
 * a revoked share is closed on both sides at once, a receiver that is down gets the revocation
 * when it is back, forged or replayed revocations are refused, and a revocation cascades to
 * the next hop.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { PROTOCOL_VERSION, signRevocation, type Revocation } from '#protocol'
import { userActor } from '../../src/events.ts'
import { createFederationServer } from '../../src/federation/server.ts'
import { refusalOf } from '../support/refusals.ts'
import { createCase } from '../../src/cases/cases.ts'
import { uploadEvidence } from '../../src/cases/evidence.ts'
import { getExternalCase, openExternalEvidence } from '../../src/receiving/external_cases.ts'
import { createShare } from '../../src/sending/share_case.ts'
import { assignPolicy } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { revokeShare } from '../../src/revocation/revoke_share.ts'
import { clientFor, startTestNode, type TestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { nowSeconds, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { storeOutbound } from '../support/outbound.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]
const reader = { userId: 'reader', role: 'member' as const, groups: [] }

function revocation(signer: TestOrg, aud: string, share: string, overrides: Partial<Revocation> = {}): Promise<string> {
  const iat = nowSeconds()
  return signRevocation(
    { cwv: PROTOCOL_VERSION, iss: signer.org, aud, iat, exp: iat + 3600, jti: randomUUID(), share, revokedAt: iat, ...overrides },
    signer.identity.signer,
  )
}

/** alpha shares a case with bravo (jobs running on both) and waits until bravo holds it complete. */
async function delivered(t: Test) {
  const [sender, receiver] = await Promise.all([startTestNode(t, alpha, { runJobs: true }), startTestNode(t, bravo, { runJobs: true })])
  await sender.addPartner(bravo, receiver.url)
  await receiver.addPartner(alpha, sender.url)
  const policy = await createPolicy(sender.ctx, testPolicy(FEDERATION))
  await assignPolicy(sender.ctx, 'bravo', policy.id)
  const theCase = await createCase(sender.ctx, { fields: { title: 'Burglary at 12 Elm St' } })
  const item = await uploadEvidence(
    sender.ctx,
    theCase.id,
    { name: 'door.jpg', category: 'photo', mediaType: 'image/jpeg' },
    Readable.from([randomBytes(3000)]),
  )
  const { share } = await createShare(sender.ctx, { caseId: theCase.id, partnerOrg: 'bravo', scope: 'case', createdBy: 'alice' })
  const inbound = await waitFor(
    'delivery',
    async () => {
      const found = await receiver.store.inboundShares.find('alpha', share.id)
      return found?.status === 'complete' && (await sender.store.outboundShares.get(share.id))?.status === 'delivered' ? found : undefined
    },
    { timeoutMs: 20_000, intervalMs: 25 },
  )
  return { sender, receiver, share, item, inbound }
}

// spec: CW-REV-002, CW-REV-003, CW-REV-004, CW-REV-005, CW-FED-005
t.test('revoking closes the share on both sides: chunks refused at once, the receiver marks it revoked and its users get 410', async (t) => {
  const { sender, receiver, share, item, inbound } = await delivered(t)
  t.ok(await getExternalCase(receiver.ctx, reader, inbound.id))

  await revokeShare(sender.ctx, share.id, { actor: userActor('alice'), reason: 'Sent in error' })
  // The sender refuses the chunks from this moment, whatever the receiver knows yet.
  const refused = await refusalOf(clientFor(t, sender, bravo).fetchChunk(sender.asPartner(), share.id, item.chunks[0]!))
  t.match(refused, { status: 410, code: 'CW_ERR_SHARE_REVOKED' })

  const revoked = await waitFor(
    'the receiver to revoke',
    async () => {
      const found = await receiver.store.inboundShares.get(inbound.id)
      return found?.status === 'revoked' ? found : undefined
    },
    { timeoutMs: 10_000, intervalMs: 25 },
  )
  t.equal(revoked.statusDetail, 'Sent in error')
  await t.rejects(getExternalCase(receiver.ctx, reader, inbound.id), { code: 'CW_ERR_SHARE_REVOKED' })
  await t.rejects(openExternalEvidence(receiver.ctx, reader, inbound.id, item.id), { code: 'CW_ERR_SHARE_REVOKED' })
  // The job is done: the partner took it.
  await waitFor(
    'revoke job done',
    async () => ((await sender.store.jobs.list(share.id)).find((j) => j.kind === 'revoke')?.state === 'done' ? true : undefined),
    { timeoutMs: 5000, intervalMs: 25 },
  )
})

// spec: CW-REV-005
t.test('a revocation sent while the receiver is down reaches it when it is back', async (t) => {
  const { sender, receiver, share, inbound } = await delivered(t)
  const port = Number(new URL(receiver.url).port)
  await receiver.server.app.close()

  await revokeShare(sender.ctx, share.id, { actor: userActor('alice') })
  // It fails and stays pending, retrying.
  const failing = await waitFor(
    'failed attempts',
    async () => {
      const job = (await sender.store.jobs.list(share.id)).find((j) => j.kind === 'revoke')
      return job !== undefined && job.attempts >= 2 && job.state === 'pending' ? job : undefined
    },
    { timeoutMs: 10_000, intervalMs: 25 },
  )
  t.match(failing.lastError, /unreachable/)
  t.equal((await receiver.store.inboundShares.get(inbound.id))?.status, 'complete')

  const again = await createFederationServer(receiver.ctx)
  t.teardown(() => again.app.close())
  await again.app.listen({ host: '127.0.0.1', port })
  await waitFor('the receiver to revoke', async () => ((await receiver.store.inboundShares.get(inbound.id))?.status === 'revoked' ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 25,
  })
  t.pass('delivered once the receiver was back')
})

// spec: CW-REV-004, CW-SIG-008, CW-SIG-010, CW-SIG-012, CW-TLS-003
t.test('forged, misaddressed, tampered, unknown and replayed revocations are refused with their codes', async (t) => {
  const receiver = await startTestNode(t, bravo)
  await receiver.addPartner(alpha)
  await receiver.addPartner(charlie)
  const fromAlpha = clientFor(t, receiver, alpha)
  const fromCharlie = clientFor(t, receiver, charlie)
  const bravoAsPartner = receiver.asPartner()
  const offered = await signedManifest(alpha, 'bravo')
  await fromAlpha.offer(bravoAsPartner, offered.jws)
  const shareId = offered.manifest.share.id
  const status = async () => (await receiver.store.inboundShares.find('alpha', shareId))?.status

  // Signed by charlie, sent over alpha's connection.
  t.match(await refusalOf(fromAlpha.sendRevocation(bravoAsPartner, await revocation(charlie, 'bravo', shareId))), { status: 403, code: 'CW_ERR_PEER_MISMATCH' })
  // Charlie revoking, as itself, a share alpha sent: a share charlie never sent, taken as such
  // (CW-FED-018) — the same answer as for any share, so charlie learns nothing of alpha's.
  t.same(await fromCharlie.sendRevocation(bravoAsPartner, await revocation(charlie, 'bravo', shareId)), { share: shareId, status: 'revoked' })
  // Addressed to charlie.
  t.match(await refusalOf(fromAlpha.sendRevocation(bravoAsPartner, await revocation(alpha, 'charlie', shareId))), {
    status: 422,
    code: 'CW_ERR_AUDIENCE_MISMATCH',
  })
  // Payload changed after signing.
  const [header, payload, signature] = (await revocation(alpha, 'bravo', shareId)).split('.') as [string, string, string]
  const changed = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), share: `share-${randomUUID()}` }
  const tampered = `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`
  t.match(await refusalOf(fromAlpha.sendRevocation(bravoAsPartner, tampered)), { status: 422, code: 'CW_ERR_SIGNATURE_INVALID' })
  // A share alpha never sent (yet): taken (CW-FED-018).
  const unseen = `share-${randomUUID()}`
  t.same(await fromAlpha.sendRevocation(bravoAsPartner, await revocation(alpha, 'bravo', unseen)), { share: unseen, status: 'revoked' })
  // Not a revocation at all.
  t.match(await refusalOf(fromAlpha.sendRevocation(bravoAsPartner, offered.jws)), { code: 'CW_ERR_TYP_INVALID' })
  t.equal(await status(), 'receiving', 'nothing above changed the share')

  const jti = randomUUID()
  const accepted = await revocation(alpha, 'bravo', shareId, { jti })
  t.same(await fromAlpha.sendRevocation(bravoAsPartner, accepted), { share: shareId, status: 'revoked' })
  t.equal(await status(), 'revoked')
  // The same one again: 200, nothing changes. Another object with its jti: replay.
  t.same(await fromAlpha.sendRevocation(bravoAsPartner, accepted), { share: shareId, status: 'revoked' })
  t.match(await refusalOf(fromAlpha.sendRevocation(bravoAsPartner, await revocation(alpha, 'bravo', shareId, { jti, reason: 'again' }))), {
    status: 409,
    code: 'CW_ERR_REPLAY',
  })
  // An offer for the revoked share is refused too (CW-FED-004).
  const next = await signedManifest(alpha, 'bravo', { shareId, revision: 2, previous: offered.digest })
  t.match(await refusalOf(fromAlpha.offer(bravoAsPartner, next.jws)), { code: 'CW_ERR_SHARE_REVOKED' })
})

// spec: CW-REV-003, CW-REV-006
t.test('revoking alpha → bravo makes bravo revoke its onward share to charlie: charlie receives a revocation signed by bravo', async (t) => {
  const { sender, receiver, share, inbound } = await delivered(t)
  const third: TestNode = await startTestNode(t, charlie)
  await receiver.addPartner(charlie, third.url)
  await third.addPartner(bravo, receiver.url)
  // bravo's onward share of the external case to charlie, which charlie holds.
  const onward = await signedManifest(bravo, 'charlie')
  await storeOutbound(receiver.store, receiver.blobs, onward, [], { caseId: inbound.id, status: 'delivered' })
  await clientFor(t, third, bravo).offer(third.asPartner(), onward.jws)
  const atCharlie = await third.store.inboundShares.find('bravo', onward.manifest.share.id)
  t.equal(atCharlie?.status, 'receiving')

  await revokeShare(sender.ctx, share.id, { actor: userActor('alice'), reason: 'Court order' })
  await waitFor('charlie to revoke', async () => ((await third.store.inboundShares.get(atCharlie!.id))?.status === 'revoked' ? true : undefined), {
    timeoutMs: 15_000,
    intervalMs: 25,
  })
  t.equal((await receiver.store.outboundShares.get(onward.manifest.share.id))?.status, 'revoked')
  t.equal((await receiver.store.inboundShares.get(inbound.id))?.status, 'revoked')
  t.equal((await third.store.inboundShares.get(atCharlie!.id))?.statusDetail, 'Court order')
})
