/**
 * Robustness (SPEC.md CW-FMT-005, CW-FED-002, CW-FED-011, CW-FED-012): oversized bodies, JSON
 * nested absurdly deep, clients that trickle or send garbage, many connections at once, and a
 * flood of requests. After each, the target must still answer the harness's next valid request.
 *
 * The rate-limit test is the last of the group and of the suite: it spends the harness's
 * request budget.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { assertHealthAnswer, canonicalJson, FEDERATION_PATHS, SLOW_CLIENT_BOUND_SECONDS, type ProblemCode } from '#protocol'
import { check, expectProblem, expectShape, expectStatus, fail, jsonOf } from '../check.ts'
import type { ClientIdentity } from '../client.ts'
import { describeExchange, type Exchange, type TransportFailure } from '../exchange.ts'
import { expectTooLarge, OVER_MANIFEST_LIMIT, OVER_OBJECT_LIMIT } from '../oversized.ts'
import { signPayloadBytes } from '../raw_jws.ts'
import { RawConnection, requestHead } from '../raw_tls.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

/** Beyond the bound of CW-FED-011, how long the slow-client test allows the target's deadline checks. */
const SLOW_CLIENT_GRACE_SECONDS = 5
/** Nesting depth of the deep-JSON tests. */
const DEPTH = 100_000

function harnessIdentity(ctx: TestContext): ClientIdentity {
  return { name: ctx.harness.main.org, cert: ctx.harness.main.tls.cert, key: ctx.harness.main.tls.key }
}

/** The target still answers EP-4 to the harness (after `what`). */
async function expectAlive(ctx: TestContext, what: string): Promise<void> {
  const answer = expectStatus(
    await ctx.client.send(FEDERATION_PATHS.healthz, { note: `health after ${what}` }),
    [200],
    `(the target still serving after ${what})`,
  )
  const health = expectShape(jsonOf(answer), assertHealthAnswer, 'a health answer', answer.request)
  check(health.org === ctx.target.org, `org ${ctx.target.org}`, `org ${health.org}`, answer.request)
}

/** A compact JWS-shaped string: three base64url segments. */
const compact = (header: string, payload: string, signature: Buffer) =>
  `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}.${signature.toString('base64url')}`

/** Retry-After as integer seconds (RFC 9110 also allows an HTTP date; CW-FED-012 says seconds). */
function retryAfterSeconds(answer: Exchange): number | undefined {
  const value = answer.headers['retry-after']
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined
}

