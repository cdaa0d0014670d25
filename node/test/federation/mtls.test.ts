/**
 * The federation listener's transport (SPEC.md §5) and the peer client's server checks:
 * mutual TLS 1.3, pinned partner CAs only, the peer's org from its certificate only.
 */
import { createServer } from 'node:https'
import { connect } from 'node:tls'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { issueCertificate, issueNodeCertificate, issueSigningCertificate } from '#certs'
import { OID, orgUri } from '#protocol'
import { x509 } from '#protocol/x509'
import { PeerRefusal, PeerUnreachable } from '../../src/peer/errors.ts'
import { clientFor, createTestOrg, HOSTS, partnerRecordOf, pemOf, startTestNode } from './helpers/fixture.ts'
import { rawRequest } from './helpers/https.ts'

const [alpha, bravo, charlie, mallory] = await Promise.all(['alpha', 'bravo', 'charlie', 'mallory'].map(createTestOrg)) as [
  Awaited<ReturnType<typeof createTestOrg>>,
  Awaited<ReturnType<typeof createTestOrg>>,
  Awaited<ReturnType<typeof createTestOrg>>,
  Awaited<ReturnType<typeof createTestOrg>>,
]
const node = await startTestNode(t, alpha)
await node.addPartner(bravo)
await node.addPartner(charlie)
const healthz = `${node.url}/federation/v1/healthz`
const bravoTls = { ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key }

/** The error a TLS attempt ends with (a refused handshake), or the HTTP answer when there was one. */
async function attempt(tls: Parameters<typeof rawRequest>[1], url = healthz): Promise<{ code?: string; status?: number; body?: Record<string, unknown> }> {
  try {
    const response = await rawRequest(url, tls)
    return { status: response.status, body: response.json() }
  } catch (error) {
    // The code and the message: Node reports some alerts only as EPROTO plus OpenSSL's text.
    return { code: `${(error as { code?: string }).code ?? 'unknown'} ${(error as Error).message}` }
  }
}

// spec: CW-FED-010, CW-TLS-002, CW-TLS-003
t.test('an enabled partner with its node certificate reaches healthz', async (t) => {
  const answer = await attempt(bravoTls)
  t.equal(answer.status, 200)
  t.same(answer.body, { status: 'ok', org: 'alpha' })
})

// spec: CW-TLS-002, CW-FED-010
t.test('a client without a certificate fails the handshake', async (t) => {
  const answer = await attempt({ ca: alpha.caPem })
  t.equal(answer.status, undefined, 'no HTTP answer at all')
  t.match(answer.code, /CERTIFICATE_REQUIRED|ECONNRESET|EPIPE/)
})

// spec: CW-TLS-002, CW-TRUST-004
t.test('a client certificate from an unknown CA fails the handshake', async (t) => {
  const answer = await attempt({ ca: alpha.caPem, cert: mallory.identity.tls.cert, key: mallory.identity.tls.key })
  t.equal(answer.status, undefined)
  t.match(answer.code, /UNKNOWN_CA|ECONNRESET|EPIPE/)
})

// spec: CW-TLS-001
t.test('a TLS 1.2 client fails the handshake', async (t) => {
  const answer = await attempt({ ...bravoTls, maxVersion: 'TLSv1.2' })
  t.equal(answer.status, undefined)
  t.match(answer.code, /PROTOCOL_VERSION|protocol version/)
})

// spec: CW-TLS-003, CW-TRUST-005, CW-ID-006
t.test("a certificate from partner bravo's CA naming charlie does not speak for charlie", async (t) => {
  const forged = await issueNodeCertificate(bravo.ca, { org: 'charlie', name: 'Org charlie', hosts: [...HOSTS] })
  const answer = await attempt({ ca: alpha.caPem, ...(await pemOf(forged)) })
  t.equal(answer.status, 403)
  t.equal(answer.body?.['code'], 'CW_ERR_PARTNER_UNKNOWN')
})

