import t from 'tap'
import { digestJson } from '../../src/canonical/digest.ts'
import { signObject } from '../../src/jws/sign.ts'
import type { VerifyOptions } from '../../src/jws/verify.ts'
import { signRevocation } from '../../src/revocation/sign.ts'
import { verifyRevocation } from '../../src/revocation/verify.ts'
import type { Revocation } from '../../src/types.gen.ts'
import { parts } from '../helpers/jws_craft.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const now = new Date()
const iat = Math.floor(now.getTime() / 1000)
const a = await createTestOrg('org-a', { now })
const b = await createTestOrg('org-b', { now })
const options: VerifyOptions = { trustAnchors: [a.anchor, b.anchor], audience: 'org-b', currentDate: now }
const revocation = (): Revocation => ({
  cwv: '0.1',
  iss: 'org-a',
  aud: 'org-b',
  iat,
  exp: iat + 86_400,
  jti: 'v-1',
  share: 's-1',
  revokedAt: iat,
  reason: 'case sealed',
})

// spec: CW-REV-001, CW-SIG-005
t.test('a revocation round-trips with typ caseway-revocation+jws', async (t) => {
  const jws = await signRevocation(revocation(), a.signer)
  t.equal(parts(jws).header['typ'], 'caseway-revocation+jws')
  const verified = await verifyRevocation(jws, options)
  t.same(verified.revocation, revocation())
  t.equal(verified.signer.org, 'org-a')
  t.equal(verified.digest, digestJson(revocation()))
})

// spec: CW-FMT-004, CW-REV-001
t.test('signing an invalid revocation is a caller bug', async (t) => {
  await t.rejects(signRevocation({ ...revocation(), share: '../x' }, a.signer), TypeError)
  await t.rejects(signRevocation({ ...revocation(), cwv: '9.9' } as unknown as Revocation, a.signer), TypeError)
})

// spec: CW-FMT-004, CW-SIG-013
t.test('a signed revocation that violates its schema is refused after the signature', async (t) => {
  await t.rejects(verifyRevocation(await signObject('revocation', { ...revocation(), cascade: false }, a.signer), options), {
    code: 'CW_ERR_SCHEMA_INVALID',
    at: '/cascade',
  })
  await t.rejects(verifyRevocation(await signObject('revocation', { ...revocation(), revokedAt: -1 }, a.signer), options), {
    code: 'CW_ERR_SCHEMA_INVALID',
    at: '/revokedAt',
  })
})

// spec: CW-SIG-005, CW-SIG-009, CW-VER-001
t.test('revocations go through the full verification', async (t) => {
  await t.rejects(verifyRevocation(await signObject('receipt', { ...revocation() }, a.signer), options), { code: 'CW_ERR_TYP_INVALID' })
  await t.rejects(verifyRevocation(await signRevocation(revocation(), b.signer), options), { code: 'CW_ERR_ISSUER_MISMATCH' })
  await t.rejects(
    verifyRevocation(await signObject('revocation', { ...revocation(), cwv: '9.9' }, a.signer), options),
    { code: 'CW_ERR_VERSION_UNSUPPORTED' },
    'version before schema',
  )
})
