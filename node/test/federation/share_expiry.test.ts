/**
 * The share's expiry on the receiving side (SPEC CW-SIG-014, CW-REV-007): it is the `exp` of the
 * last grant of the manifest's chain, not the manifest's own `exp`. Our senders make the two
 * equal; a partner may sign a manifest that lives an hour over a grant of twenty days, and then
 * the external case, its expiry and the receipts' lifetime follow the grant.
 */
import t from 'tap'
import type { DeliveryReceipt } from '#protocol'
import { RECEIPT_LIFETIME_SECONDS } from '../../src/receiving/receipts.ts'
import { applyUpdates } from '../../src/receiving/updates.ts'
import { clientFor, startTestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { nowSeconds, signedManifest } from '../../../testkit/fixtures/manifests.ts'
import { waitFor } from '../../../testkit/wait.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]
const reader = { userId: 'reader', role: 'member' as const, groups: [] }
const HOUR = 3_600
const DAY = 86_400

const receiptExp = (jws: string) => (JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as DeliveryReceipt).exp

// spec: CW-SIG-014, CW-REV-007, CW-REC-004
t.test("the share's expiry is the last grant's exp: stored, bounding the receipts, and taken from the revision applied", async (t) => {
  // Jobs run: the fetch jobs verify (nothing to pull) and sign the receipts; sending them to bravo
  // fails (bravo has no endpoint here), which leaves the signed receipts stored.
  const node = await startTestNode(t, alpha, { runJobs: true })
  await node.addPartner(bravo)
  const fromBravo = clientFor(t, node, bravo)
  const shareId = 'share-expiry'
  const iat = nowSeconds()

  // A manifest that may be offered for an hour, over a grant of twenty days.
  const r1 = await signedManifest(bravo, 'alpha', { shareId, iat, lifetime: HOUR, grantLifetime: 20 * DAY })
  t.equal((await fromBravo.offer(node.asPartner(), r1.jws)).status, 202)
  const stored = (await node.store.inboundShares.find('bravo', shareId))!
  t.equal(stored.expiresAt, iat + 20 * DAY, "the stored expiry is the grant's exp")
  t.not(stored.expiresAt, r1.manifest.exp, "not the manifest's")

  const complete = await waitFor('revision 1 complete with its receipt', async () => {
    const inbound = await node.store.inboundShares.find('bravo', shareId)
    return inbound?.status === 'complete' && inbound.receiptJws !== null ? inbound : undefined
  })
  const exp1 = receiptExp(complete.receiptJws!)
  t.ok(exp1 > r1.manifest.exp, `the receipt outlives the manifest's exp (${exp1} > ${r1.manifest.exp}): the grant bounds it`)
  t.ok(exp1 <= complete.completedAt! + RECEIPT_LIFETIME_SECONDS + 1 && exp1 <= iat + 20 * DAY, 'and it lives at most a day, within the grant')

  // Revision 2: again an hour's manifest, now over a grant of ten days.
  const r2 = await signedManifest(bravo, 'alpha', { shareId, iat, revision: 2, previous: r1.digest, lifetime: HOUR, grantLifetime: 10 * DAY })
  t.equal((await fromBravo.offer(node.asPartner(), r2.jws)).status, 202)
  const verified = await waitFor('revision 2 verified with its receipt', async () => {
    const row = await node.store.inboundShares.getRevision(stored.id, 2)
    return row?.transfer === 'verified' && row.receiptJws !== null ? row : undefined
  })
  const exp2 = receiptExp(verified.receiptJws!)
  t.ok(exp2 > r2.manifest.exp && exp2 <= iat + 10 * DAY, `the pending revision's receipt is bounded by its own grant (${exp2})`)
  t.equal((await node.store.inboundShares.find('bravo', shareId))!.expiresAt, iat + 20 * DAY, 'until applied, the applied revision keeps its expiry')

  await applyUpdates(node.ctx, reader, stored.id, { revision: 2 })
  t.equal((await node.store.inboundShares.find('bravo', shareId))!.expiresAt, iat + 10 * DAY, "applied: the expiry is revision 2's grant's exp")
})