// spec: CW-TLS-002, CW-ID-004
t.test('a signing certificate cannot authenticate a connection', async (t) => {
  const signing = await issueSigningCertificate(bravo.ca, { org: 'bravo', name: 'Org bravo' })
  const answer = await attempt({ ca: alpha.caPem, ...(await pemOf(signing)) })
  if (answer.status === undefined) t.pass('refused during the handshake')
  else t.equal(answer.body?.['code'], 'CW_ERR_PARTNER_UNKNOWN')
})

// spec: CW-ID-006, CW-TLS-003
t.test('a certificate naming two organizations is refused', async (t) => {
  const two = await issueCertificate(bravo.ca, {
    subject: 'CN=127.0.0.1, O=Org bravo',
    uris: [orgUri('bravo'), orgUri('charlie')],
    hosts: [...HOSTS],
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extendedKeyUsage: [OID.serverAuth, OID.clientAuth],
  })
  const answer = await attempt({ ca: alpha.caPem, ...(await pemOf(two)) })
  t.equal(answer.status, 403)
  t.equal(answer.body?.['code'], 'CW_ERR_PARTNER_UNKNOWN')
})

// spec: CW-TLS-003, CW-TLS-002
t.test('a disabled partner is refused, then no longer trusted at all', async (t) => {
  const delta = await createTestOrg('delta')
  await node.addPartner(delta)
  const deltaTls = { ca: alpha.caPem, cert: delta.identity.tls.cert, key: delta.identity.tls.key }
  t.equal((await attempt(deltaTls)).status, 200)

  // Disabled in the store, trust not reloaded yet: the handshake passes, the request does not.
  await node.store.upsertPartner(partnerRecordOf(delta, 'https://127.0.0.1:1', false))
  const refused = await attempt(deltaTls)
  t.equal(refused.status, 403)
  t.equal(refused.body?.['code'], 'CW_ERR_PARTNER_UNKNOWN')

  // After the reload its CA is gone from the listener: the handshake fails.
  await node.server.reloadTrust()
  const dropped = await attempt(deltaTls)
  t.equal(dropped.status, undefined)
  t.match(dropped.code, /UNKNOWN_CA|ECONNRESET|EPIPE/)
  // The reload keeps TLS 1.3 only and the other partners.
  t.equal((await attempt({ ...bravoTls, maxVersion: 'TLSv1.2' })).status, undefined)
  t.equal((await attempt(bravoTls)).status, 200)
})

// spec: CW-TLS-002
t.test('an unknown path answers a problem document, only to a partner', async (t) => {
  const answer = await attempt(bravoTls, `${node.url}/local/v1/cases`)
  t.equal(answer.status, 404)
  t.equal(answer.body?.['code'], 'CW_ERR_NOT_FOUND')
  t.equal((await attempt({ ca: alpha.caPem }, `${node.url}/local/v1/cases`)).status, undefined)
})

// spec: CW-TLS-004
t.test('the peer client reaches a partner whose server certificate names it', async (t) => {
  const client = clientFor(t, node, bravo)
  t.match(await client.fetchChunk(node.asPartner(), 's', 'sha256:00').catch((e: unknown) => e), { name: 'PeerRefusal', code: 'CW_ERR_NOT_FOUND', status: 404 })
  // The listener answered (so TLS passed both ways): the bogus receipt is refused there.
  const refusal = await client.sendReceipt(node.asPartner(), 'x.y.z').catch((e: unknown) => e)
  t.match(refusal, { name: 'PeerRefusal', code: 'CW_ERR_MALFORMED', status: 400 })
})

