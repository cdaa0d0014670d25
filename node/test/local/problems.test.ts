/**
 * Client errors that carry no fastify code we know are still answered with their own status
 * as a problem document: a 413 is `CW_ERR_TOO_LARGE` (as the README promises for the local
 * API), never a 400 or a 500.
 */
import fastify from 'fastify'
import t from 'tap'
import { asCasewayError, installProblemHandler } from '../../src/http/problem_handler.ts'

/** What body-reading libraries (raw-body, http-errors) throw: a status, no fastify code. */
const clientError = (status: number, message: string) => Object.assign(new Error(message), { status, statusCode: status, expose: true })

t.test('a 413 from a body parser is 413 CW_ERR_TOO_LARGE', async (t) => {
  const app = fastify({ logger: false })
  t.teardown(() => app.close())
  installProblemHandler(app)
  app.addContentTypeParser('application/x-caseway-test', (_request, _payload, done) => done(clientError(413, 'request entity too large'), undefined))
  app.post('/upload', async () => ({ stored: true }))
  const response = await app.inject({ method: 'POST', url: '/upload', headers: { 'content-type': 'application/x-caseway-test' }, payload: 'x' })
  t.equal(response.statusCode, 413)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.match(response.json(), { code: 'CW_ERR_TOO_LARGE', status: 413, detail: 'request too large' })
})

t.test('other client statuses keep their meaning; anything else is internal', async (t) => {
  for (const [status, code] of [
    [413, 'CW_ERR_TOO_LARGE'],
    [415, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE'],
    [400, 'CW_ERR_BAD_REQUEST'],
    [414, 'CW_ERR_BAD_REQUEST'],
  ] as const) {
    const { error, internal } = asCasewayError(clientError(status, 'from somewhere'))
    t.equal(error.code, code, `${status}`)
    t.equal(internal, false)
  }
  t.same(asCasewayError(clientError(418, 'teapot')).internal, true)
  t.same(asCasewayError(new Error('boom')).error.code, 'CW_ERR_INTERNAL')
  // fastify's own code still wins, with its message.
  t.match(asCasewayError(Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })).error, {
    code: 'CW_ERR_TOO_LARGE',
    message: 'Request body is too large',
  })
})
