/**
 * The harness's raw tools for the robustness tests: the HTTP response reader of raw
 * connections, and signing payload bytes exactly as given.
 */
import t from 'tap'
import { createOrgCa, issueSigningCertificate } from '#certs'
import { canonicalJson, verifySigned, type Signer } from '#protocol'
import { signPayloadBytes, unverifiedPayload } from '../src/raw_jws.ts'
import { parseResponse } from '../src/raw_tls.ts'

const bytes = (text: string) => Buffer.from(text, 'latin1')

t.test('a response is complete once its Content-Length body arrived', async (t) => {
  const head = 'HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/problem+json\r\nContent-Length: 11\r\n\r\n'
  t.equal(parseResponse(bytes(head + '{"code":'), false), undefined)
  const response = parseResponse(bytes(head + '{"code":"x"}trailing'), false)
  t.equal(response?.status, 413)
  t.equal(response?.headers['content-type'], 'application/problem+json')
  t.equal(response?.body.toString(), '{"code":"x"')
})

t.test('a chunked body is complete at its last chunk; interim 1xx answers are skipped', async (t) => {
  const text = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n'
  t.equal(parseResponse(bytes(text), false), undefined)
  const response = parseResponse(bytes(`${text}0\r\n\r\n`), false)
  t.equal(response?.status, 200)
  t.equal(response?.body.toString(), 'hello world')
})

t.test('without a length the body ends when the connection closes; bytes that are not HTTP are status 0', async (t) => {
  const text = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nbad'
  t.equal(parseResponse(bytes(text), false), undefined)
  t.equal(parseResponse(bytes(text), true)?.body.toString(), 'bad')
  t.equal(parseResponse(bytes('garbage\r\n\r\n'), true)?.status, 0)
  t.equal(parseResponse(bytes('HTTP/1.1 200 OK\r\nContent-'), true), undefined)
})

t.test('payload bytes signed as given verify like any signed object when they are canonical', async (t) => {
  const ca = await createOrgCa({ org: 'raw-signer', name: 'Raw signer' })
  const signing = await issueSigningCertificate(ca, { org: 'raw-signer', name: 'Raw signer' })
  const signer: Signer = { privateKey: signing.privateKey, chain: [signing.certificate.toString('pem')] }
  const now = Math.floor(Date.now() / 1000)
  const payload = { cwv: '0.1', iss: 'raw-signer', aud: 'someone', iat: now, exp: now + 60, jti: 'j1', share: 's1', revokedAt: now }
  const jws = signPayloadBytes('revocation', canonicalJson(payload), signer)
  const verified = await verifySigned('revocation', jws, {
    trustAnchors: [{ certificate: ca.certificate.toString('pem'), org: 'raw-signer' }],
    audience: 'someone',
  })
  t.same(verified.payload, payload)
  t.same(unverifiedPayload(jws), payload)
  // Any bytes at all: the nesting the protocol's own signer refuses.
  const nested = `{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`
  const deep = signPayloadBytes('manifest', nested, signer)
  t.equal(Buffer.from(deep.split('.')[1]!, 'base64url').toString(), nested)
  t.equal(unverifiedPayload('not.a-jws'), undefined)
})
