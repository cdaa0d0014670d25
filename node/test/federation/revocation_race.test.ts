/**
 * A revocation that overtakes its offer, over real mutual TLS (SPEC.md CW-FED-018): the receiver
 * takes the revocation of a share it never saw (`200`, as for any revocation), remembers that
 * the share ended under that sender only, and refuses the offer that arrives afterwards with
 * `410 CW_ERR_SHARE_REVOKED`, storing nothing of it.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { PROTOCOL_VERSION, signRevocation } from '#protocol'
import { refusalOf } from '../support/refusals.ts'
import { clientFor, startTestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { nowSeconds, signedManifest } from '../../../testkit/fixtures/manifests.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

function revocation(signer: TestOrg, share: string): Promise<string> {
  const iat = nowSeconds()
  return signRevocation(
    { cwv: PROTOCOL_VERSION, iss: signer.org, aud: 'bravo', iat, exp: iat + 3600, jti: randomUUID(), share, revokedAt: iat },
    signer.identity.signer,
  )
}

// spec: CW-FED-018, CW-REV-004
t.test('a revocation before its offer is taken and remembered; the late offer is refused 410 and leaves nothing', async (t) => {
  const receiver = await startTestNode(t, bravo)
  await receiver.addPartner(alpha)
  await receiver.addPartner(charlie)
  const fromAlpha = clientFor(t, receiver, alpha)
  const fromCharlie = clientFor(t, receiver, charlie)
  const bravoAsPartner = receiver.asPartner()
  const late = await signedManifest(alpha, 'bravo')
  const shareId = late.manifest.share.id

  const revoked = await revocation(alpha, shareId)
  t.same(await fromAlpha.sendRevocation(bravoAsPartner, revoked), { share: shareId, status: 'revoked' }, 'answered as any revocation')
  t.same(await fromAlpha.sendRevocation(bravoAsPartner, revoked), { share: shareId, status: 'revoked' }, 'and the same again')
  t.same(await fromAlpha.sendRevocation(bravoAsPartner, await revocation(alpha, shareId)), { share: shareId, status: 'revoked' }, 'or another one')
  t.ok(await receiver.store.inboundShares.getTombstone('alpha', shareId), 'the share is remembered as ended')

  t.match(await refusalOf(fromAlpha.offer(bravoAsPartner, late.jws)), { status: 410, code: 'CW_ERR_SHARE_REVOKED' }, 'the late offer is refused')
  t.equal(await receiver.store.inboundShares.find('alpha', shareId), undefined, 'nothing of it is stored')
  t.match(await refusalOf(fromAlpha.offer(bravoAsPartner, late.jws)), { status: 410, code: 'CW_ERR_SHARE_REVOKED' }, 'also when offered again')

  // Keyed by the sender: charlie's revocation of a share id cannot end alpha's share of that id.
  const other = await signedManifest(alpha, 'bravo')
  t.same(await fromCharlie.sendRevocation(bravoAsPartner, await revocation(charlie, other.manifest.share.id)), {
    share: other.manifest.share.id,
    status: 'revoked',
  })
  const accepted = await fromAlpha.offer(bravoAsPartner, other.jws)
  t.equal(accepted.status, 202, "alpha's share with that id is still taken")
})
