/**
 * The federation listener serializes its JSON answers with the protocol's schemas
 * (protocol/schemas/, SPEC.md §16): what it sends is exactly what a partner checks.
 */
import fastify from 'fastify'
import t from 'tap'
import { assertOfferAnswer, assertProblemDocument, RequestError, SCHEMA_NAMES } from '#protocol'
import { addProtocolSchemas, answer, problems } from '../../src/federation/answers.ts'
import { installProblemHandler } from '../../src/http/problem_handler.ts'

// spec: CW-FED-003, CW-ERR-001
t.test('answers follow the protocol schemas: members outside them are never sent', async (t) => {
  const app = fastify()
  t.teardown(() => app.close())
  installProblemHandler(app)
  addProtocolSchemas(app, ['common', 'problem', 'offer-answer'])
  const digest = 'sha256:' + 'a'.repeat(64)
  app.get('/offer', { schema: { response: { 200: answer('offer-answer'), ...problems } } }, async () => ({
    share: 's-1',
    revision: 1,
    status: 'receiving',
    needed: [digest],
    internal: 'not for the partner',
  }))
  app.get('/refused', { schema: { response: problems } }, async () => {
    throw new RequestError('CW_ERR_CONFLICT', 'conflict')
  })

  const offer = await app.inject({ method: 'GET', url: '/offer' })
  t.same(offer.json(), { share: 's-1', revision: 1, status: 'receiving', needed: [digest] })
  t.doesNotThrow(() => assertOfferAnswer(offer.json()))
  const refused = await app.inject({ method: 'GET', url: '/refused' })
  t.equal(refused.statusCode, 409)
  t.doesNotThrow(() => assertProblemDocument(refused.json()))
  t.equal(refused.json().code, 'CW_ERR_CONFLICT')
})

t.test('every answer schema the listener names exists in protocol/schemas', async (t) => {
  for (const name of ['offer-answer', 'receipt-answer', 'revocation-answer', 'health-answer', 'problem', 'control-share-answer', 'control-revision-answer']) {
    t.ok(SCHEMA_NAMES.includes(name), name)
  }
  t.throws(() => addProtocolSchemas(fastify(), ['no-such-answer']), TypeError)
})
