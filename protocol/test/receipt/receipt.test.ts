import t from 'tap'
import { digestJson } from '../../src/canonical/digest.ts'
import { signObject } from '../../src/jws/sign.ts'
import type { VerifyOptions } from '../../src/jws/verify.ts'
import { signReceipt } from '../../src/receipt/sign.ts'
import { verifyReceipt } from '../../src/receipt/verify.ts'
import type { DeliveryReceipt } from '../../src/types.gen.ts'
import { parts } from '../helpers/jws_craft.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const now = new Date()
const iat = Math.floor(now.getTime() / 1000)
// The receiver (org-b) answers the sender (org-a).
const a = await createTestOrg('org-a', { now })
const b = await createTestOrg('org-b', { now })
const options: VerifyOptions = { trustAnchors: [a.anchor, b.anchor], audience: 'org-a', currentDate: now }
const receipt = (): DeliveryReceipt => ({
  cwv: '0.1',
  iss: 'org-b',
  aud: 'org-a',
  iat,
  exp: iat + 86_400,
  jti: 'r-1',
  share: 's-1',
  revision: 1,
  manifest: 'sha256:' + 'a'.repeat(64),
  status: 'delivered',
})

// spec: CW-REC-001, CW-SIG-005
t.test('a receipt round-trips with typ caseway-receipt+jws', async (t) => {
  const jws = await signReceipt(receipt(), b.signer)
  t.equal(parts(jws).header['typ'], 'caseway-receipt+jws')
  const verified = await verifyReceipt(jws, options)
  t.same(verified.receipt, receipt())
  t.equal(verified.signer.org, 'org-b')
  t.equal(verified.digest, digestJson(receipt()))
  const rejected: DeliveryReceipt = { ...receipt(), status: 'rejected', problem: { code: 'CW_ERR_EXPIRED', detail: 'manifest expired' } }
  t.same((await verifyReceipt(await signReceipt(rejected, b.signer), options)).receipt, rejected)
})

// spec: CW-FMT-004, CW-REC-001
t.test('signing an invalid receipt is a caller bug', async (t) => {
  await t.rejects(signReceipt({ ...receipt(), extra: 1 } as DeliveryReceipt, b.signer), TypeError)
  await t.rejects(signReceipt({ ...receipt(), status: 'rejected' }, b.signer), TypeError, 'rejected without problem')
})

// spec: CW-FMT-004, CW-SIG-013
t.test('a signed receipt that violates its schema is refused after the signature', async (t) => {
  const jws = await signObject('receipt', { ...receipt(), extra: 1 }, b.signer)
  await t.rejects(verifyReceipt(jws, options), { code: 'CW_ERR_SCHEMA_INVALID', at: '/extra' })
  const noManifest: Record<string, unknown> = { ...receipt() }
  delete noManifest['manifest']
  await t.rejects(verifyReceipt(await signObject('receipt', noManifest, b.signer), options), { code: 'CW_ERR_SCHEMA_INVALID' })
})

// spec: CW-SIG-005, CW-SIG-009, CW-SIG-010
t.test('receipts go through the full verification', async (t) => {
  await t.rejects(verifyReceipt(await signObject('manifest', receipt() as unknown as Record<string, unknown>, b.signer), options), {
    code: 'CW_ERR_TYP_INVALID',
  })
  await t.rejects(verifyReceipt(await signReceipt(receipt(), a.signer), options), { code: 'CW_ERR_ISSUER_MISMATCH' }, 'signed by the wrong org')
  await t.rejects(verifyReceipt(await signReceipt(receipt(), b.signer), { ...options, audience: 'org-c' }), { code: 'CW_ERR_AUDIENCE_MISMATCH' })
  await t.rejects(verifyReceipt(await signReceipt(receipt(), b.signer), { ...options, trustAnchors: [a.anchor] }), { code: 'CW_ERR_CHAIN_UNTRUSTED' })
  await t.rejects(verifyReceipt(42, options), { code: 'CW_ERR_MALFORMED' })
})
