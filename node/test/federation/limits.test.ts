/**
 * Limits of the federation listener: request rate per partner organization (CW-FED-012) and
 * bounded bodies per endpoint (CW-FED-011).
 */
import t from 'tap'
import { PeerRefusal } from '../../src/peer/errors.ts'
import { SIGNED_OBJECT_MAX_BYTES } from '../../src/limits.ts'
import { clientFor, startTestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { rawRequest } from '../support/mtls.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

// spec: CW-FED-012
t.test('each partner organization has its own request budget; beyond it 429 CW_ERR_RATE_LIMITED with Retry-After', async (t) => {
  const node = await startTestNode(t, alpha, { limits: { rateLimit: { federationPerMinute: 3 } } })
  await node.addPartner(bravo)
  await node.addPartner(charlie)
  const healthz = `${node.url}/federation/v1/healthz`
  const asBravo = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const asCharlie = { ca: alpha.caPem, cert: charlie.identity.tls.cert, key: charlie.identity.tls.key }

  for (let i = 1; i <= 3; i += 1) t.equal((await rawRequest(healthz, asBravo)).status, 200, `bravo request ${i}`)
  const limited = await rawRequest(healthz, asBravo)
  t.equal(limited.status, 429)
  t.match(limited.headers['content-type'], /^application\/problem\+json/)
  t.match(limited.json(), { type: 'urn:caseway:problem:rate-limited', status: 429, code: 'CW_ERR_RATE_LIMITED' })
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${limited.headers['retry-after']}`)

  // Every endpoint shares the peer's budget, whatever connection it comes on.
  const offer = await rawRequest(`${node.url}/federation/v1/offers`, asBravo, {
    method: 'POST',
    headers: { 'content-type': 'application/jose' },
    body: 'a.b.c',
  })
  t.equal(offer.status, 429)
  const refusal = await clientFor(t, node, bravo)
    .sendReceipt(node.asPartner(), 'a.b.c')
    .catch((error: unknown) => error)
  t.ok(refusal instanceof PeerRefusal, 'the peer client sees a refusal')
  t.match(refusal, { code: 'CW_ERR_RATE_LIMITED', status: 429, retryable: true }, 'which it may retry later')

  // Charlie is another organization: its own budget, untouched by bravo's.
  for (let i = 1; i <= 3; i += 1) t.equal((await rawRequest(healthz, asCharlie)).status, 200, `charlie request ${i}`)
  t.equal((await rawRequest(healthz, asCharlie)).status, 429, 'until it spends it too')
})

// spec: CW-FED-012
t.test('a per-second budget instead of the minute one: 429 with Retry-After 1, served again a second later', async (t) => {
  const node = await startTestNode(t, alpha, { limits: { rateLimit: { federationPerSecond: 2 } } })
  await node.addPartner(bravo)
  const healthz = `${node.url}/federation/v1/healthz`
  const asBravo = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const answers = await Promise.all(Array.from({ length: 4 }, () => rawRequest(healthz, asBravo)))
  const limited = answers.filter((answer) => answer.status === 429)
  t.ok(
    limited.length >= 1 && answers.filter((answer) => answer.status === 200).length <= 2,
    `at most 2 a second: ${answers.map((answer) => answer.status).join(', ')}`,
  )
  t.equal(limited[0]!.headers['retry-after'], '1')
  t.match(limited[0]!.json(), { code: 'CW_ERR_RATE_LIMITED', detail: /per second/ })
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await rawRequest(healthz, asBravo)).status, 200, 'served again after Retry-After')
})

t.test('the default budget (6000 a minute) is far above a normal exchange', async (t) => {
  const node = await startTestNode(t, alpha)
  await node.addPartner(bravo)
  t.equal(node.ctx.config.limits.rateLimit.federationPerMinute, 6000)
  const asBravo = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const answers = await Promise.all(Array.from({ length: 50 }, () => rawRequest(`${node.url}/federation/v1/healthz`, asBravo)))
  t.same(new Set(answers.map((answer) => answer.status)), new Set([200]))
})

// spec: CW-FED-002, CW-FED-011
t.test('bodies are bounded per endpoint: 413 CW_ERR_TOO_LARGE before anything is parsed', async (t) => {
  const node = await startTestNode(t, alpha)
  await node.addPartner(bravo)
  const asBravo = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const jose = { 'content-type': 'application/jose' }

  const manifest = await rawRequest(`${node.url}/federation/v1/offers`, asBravo, {
    method: 'POST',
    headers: jose,
    body: Buffer.alloc(node.ctx.config.limits.manifestBytes + 1, 0x41),
  })
  t.equal(manifest.status, 413, 'a manifest over limits.manifestBytes')
  t.match(manifest.json(), { code: 'CW_ERR_TOO_LARGE', status: 413 })

  const receipt = await rawRequest(`${node.url}/federation/v1/receipts`, asBravo, {
    method: 'POST',
    headers: jose,
    body: Buffer.alloc(SIGNED_OBJECT_MAX_BYTES + 1, 0x41),
  })
  t.equal(receipt.status, 413, 'a receipt over 1 MiB')
  t.match(receipt.json(), { code: 'CW_ERR_TOO_LARGE' })

  t.equal((await node.store.inboundShares.list()).length, 0, 'nothing stored')
})

// spec: CW-ERR-001
t.test('a path the router refuses (an overlong parameter) is answered with a problem document too', async (t) => {
  const node = await startTestNode(t, alpha)
  await node.addPartner(bravo)
  const asBravo = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }
  const response = await rawRequest(`${node.url}/federation/v1/shares/${'s'.repeat(300)}/chunks/sha256:${'0'.repeat(64)}`, asBravo)
  t.equal(response.status, 400)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.match(response.json(), { code: 'CW_ERR_BAD_REQUEST', status: 400 })
  const longest = await rawRequest(`${node.url}/federation/v1/shares/${'s'.repeat(128)}/chunks/sha256:${'0'.repeat(64)}`, asBravo)
  t.equal(longest.status, 404, 'a share id of 128 characters (the longest an Id may be) is routed')
})
