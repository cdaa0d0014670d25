/**
 * The JSON answers of the Federation API, problem documents and the conformance control
 * bodies: one schema each in protocol/schemas/, checked by the assert… functions the node and
 * the conformance harness share.
 */
import t from 'tap'
import {
  assertControlEvidenceRequest,
  assertControlRevisionAnswer,
  assertControlShareAnswer,
  assertControlShareRequest,
  assertHealthAnswer,
  assertOfferAnswer,
  assertProblemDocument,
  assertReceiptAnswer,
  assertRevocationAnswer,
  FEDERATION_PATHS,
  PolicyError,
  RequestError,
  schemaDocument,
  SCHEMA_NAMES,
  toProblem,
} from '#protocol'

const D = (c: string) => 'sha256:' + c.repeat(64)
const SHARE = '0b7c3c1e-2f4a-4b7e-9a51-1d2c3b4a5f60'

const offerAnswer = () => ({ share: SHARE, revision: 1, status: 'receiving', needed: [D('a'), D('b')] })
const receiptAnswer = () => ({ share: SHARE, revision: 2, status: 'delivered' })
const revocationAnswer = () => ({ share: SHARE, status: 'revoked' })
const healthAnswer = () => ({ status: 'ok', org: 'pd-a' })
const problem = () => toProblem(new RequestError('CW_ERR_NOT_FOUND', 'no share "x"'), '/federation/v1/receipts') as unknown as Record<string, unknown>
const shareRequest = () => ({
  items: [
    { size: 3000, category: 'photo' },
    { size: 0, category: 'document', doNotDisclose: true },
    { size: 10, category: 'photo', attachmentOf: 0 },
  ],
  fields: { title: 'Burglary', summary: 'Test' },
  expiresInSeconds: 120,
})
const evidenceRequest = () => ({ items: [{ size: 1, category: 'photo' }] })
const shareAnswer = () => ({ share: SHARE, case: 'c2d8a0a4-6f3e-4b0e-8d7a-3e9b1f2c4d5e' })
const revisionAnswer = () => ({ share: SHARE, revision: 2 })

const asserts = [
  ['offer answer', assertOfferAnswer, offerAnswer],
  ['receipt answer', assertReceiptAnswer, receiptAnswer],
  ['revocation answer', assertRevocationAnswer, revocationAnswer],
  ['health answer', assertHealthAnswer, healthAnswer],
  ['problem document', assertProblemDocument, problem],
  ['control share request', assertControlShareRequest, shareRequest],
  ['control evidence request', assertControlEvidenceRequest, evidenceRequest],
  ['control share answer', assertControlShareAnswer, shareAnswer],
  ['control revision answer', assertControlRevisionAnswer, revisionAnswer],
] as const

function refusal(fn: (value: unknown) => void, value: unknown): { code: unknown; at: unknown } {
  try {
    fn(value)
  } catch (error) {
    return { code: (error as { code?: unknown }).code, at: (error as { at?: unknown }).at }
  }
  return { code: 'accepted', at: undefined }
}