// spec: CW-TLS-004
t.test('the peer client refuses a server certificate that does not name the partner', async (t) => {
  // A server with a certificate from alpha's CA that names charlie: right CA, wrong org.
  const rogue = await issueNodeCertificate(alpha.ca, { org: 'charlie', name: 'Org charlie', hosts: [...HOSTS] })
  const { cert, key } = await pemOf(rogue)
  const server = createServer({ cert, key, minVersion: 'TLSv1.3' }, (_req, res) => res.end('{}'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = clientFor(t, node, bravo)

  const error = await client.offer(partnerRecordOf(alpha, endpoint), 'x.y.z').then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(error instanceof PeerUnreachable, 'no request was sent')
  t.equal((error as PeerUnreachable).code, 'CW_ERR_CHAIN_UNTRUSTED')

  // The same server is refused when the client expects charlie under alpha's CA, too: charlie's CA is not alpha's.
  const asCharlie = { ...partnerRecordOf(charlie, endpoint) }
  await t.rejects(client.offer(asCharlie, 'x.y.z'), { code: /UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/ })
})

// spec: CW-TLS-004, CW-TRUST-004
t.test('the peer client refuses a host-name mismatch and an unpinned CA', async (t) => {
  const elsewhere = await issueNodeCertificate(alpha.ca, { org: 'alpha', name: 'Org alpha', hosts: ['alpha.example'] })
  const { cert, key } = await pemOf(elsewhere)
  const server = createServer({ cert, key, minVersion: 'TLSv1.3' }, (_req, res) => res.end('{}'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = clientFor(t, node, bravo)

  await t.rejects(client.offer(partnerRecordOf(alpha, endpoint), 'x.y.z'), { name: 'PeerUnreachable', code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  // alpha's real listener, but pinned to mallory's CA: not trusted, whatever the system roots say.
  await t.rejects(client.offer({ ...partnerRecordOf(mallory, node.url), org: 'alpha' }, 'x.y.z'), { name: 'PeerUnreachable' })
})

// spec: CW-TLS-003, CW-ERR-001
t.test("the peer client turns the partner's problem document into a PeerRefusal", async (t) => {
  const client = clientFor(t, node, mallory)
  // mallory is not a partner of alpha: the handshake fails, which is retryable.
  const unreachable = await client.offer(node.asPartner(), 'x.y.z').catch((e: unknown) => e)
  t.ok(unreachable instanceof PeerUnreachable)
  t.equal((unreachable as PeerUnreachable).retryable, true)

  const fromBravo = clientFor(t, node, bravo)
  const refusal = await fromBravo.offer(node.asPartner(), 'not-a-jws').catch((e: unknown) => e)
  t.ok(refusal instanceof PeerRefusal)
  t.match(refusal, { code: 'CW_ERR_MALFORMED', status: 400, peerOrg: 'alpha', retryable: false })
})

// spec: CW-FED-011
t.test('a client that sends its headers too slowly is dropped while other partners are served', async (t) => {
  const strict = await startTestNode(t, alpha, { requestTimeoutMs: 1000 })
  await strict.addPartner(bravo)
  await strict.addPartner(charlie)
  const { port } = new URL(strict.url)
  const started = Date.now()
  const slow = connect({ host: '127.0.0.1', port: Number(port), ca: alpha.caPem, cert: bravo.identity.tls.cert, key: bravo.identity.tls.key })
  const closed = new Promise<string>((resolve) => {
    let answer = ''
    slow.on('data', (data: Buffer) => (answer += data.toString('latin1')))
    slow.on('error', () => undefined)
    slow.on('close', () => resolve(answer))
  })
  await new Promise<void>((resolve) => slow.once('secureConnect', () => resolve()))
  // Headers that never end.
  slow.write('GET /federation/v1/healthz HTTP/1.1\r\nHost: alpha\r\n')
  const trickle = setInterval(() => slow.write('X-Slow: 1\r\n'), 200)
  t.teardown(() => clearInterval(trickle))

  const other = await rawRequest(`${strict.url}/federation/v1/healthz`, { ca: alpha.caPem, cert: charlie.identity.tls.cert, key: charlie.identity.tls.key })
  t.equal(other.status, 200, 'another partner is served meanwhile')
  const answer = await Promise.race([closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000).unref())])
  clearInterval(trickle)
  slow.destroy()
  t.ok(answer !== undefined && Date.now() - started < 5000, 'dropped within a few seconds')
  t.notMatch(answer ?? '', /^HTTP\/1\.1 200/, 'the slow request was never served')
})
