/**
 * The harness client and rate limits (CW-FED-012): a `429` is waited out for `Retry-After`
 * (bounded) and the request sent again, counted for the report; a test that must see the 429
 * asks for no retry.
 */
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createOrgCa, issueNodeCertificate, privateKeyToPem } from '#certs'
import { RETRY_POLICY, retryDelayMs, RetryCounter, TargetClient } from '../src/client.ts'
import type { Target } from '../src/target.ts'

t.test('Retry-After in integer seconds, 1 s when absent or not seconds, bounded to 0.25..10 s', async (t) => {
  t.equal(retryDelayMs('2'), 2000)
  t.equal(retryDelayMs(' 3 '), 3000)
  t.equal(retryDelayMs(undefined), 1000)
  t.equal(retryDelayMs('Wed, 21 Oct 2026 07:28:00 GMT'), 1000)
  t.equal(retryDelayMs('0'), 250)
  t.equal(retryDelayMs('3600'), RETRY_POLICY.maxWaitMs)
})

t.test('a 429 is retried after Retry-After and counted; retryRateLimited false returns it', async (t) => {
  const ca = await createOrgCa({ org: 'rl-target', name: 'Rate-limited target' })
  const tls = await issueNodeCertificate(ca, { org: 'rl-target', name: 'Rate-limited target', hosts: ['127.0.0.1'] })
  let limitedLeft = 0
  let requests = 0
  const server = createServer({ key: await privateKeyToPem(tls.privateKey), cert: tls.certificate.toString('pem') }, (_request, response) => {
    requests += 1
    if (limitedLeft > 0) {
      limitedLeft -= 1
      response.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '1' }).end('{"code":"CW_ERR_RATE_LIMITED"}')
    } else {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const caPem = ca.certificate.toString('pem')
  const target = {
    org: 'rl-target',
    name: 'Rate-limited target',
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caPem,
    anchor: { certificate: caPem, org: 'rl-target' },
  } as Target
  const counter = new RetryCounter()
  const client = new TargetClient(target, { name: 'harness' }, counter)
  t.teardown(() => client.close())

  limitedLeft = 2
  const started = Date.now()
  const answer = await client.send('/federation/v1/healthz')
  t.equal('status' in answer && answer.status, 200, 'served after two 429s')
  t.equal(requests, 3)
  t.ok(Date.now() - started >= 1900, 'waited Retry-After each time')
  t.same({ retries: counter.retries, waitedMs: counter.waitedMs, exhausted: counter.exhausted }, { retries: 2, waitedMs: 2000, exhausted: 0 })

  limitedLeft = 1
  const raw = await client.send('/federation/v1/healthz', { retryRateLimited: false })
  t.equal('status' in raw && raw.status, 429, 'the 429 itself when the test asks for it')
  t.equal(counter.retries, 2, 'not counted as a retry')

  // A streamed body is made again for the retry.
  limitedLeft = 1
  let made = 0
  const streamed = await client.send('/federation/v1/offers', {
    method: 'POST',
    contentType: 'application/jose',
    body: () => {
      made += 1
      return (async function* () {
        yield Buffer.from('a.b.c')
      })()
    },
  })
  t.equal('status' in streamed && streamed.status, 200)
  t.equal(made, 2, 'the body stream made once per attempt')
})