// spec: CW-FMT-004, CW-FED-003, CW-FED-009, CW-FED-010, CW-REV-004, CW-ERR-001
t.test('valid answers and bodies pass; unknown properties and non-objects are refused', async (t) => {
  for (const [name, fn, make] of asserts) {
    t.doesNotThrow(() => fn(make()), name)
    t.match(refusal(fn, { ...make(), extra: 1 }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/extra' }, `${name}: unknown property`)
    for (const value of [null, [], 'x', 1]) t.match(refusal(fn, value), { code: 'CW_ERR_SCHEMA_INVALID', at: '' }, `${name}: ${JSON.stringify(value)}`)
  }
})

// spec: CW-FED-003, CW-FED-009, CW-FED-010
t.test('answers with a wrong member are refused at the member', async (t) => {
  t.match(refusal(assertOfferAnswer, { ...offerAnswer(), status: 'accepted' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/status' })
  t.match(refusal(assertOfferAnswer, { ...offerAnswer(), needed: [D('a'), D('a')] }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/needed' }, 'duplicates')
  t.match(refusal(assertOfferAnswer, { ...offerAnswer(), needed: ['sha256:xyz'] }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/needed/0' })
  t.match(refusal(assertOfferAnswer, { ...offerAnswer(), revision: 0 }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/revision' })
  const { needed: _needed, ...withoutNeeded } = offerAnswer()
  t.match(refusal(assertOfferAnswer, withoutNeeded), { code: 'CW_ERR_SCHEMA_INVALID', at: '' }, 'needed is required')
  t.match(refusal(assertReceiptAnswer, { ...receiptAnswer(), status: 'revoked' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/status' })
  t.match(refusal(assertRevocationAnswer, { ...revocationAnswer(), status: 'delivered' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/status' })
  t.match(refusal(assertRevocationAnswer, { ...revocationAnswer(), share: '../x' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/share' })
  t.match(refusal(assertHealthAnswer, { ...healthAnswer(), org: 'PD A' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/org' })
})

// spec: CW-ERR-001
t.test('a problem document needs its members, a catalogued code and the type that code names', async (t) => {
  const fromPolicy = toProblem(new PolicyError('CW_ERR_DO_NOT_DISCLOSE', 'item is do-not-disclose', { at: '/evidence/0' }))
  t.doesNotThrow(() => assertProblemDocument(fromPolicy))
  for (const member of ['type', 'title', 'status', 'detail', 'code']) {
    const { [member]: _dropped, ...rest } = problem()
    t.match(refusal(assertProblemDocument, rest), { code: 'CW_ERR_SCHEMA_INVALID', at: '' }, `${member} is required`)
  }
  t.match(refusal(assertProblemDocument, { ...problem(), code: 'CW_ERR_NO_SUCH_THING', type: 'urn:caseway:problem:no-such-thing' }), {
    code: 'CW_ERR_SCHEMA_INVALID',
    at: '/code',
  })
  t.match(refusal(assertProblemDocument, { ...problem(), type: 'urn:caseway:problem:conflict' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/type' })
  t.match(refusal(assertProblemDocument, { ...problem(), type: 'about:blank' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/type' })
  t.match(refusal(assertProblemDocument, { ...problem(), status: 200 }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/status' })
  t.match(refusal(assertProblemDocument, { ...problem(), stack: 'Error: at x' }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/stack' })
})

t.test('control requests: 1 to 20 items of bounded size, an attachment only of an earlier item, known fields', async (t) => {
  const items = (n: number) => Array.from({ length: n }, () => ({ size: 1, category: 'photo' }))
  t.match(refusal(assertControlShareRequest, { items: [] }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/items' })
  t.match(refusal(assertControlShareRequest, { items: items(21) }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/items' })
  t.doesNotThrow(() => assertControlShareRequest({ items: items(20) }))
  t.match(refusal(assertControlShareRequest, {}), { code: 'CW_ERR_SCHEMA_INVALID', at: '' }, 'items are required')
  t.match(refusal(assertControlShareRequest, { items: [{ size: 16_777_217, category: 'photo' }] }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/items/0/size' })
  t.match(refusal(assertControlShareRequest, { items: [{ size: -1, category: 'photo' }] }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/items/0/size' })
  t.match(refusal(assertControlShareRequest, { items: [{ size: 1, category: 'Photo!' }] }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/items/0/category' })
  t.match(refusal(assertControlShareRequest, { items: [{ size: 1, category: 'photo', name: 'x' }] }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/items/0/name' })
  t.match(refusal(assertControlShareRequest, { items: [{ size: 1, category: 'photo', attachmentOf: 0 }] }), {
    code: 'CW_ERR_SCHEMA_INVALID',
    at: '/items/0/attachmentOf',
  })
  t.match(refusal(assertControlEvidenceRequest, { items: [...items(2), { size: 1, category: 'photo', attachmentOf: 3 }] }), {
    code: 'CW_ERR_SCHEMA_INVALID',
    at: '/items/2/attachmentOf',
  })
  t.match(refusal(assertControlShareRequest, { ...shareRequest(), fields: { 'Not a name': 'x' } }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/fields' })
  t.match(refusal(assertControlShareRequest, { ...shareRequest(), fields: { title: ['a'] } }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/fields/title' })
  t.match(refusal(assertControlShareRequest, { ...shareRequest(), expiresInSeconds: 0 }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/expiresInSeconds' })
  t.match(refusal(assertControlShareRequest, { ...shareRequest(), expiresInSeconds: 1.5 }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/expiresInSeconds' })
  t.match(refusal(assertControlEvidenceRequest, { ...evidenceRequest(), expiresInSeconds: 60 }), { code: 'CW_ERR_SCHEMA_INVALID', at: '/expiresInSeconds' })
})

t.test('the federation paths percent-encode their parameters', async (t) => {
  t.equal(FEDERATION_PATHS.offers, '/federation/v1/offers')
  // spec: CW-FED-014 — the digest literally; the percent-encoded form only on request.
  t.equal(FEDERATION_PATHS.chunk('s/1', D('a')), `/federation/v1/shares/s%2F1/chunks/sha256:${'a'.repeat(64)}`)
  t.equal(FEDERATION_PATHS.chunkPercentEncoded('s/1', D('a')), `/federation/v1/shares/s%2F1/chunks/sha256%3A${'a'.repeat(64)}`)
  t.equal(FEDERATION_PATHS.chunk('s', 'x/y'), '/federation/v1/shares/s/chunks/x%2Fy')
  t.equal(FEDERATION_PATHS.controlShares, '/federation/v1/conformance/shares')
  t.equal(FEDERATION_PATHS.controlRevoke('a b'), '/federation/v1/conformance/shares/a%20b/revoke')
  t.equal(FEDERATION_PATHS.controlEvidence(SHARE), `/federation/v1/conformance/shares/${SHARE}/evidence`)
  t.equal(FEDERATION_PATHS.controlShareOnward('s/1'), '/federation/v1/conformance/received-shares/s%2F1/share-onward')
})

t.test('schemaDocument hands out copies of the schema files by name', async (t) => {
  for (const name of ['common', 'offer-answer', 'problem', 'control-item', 'control-share-request']) t.ok(SCHEMA_NAMES.includes(name), name)
  const document = schemaDocument('offer-answer')
  t.equal(document.$id, 'urn:caseway:schema:offer-answer')
  ;(document as Record<string, unknown>)['additionalProperties'] = true
  t.equal(schemaDocument('offer-answer')['additionalProperties'], false, 'a change to a copy changes nothing')
  t.throws(() => schemaDocument('nope'), TypeError)
})
