/**
 * The federation listener's transport (SPEC.md §5) and the peer client's server checks:
 * mutual TLS 1.3, pinned partner CAs only and never named in the CertificateRequest, the
 * peer's org from its certificate only.
 */
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import t, { type Test } from 'tap'
import { issueCertificate, issueNodeCertificate, issueSigningCertificate } from '#certs'
import { OID, orgUri } from '#protocol'
import { x509 } from '#protocol/x509'
import { PeerRefusal, PeerUnreachable } from '../../src/peer/errors.ts'
import { clientFor, HOSTS, partnerRecordOf, startTestNode, type TestNode } from '../support/federation_node.ts'
import { createTestOrg, createTestOrgs, pemOf, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { waitFor } from '../../../testkit/wait.ts'
import { rawRequest } from '../support/mtls.ts'
import { CONNECTION_REFUSED_EVENT } from '../../src/federation/connection_gate.ts'

const [alpha, bravo, charlie, mallory] = (await createTestOrgs(['alpha', 'bravo', 'charlie', 'mallory'])) as [TestOrg, TestOrg, TestOrg, TestOrg]
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

/** Why a handshake was refused, as each side saw it. */
interface Refusal {
  /** The client's error: the TLS alert the listener sent, as Node names it; `null` when the listener closed without one. */
  client: string | null
  /**
   * The listener's reason: OpenSSL's error when the handshake itself failed, or the connection
   * gate's reason when the handshake completed and the gate then closed the connection before
   * any HTTP (CW-TLS-005: `no client certificate`, or the chain's problem code).
   */
  server: string
}

/**
 * Opens a TLS connection to `target`'s listener with `tls` and sends nothing (so the listener's
 * alert, not a reset, is what the client reads), and reports why it was refused. Fails when
 * the connection is still open after a few seconds: it was accepted.
 */
async function refusal(target: TestNode, tls: ConnectionOptions): Promise<Refusal> {
  const reasons = listenerReasons(target)
  try {
    const { port } = new URL(target.url)
    const client = await new Promise<string | null>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), servername: 'localhost', ...tls })
      let error: string | null = null
      const open = setTimeout(() => {
        socket.destroy()
        reject(new Error('the listener accepted the connection'))
      }, 3000)
      socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
      socket.on('close', () => {
        clearTimeout(open)
        resolve(error)
      })
    })
    return { client, server: await reasons.next() }
  } finally {
    reasons.stop()
  }
}

/** Records why `target`'s listener refuses connections from now on (see {@link Refusal.server}). */
function listenerReasons(target: TestNode): { next(): Promise<string>; stop(): void } {
  const listener = target.server.app.server
  const seen: string[] = []
  const onClientError = (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    if (socket.authorizationError !== null && socket.authorizationError !== undefined) seen.push(String(socket.authorizationError))
    else if (error.code?.startsWith('ERR_SSL_') === true) seen.push(error.code)
    // Anything else is a client that hung up by itself (e.g. one that refused our certificate), not a refusal.
  }
  const onGateRefusal = (reason: string) => seen.push(`gate: ${reason}`)
  listener.on('tlsClientError', onClientError)
  listener.on(CONNECTION_REFUSED_EVENT, onGateRefusal)
  return {
    next: () => waitFor("the listener's reason", () => seen.shift(), { timeoutMs: 2000, intervalMs: 10 }),
    stop: () => {
      listener.off('tlsClientError', onClientError)
      listener.off(CONNECTION_REFUSED_EVENT, onGateRefusal)
    },
  }
}

// spec: CW-FED-010, CW-TLS-002, CW-TLS-003
t.test('an enabled partner with its node certificate reaches healthz', async (t) => {
  const answer = await attempt(bravoTls)
  t.equal(answer.status, 200)
  t.same(answer.body, { status: 'ok', org: 'alpha' })
})

/** What `openssl s_client` prints of the handshake with `target`'s listener, as `bravo`. */
async function opensslHandshake(t: Test, target: TestNode): Promise<string> {
  const dir = t.testdir({})
  const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
  await writeFile(certFile, bravo.identity.tls.cert)
  await writeFile(keyFile, bravo.identity.tls.key)
  const { port } = new URL(target.url)
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-cert', certFile, '-key', keyFile, '-ign_eof']
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (part: Buffer) => (output += part.toString()))
    child.on('error', reject)
    child.on('close', () => resolve(output))
    // One request, then end: s_client prints the handshake summary before it.
    child.stdin.end('GET /federation/v1/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  })
}

// spec: CW-TLS-005
t.test('the CertificateRequest names no CA, and the partner is still answered', async (t) => {
  const output = await opensslHandshake(t, node)
  t.match(output, /No client certificate CA names sent/, 'no certificate_authorities in the CertificateRequest')
  t.notMatch(output, /Acceptable client certificate CA names/)
  t.notMatch(output, /Org bravo|Org charlie/, 'no partner CA name anywhere in the handshake')
  t.match(output, /Protocol\s*: TLSv1\.3/)
  t.match(output, /"org":"alpha"/, 'the partner got its HTTP answer')
})