export const ROBUSTNESS_TESTS: ConformanceTest[] = [
  {
    id: 'robustness.oversized-offer-declared',
    title: 'An EP-1 body declared larger than 64 MiB is refused 413 CW_ERR_TOO_LARGE and the target keeps serving',
    group: 'robustness',
    spec: ['CW-FMT-005', 'CW-FED-002', 'CW-FED-011', 'CW-FED-013'],
    async run(ctx) {
      await expectTooLarge(ctx, { path: FEDERATION_PATHS.offers, size: OVER_MANIFEST_LIMIT, mode: 'declared' })
      await expectAlive(ctx, 'an oversized offer')
    },
  },
  {
    id: 'robustness.oversized-offer-chunked',
    title: 'An EP-1 body streamed without a length past 64 MiB is refused 413 CW_ERR_TOO_LARGE and the target keeps serving',
    group: 'robustness',
    spec: ['CW-FMT-005', 'CW-FED-002', 'CW-FED-011', 'CW-FED-013'],
    async run(ctx) {
      await expectTooLarge(ctx, { path: FEDERATION_PATHS.offers, size: OVER_MANIFEST_LIMIT, mode: 'chunked' })
      await expectAlive(ctx, 'an oversized chunked offer')
    },
  },
  {
    id: 'robustness.oversized-receipt-and-revocation',
    title: 'EP-3 and EP-5 bodies larger than 4 MiB are refused 413 CW_ERR_TOO_LARGE',
    group: 'robustness',
    spec: ['CW-FMT-005', 'CW-FED-011', 'CW-FED-013'],
    async run(ctx) {
      for (const path of [FEDERATION_PATHS.receipts, FEDERATION_PATHS.revocations]) {
        for (const mode of ['declared', 'chunked'] as const) {
          await expectTooLarge(ctx, { path, size: OVER_OBJECT_LIMIT, mode })
          await expectAlive(ctx, `an oversized body on ${path}`)
        }
      }
    },
  },
  {
    id: 'robustness.deep-json-header',
    title: 'A JWS whose protected header is 100,000 nested arrays is refused CW_ERR_MALFORMED',
    group: 'robustness',
    spec: ['CW-SIG-001', 'CW-FED-011'],
    async run(ctx) {
      const jws = compact('['.repeat(DEPTH) + ']'.repeat(DEPTH), '{}', randomBytes(64))
      expectProblem(await ctx.offer(jws, `protected header: ${DEPTH} nested arrays`), 'CW_ERR_MALFORMED')
      await expectAlive(ctx, 'a deeply nested header')
    },
  },
  {
    id: 'robustness.deep-json-payload',
    title: 'A correctly signed manifest nesting 100,000 levels deep is refused without a trace and the target keeps serving',
    group: 'robustness',
    spec: ['CW-FMT-004', 'CW-FED-001', 'CW-FED-011'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 1024 }] })
      const manifest = await share.manifest()
      const marker = `deep-${randomBytes(8).toString('hex')}`
      const broken = structuredClone(manifest)
      broken.case.fields.summary = marker
      // Canonical JSON with the marker string replaced by the nesting: still canonical, genuinely signed.
      const payload = canonicalJson(broken).replace(JSON.stringify(marker), '['.repeat(DEPTH) + ']'.repeat(DEPTH))
      const jws = signPayloadBytes('manifest', payload, ctx.harness.main.signer)
      const codes: ProblemCode[] = ['CW_ERR_MALFORMED', 'CW_ERR_SCHEMA_INVALID']
      const refusal = expectProblem(await ctx.offer(jws, `signed manifest, case.fields.summary nested ${DEPTH} arrays deep`), codes)
      ctx.note(`refused ${refusal.code}`)
      await expectAlive(ctx, 'a deeply nested signed manifest')
      // Nothing of it was kept: the valid manifest with the same share id and jti is a fresh acceptance.
      expectStatus(
        await ctx.offer(await share.sign(manifest), 'the valid manifest with the same share id and jti'),
        [202],
        '(a fresh acceptance: the refused one left no trace)',
      )
      share.offered(manifest)
    },
  },
  {
    id: 'robustness.slow-headers',
    title: `A client trickling its request headers a byte a second is cut off within ${SLOW_CLIENT_BOUND_SECONDS} s while other requests are served`,
    group: 'robustness',
    spec: ['CW-FED-011'],
    async run(ctx) {
      // SPEC.md CW-FED-011 bounds it; a few seconds more for the target's deadline checks and the network.
      const budgetMs = (SLOW_CLIENT_BOUND_SECONDS + SLOW_CLIENT_GRACE_SECONDS) * 1000
      const connection = await RawConnection.open(ctx.target, harnessIdentity(ctx))
      try {
        // Longer than the budget at a byte a second: the target must not wait for its end.
        const head = requestHead(ctx.target, 'GET', FEDERATION_PATHS.healthz, { 'X-Conformance-Pad': 'a'.repeat(Math.ceil(budgetMs / 1000) + 30) })
        const started = Date.now()
        let sent = 0
        let meanwhile: Promise<Exchange | TransportFailure> | undefined
        while (!connection.closed && Date.now() - started < budgetMs && sent < head.length) {
          if (!(await connection.write(head[sent]!))) break
          sent += 1
          if (sent === 3) meanwhile = ctx.client.send(FEDERATION_PATHS.healthz, { note: 'health on another connection while one trickles' })
          await connection.waitClosed(1000)
        }
        if (meanwhile !== undefined) expectStatus(await meanwhile, [200], '(another peer served while a client trickles)')
        if (!connection.closed)
          fail(
            `the slow connection closed within ${SLOW_CLIENT_BOUND_SECONDS} s (CW-FED-011; ${budgetMs / 1000} s allowed)`,
            `still open after ${((Date.now() - started) / 1000).toFixed(0)} s and ${sent} bytes`,
          )
        const answer = connection.response()
        ctx.note(
          `slow connection closed after ${((connection.closedAt! - started) / 1000).toFixed(1)} s and ${sent} bytes${answer === undefined ? '' : ` (answered ${answer.status} first)`}`,
        )
        if (answer !== undefined)
          check(answer.status === 408 || answer.status === 400 || answer.status === 0, 'no answer, 408 or 400 to an incomplete request', `${answer.status}`)
      } finally {
        connection.destroy()
      }
      await expectAlive(ctx, 'a slow client')
    },
  },
  {
    id: 'robustness.garbage-after-handshake',
    title: 'Bytes that are not HTTP after the TLS handshake get the connection closed or a 400, and the target keeps serving',
    group: 'robustness',
    spec: ['CW-FED-011'],
    async run(ctx) {
      const connection = await RawConnection.open(ctx.target, harnessIdentity(ctx))
      try {
        await connection.write(Buffer.concat([Buffer.from([0x00, 0xff, 0x16, 0x03, 0x01]), randomBytes(2048), Buffer.from('\r\n\r\n')]))
        const answer = await connection.settle(ctx.settings.waitMs)
        if (answer === undefined && !connection.closed) fail('the connection closed or answered 400', `neither within ${ctx.settings.waitMs / 1000} s`)
        if (answer !== undefined && answer.status !== 0)
          check(answer.status === 400, 'the connection closed or answered 400', `answered ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`)
        ctx.note(answer === undefined || answer.status === 0 ? 'connection closed without an answer' : `answered ${answer.status}`)
      } finally {
        connection.destroy()
      }
      await expectAlive(ctx, 'garbage on a connection')
    },
  },
  {
    id: 'robustness.concurrent-connections',
    title: 'Fifty connections at once each get their health answer (or a rate-limited one)',
    group: 'robustness',
    spec: ['CW-FED-011', 'CW-FED-010'],
    async run(ctx) {
      const count = 50
      let limited = 0
      const results = await Promise.all(
        Array.from({ length: count }, async (_, index) => {
          let connection: RawConnection | undefined
          try {
            connection = await RawConnection.open(ctx.target, harnessIdentity(ctx), ctx.settings.waitMs)
            await connection.write(requestHead(ctx.target, 'GET', FEDERATION_PATHS.healthz, { Connection: 'close' }))
            const answer = await connection.settle(ctx.settings.waitMs)
            if (answer === undefined) return `#${index}: ${connection.closed ? 'closed without an answer' : 'no answer'}`
            // A rate-limited answer is an answer (CW-FED-012 allows it on any endpoint).
            if (answer.status === 429 && answer.body.toString('utf8').includes('CW_ERR_RATE_LIMITED')) {
              limited += 1
              return undefined
            }
            if (answer.status !== 200) return `#${index}: ${answer.status} ${answer.body.toString('utf8').slice(0, 120)}`
            const org = (JSON.parse(answer.body.toString('utf8')) as { org?: unknown }).org
            return org === ctx.target.org ? undefined : `#${index}: org ${String(org)}`
          } catch (error) {
            return `#${index}: ${(error as Error).message}`
          } finally {
            connection?.destroy()
          }
        }),
      )
      const failures = results.filter((result) => result !== undefined)
      check(
        failures.length === 0,
        `${count} health answers 200 naming ${ctx.target.org} (or 429 CW_ERR_RATE_LIMITED)`,
        `${failures.length} failed: ${failures.slice(0, 5).join('; ')}`,
      )
      if (limited > 0) ctx.note(`${limited} of ${count} answered 429 CW_ERR_RATE_LIMITED (the target's rate limit)`)
      await expectAlive(ctx, `${count} concurrent connections`)
    },
  },
  {
    // Last of the suite: it spends the harness's request budget.
    id: 'robustness.rate-limit',
    title: 'Requests over a rate limit are answered 429 CW_ERR_RATE_LIMITED with Retry-After, and served again after it',
    group: 'robustness',
    spec: ['CW-FED-012'],
    async run(ctx) {
      const budget = 5000
      const concurrency = 16
      let issued = 0
      const limited: { answer: Exchange; at: number; retryAfter: number | undefined }[] = []
      let unexpected: Exchange | TransportFailure | undefined
      const started = Date.now()
      const worker = async () => {
        while (issued < budget && limited.length === 0 && unexpected === undefined) {
          issued += 1
          const answer = await ctx.client.send(FEDERATION_PATHS.healthz, { note: 'health, as fast as possible', retryRateLimited: false })
          if ('status' in answer && answer.status === 200) continue
          if ('status' in answer && answer.status === 429) limited.push({ answer, at: Date.now(), retryAfter: retryAfterSeconds(answer) })
          else unexpected ??= answer
        }
      }
      await Promise.all(Array.from({ length: concurrency }, worker))
      if (unexpected !== undefined) {
        if (!('status' in unexpected))
          fail('200 or 429 to every health request', `no HTTP answer: ${unexpected.code} ${unexpected.message}`, unexpected.request)
        fail('200 or 429 to every health request', describeExchange(unexpected), unexpected.request)
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      if (limited.length === 0) {
        ctx.note(`no rate limit observed within ${budget.toLocaleString('en')} requests (${seconds} s; limits are optional, CW-FED-012)`)
        return
      }
      const first = limited[0]!
      expectProblem(first.answer, 'CW_ERR_RATE_LIMITED')
      for (const { answer, retryAfter } of limited) {
        check(retryAfter !== undefined, 'a Retry-After header in integer seconds on every 429', `Retry-After: ${answer.headers['retry-after']}`, answer.request)
      }
      const resumeAt = Math.max(...limited.map(({ at, retryAfter }) => at + retryAfter! * 1000))
      ctx.note(`first 429 after ${issued} requests in ${seconds} s; Retry-After ${first.retryAfter} s`)
      if (resumeAt - Date.now() > 150_000) {
        ctx.note(`Retry-After too long to wait for here (${first.retryAfter} s): the answer after it is not checked`)
        return
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, resumeAt - Date.now())))
      const after = await ctx.client.send(FEDERATION_PATHS.healthz, { note: 'health after waiting Retry-After' })
      expectStatus(after, [200], '(after waiting Retry-After)')
    },
  },
]
