import t from 'tap'
import { digestJson } from '../../src/canonical/digest.ts'
import { signObject } from '../../src/jws/sign.ts'
import { signPackageOffer, verifyPackageOffer } from '../../src/package_offer/index.ts'
import { assertPackageOfferAnswer } from '../../src/schema/validate.ts'
import type { PackageOffer } from '../../src/types.gen.ts'
import { parts } from '../helpers/jws_craft.ts'
import { createTestOrg } from '../../../testkit/fixtures/orgs.ts'

const now = new Date()
const iat = Math.floor(now.getTime() / 1000)
const a = await createTestOrg('org-a', { now })
const b = await createTestOrg('org-b', { now })
const options = { trustAnchors: [a.anchor, b.anchor], audience: 'org-b', currentDate: now }
const offer = (): PackageOffer => ({
  cwv: '0.2',
  iss: 'org-a',
  aud: 'org-b',
  iat,
  exp: iat + 86_400,
  jti: 'po-1',
  package: 'p-1',
  recipients: [{ kind: 'user', id: 'clerk' }],
  format: 'zip',
  size: 4096,
  manifest: `sha256:${'a'.repeat(64)}`,
  message: 'for trial prep',
})

// spec: CW-PKG-011, CW-SIG-005
t.test('a package offer round-trips with typ caseway-package-offer+jws', async (t) => {
  const jws = await signPackageOffer(offer(), a.signer)
  t.equal(parts(jws).header['typ'], 'caseway-package-offer+jws')
  const verified = await verifyPackageOffer(jws, options)
  t.same(verified.offer, offer())
  t.equal(verified.signer.org, 'org-a')
  t.equal(verified.digest, digestJson(offer()))
})

// spec: CW-PKG-011, CW-FMT-004
t.test('signing an offer that violates its schema is a caller bug', async (t) => {
  await t.rejects(signPackageOffer({ ...offer(), recipients: [] }, a.signer), TypeError)
  await t.rejects(signPackageOffer({ ...offer(), cwv: '0.1' } as unknown as PackageOffer, a.signer), TypeError)
  await t.rejects(signPackageOffer({ ...offer(), size: 0 }, a.signer), TypeError)
  await t.rejects(signPackageOffer({ ...offer(), format: 'rar' } as unknown as PackageOffer, a.signer), TypeError)
})

// spec: CW-PKG-012, CW-SIG-005, CW-SIG-009
t.test('an offer goes through the full verification of §8, audience included', async (t) => {
  // Another signed type never passes as a package offer, a package manifest included.
  await t.rejects(verifyPackageOffer(await signObject('package', { ...offer() }, a.signer), options), { code: 'CW_ERR_TYP_INVALID' })
  await t.rejects(verifyPackageOffer(await signObject('revocation', { ...offer() }, a.signer), options), { code: 'CW_ERR_TYP_INVALID' })
  await t.rejects(verifyPackageOffer(await signPackageOffer({ ...offer(), aud: 'org-c' }, a.signer), options), { code: 'CW_ERR_AUDIENCE_MISMATCH' })
  await t.rejects(verifyPackageOffer(await signPackageOffer(offer(), b.signer), options), { code: 'CW_ERR_ISSUER_MISMATCH' })
  await t.rejects(verifyPackageOffer(await signPackageOffer({ ...offer(), iat: iat - 7200, exp: iat - 3600 }, a.signer), options), {
    code: 'CW_ERR_EXPIRED',
  })
  await t.rejects(verifyPackageOffer(await signPackageOffer(offer(), a.signer), { ...options, trustAnchors: [b.anchor] }), {
    code: 'CW_ERR_CHAIN_UNTRUSTED',
  })
})

// spec: CW-PKG-012
t.test('an offer is always verified against an audience', async (t) => {
  const jws = await signPackageOffer(offer(), a.signer)
  await t.rejects(verifyPackageOffer(jws, { trustAnchors: [a.anchor] } as unknown as typeof options), TypeError)
})

// spec: CW-PKG-011, CW-FMT-004
t.test('a signed offer that violates its schema is refused after the signature', async (t) => {
  await t.rejects(verifyPackageOffer(await signObject('package-offer', { ...offer(), extra: 1 }, a.signer), options), {
    code: 'CW_ERR_SCHEMA_INVALID',
    at: '/extra',
  })
  await t.rejects(verifyPackageOffer(await signObject('package-offer', { ...offer(), recipients: [{ kind: 'email', id: 'x' }] }, a.signer), options), {
    code: 'CW_ERR_SCHEMA_INVALID',
  })
})

// spec: CW-PKG-012
t.test('the answer of EP-10', async (t) => {
  t.doesNotThrow(() => assertPackageOfferAnswer({ package: 'p-1', status: 'receiving' }))
  t.throws(() => assertPackageOfferAnswer({ package: 'p-1', status: 'delivered' }), { code: 'CW_ERR_SCHEMA_INVALID' })
})