// spec: CW-TLS-002, CW-FED-010, CW-TLS-005
t.test('a client without a certificate is closed before any HTTP', async (t) => {
  const answer = await attempt({ ca: alpha.caPem })
  t.equal(answer.status, undefined, 'no HTTP answer at all')
  t.same(await refusal(node, { ca: alpha.caPem }), { client: null, server: 'gate: no client certificate' }, 'the gate closed the connection')
})

// spec: CW-TLS-002, CW-TRUST-004, CW-TLS-005
t.test('a client certificate from an unknown CA is closed before any HTTP', async (t) => {
  const malloryTls = { ca: alpha.caPem, cert: mallory.identity.tls.cert, key: mallory.identity.tls.key }
  const answer = await attempt(malloryTls)
  t.equal(answer.status, undefined, 'no HTTP answer at all')
  t.same(
    await refusal(node, malloryTls),
    { client: null, server: 'gate: CW_ERR_CHAIN_UNTRUSTED' },
    'its certificate chains to no pinned CA; the gate closes the connection',
  )
})

// spec: CW-TLS-001
t.test('a TLS 1.2 client fails the handshake', async (t) => {
  const answer = await attempt({ ...bravoTls, maxVersion: 'TLSv1.2' })
  t.equal(answer.status, undefined, 'no HTTP answer at all')
  t.same(
    await refusal(node, { ...bravoTls, maxVersion: 'TLSv1.2' }),
    {
      client: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      server: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
    },
    'protocol_version (alert 70)',
  )
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
  const signingTls = { ca: alpha.caPem, ...(await pemOf(signing)) }
  const answer = await attempt(signingTls)
  t.equal(answer.status, undefined, 'no HTTP answer at all')
  t.same(await refusal(node, signingTls), { client: null, server: 'gate: CW_ERR_CERT_USAGE' }, 'no clientAuth usage: the gate closes the connection')
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

// spec: CW-TLS-003, CW-TLS-002, CW-TLS-006
t.test('a disabled partner is refused with a problem document, before and after the reload', async (t) => {
  const delta = await createTestOrg('delta')
  await node.addPartner(delta)
  const deltaTls = { ca: alpha.caPem, cert: delta.identity.tls.cert, key: delta.identity.tls.key }
  t.equal((await attempt(deltaTls)).status, 200)

  // Disabled in the store, trust not reloaded yet: the handshake passes, the request does not.
  await node.store.partners.upsert(partnerRecordOf(delta, 'https://127.0.0.1:1', false))
  const refused = await attempt(deltaTls)
  t.equal(refused.status, 403)
  t.equal(refused.body?.['code'], 'CW_ERR_PARTNER_UNKNOWN')

  // After the reload its CA is still pinned (a partner is disabled, never forgotten): the same answer.
  await node.server.reloadTrust()
  const still = await attempt(deltaTls)
  t.equal(still.status, 403)
  t.equal(still.body?.['code'], 'CW_ERR_PARTNER_UNKNOWN')
  // The reload keeps TLS 1.3 only and the other partners.
  t.equal((await attempt({ ...bravoTls, maxVersion: 'TLSv1.2' })).status, undefined)
  t.same(await refusal(node, { ...bravoTls, maxVersion: 'TLSv1.2' }), {
    client: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    server: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
  })
  t.equal((await attempt(bravoTls)).status, 200)
})

// spec: CW-TLS-002
t.test('an unknown path answers a problem document, only to a partner', async (t) => {
  const answer = await attempt(bravoTls, `${node.url}/local/v1/cases`)
  t.equal(answer.status, 404)
  t.equal(answer.body?.['code'], 'CW_ERR_NOT_FOUND')
  t.equal((await attempt({ ca: alpha.caPem }, `${node.url}/local/v1/cases`)).status, undefined, 'no answer without a certificate')
  t.same(await refusal(node, { ca: alpha.caPem }), { client: null, server: 'gate: no client certificate' })
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
  await t.rejects(client.offer(asCharlie, 'x.y.z'), { name: 'PeerUnreachable', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
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
  await t.rejects(client.offer({ ...partnerRecordOf(mallory, node.url), org: 'alpha' }, 'x.y.z'), {
    name: 'PeerUnreachable',
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  })
})

// spec: CW-TLS-003, CW-ERR-001
t.test("the peer client turns the partner's problem document into a PeerRefusal", async (t) => {
  const client = clientFor(t, node, mallory)
  // mallory is not a partner of alpha: the listener refuses its certificate, which is retryable.
  const reasons = listenerReasons(node)
  t.teardown(() => reasons.stop())
  const unreachable = await client.offer(node.asPartner(), 'x.y.z').catch((e: unknown) => e)
  t.ok(unreachable instanceof PeerUnreachable)
  t.equal(await reasons.next(), 'gate: CW_ERR_CHAIN_UNTRUSTED', "the listener refused mallory's certificate")
  t.equal((unreachable as PeerUnreachable).retryable, true)

  const fromBravo = clientFor(t, node, bravo)
  const refusal = await fromBravo.offer(node.asPartner(), 'not-a-jws').catch((e: unknown) => e)
  t.ok(refusal instanceof PeerRefusal)
  t.match(refusal, { code: 'CW_ERR_MALFORMED', status: 400, peerOrg: 'alpha', retryable: false })
})
