/**
 * A slow client on the federation listener: one that trickles its request headers is dropped
 * within the header timeout while other partners are served. Seconds of real waiting, so not
 * part of `npm run test:fast`.
 */
import { connect } from 'node:tls'
import t from 'tap'
import { startTestNode } from '../support/federation_node.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { rawRequest } from '../support/mtls.ts'

const [alpha, bravo, charlie] = (await createTestOrgs(['alpha', 'bravo', 'charlie'])) as [TestOrg, TestOrg, TestOrg]

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
