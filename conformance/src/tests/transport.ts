/**
 * Transport (SPEC.md §5, §3): TLS 1.3 only, a client certificate chained to a pinned
 * partner CA and naming an enabled partner, the server's own certificate profile.
 *
 * @module
 */
import { checkPartnerBundle, FEDERATION_PATHS, verifyChain, assertHealthAnswer, type ProblemCode } from '#protocol'
import { x509 } from '#protocol/x509'
import { check, expectShape, expectStatus, fail, jsonOf } from '../check.ts'
import { TargetClient, type ClientIdentity } from '../client.ts'
import { describeExchange } from '../exchange.ts'
import { wrongIdentities, type WrongIdentities } from '../identities.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'
import { probeTls } from '../tls_probe.ts'

/** Codes a node may answer a refused client certificate with, when it answers at all. */
const REFUSED: readonly ProblemCode[] = [
  'CW_ERR_PARTNER_UNKNOWN',
  'CW_ERR_UNAUTHENTICATED',
  'CW_ERR_CHAIN_UNTRUSTED',
  'CW_ERR_CERT_EXPIRED',
  'CW_ERR_CERT_USAGE',
  'CW_ERR_CERT_ORG_INVALID',
  'CW_ERR_FORBIDDEN',
]

/** Transport failures that mean the target was never reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])

/** Made once per harness (key generation takes a moment). */
const identities = new WeakMap<TestContext['harness'], Promise<WrongIdentities>>()
function wrong(ctx: TestContext): Promise<WrongIdentities> {
  let made = identities.get(ctx.harness)
  if (made === undefined) {
    made = wrongIdentities(ctx.harness, ctx.target.org, [new URL(ctx.harness.file.endpoint).hostname.replace(/^\[|\]$/g, '')])
    identities.set(ctx.harness, made)
  }
  return made
}

/**
 * A request to EP-4 as `identity` must not reach the endpoint: the handshake fails, the
 * connection is closed, or the answer is a refusal (never a 2xx).
 */
async function expectRefused(ctx: TestContext, identity: ClientIdentity, note: string, codes: readonly ProblemCode[] = REFUSED): Promise<void> {
  const client = new TargetClient(ctx.target, identity, ctx.client.retries)
  try {
    const answer = await client.send(FEDERATION_PATHS.healthz, { note })
    if (!('status' in answer)) {
      // A target that cannot be reached at all proves nothing about its certificate checks.
      if (UNREACHABLE.has(answer.code)) fail('the target reached, then the client refused', `${answer.code}: ${answer.message}`, answer.request)
      ctx.note(`refused during the TLS handshake or connection: ${answer.code}`)
      return
    }
    if (answer.status < 400) fail('the request refused (TLS handshake failure, or a 401/403 problem document)', describeExchange(answer), answer.request)
    const body = jsonOf(answer) as { code?: unknown }
    check(
      typeof body.code === 'string' && (codes as readonly string[]).includes(body.code),
      `a refusal with one of ${codes.join(', ')}`,
      describeExchange(answer),
      answer.request,
    )
  } finally {
    await client.close()
  }
}

export const TRANSPORT_TESTS: ConformanceTest[] = [
  {
    id: 'transport.partner-healthz',
    title: 'An enabled partner with a valid certificate reaches EP-4 and learns the target org',
    group: 'transport',
    spec: ['CW-TLS-002', 'CW-TLS-003', 'CW-FED-010'],
    async run(ctx) {
      const answer = expectStatus(await ctx.client.send(FEDERATION_PATHS.healthz, { note: 'health as the harness partner' }), [200])
      const health = expectShape(jsonOf(answer), assertHealthAnswer, 'a health answer', answer.request)
      check(health.org === ctx.target.org, `org "${ctx.target.org}"`, `org "${health.org}"`, answer.request)
    },
  },
  {
    id: 'transport.tls13-and-server-certificate',
    title: 'The listener negotiates TLS 1.3 and presents a node certificate naming the target org',
    group: 'transport',
    spec: ['CW-TLS-001', 'CW-ID-002', 'CW-ID-003', 'CW-TLS-004'],
    async run(ctx) {
      const { main } = ctx.harness
      const probe = await probeTls(ctx.target, { name: main.org, cert: main.tls.cert, key: main.tls.key })
      if (!probe.ok) fail('a TLS handshake', `${probe.error?.code}: ${probe.error?.message}`)
      check(probe.protocol === 'TLSv1.3', 'TLSv1.3 negotiated', String(probe.protocol))
      let org: string
      try {
        org = verifyChain(probe.serverChain!, [ctx.target.anchor], { usage: 'tls', currentDate: new Date() }).org
      } catch (error) {
        fail('a server certificate with the TLS profile, chained to the target CA', `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`)
      }
      check(org === ctx.target.org, `a server certificate naming ${ctx.target.org}`, `it names ${org}`)
    },
  },
  {
    id: 'transport.partner-bundle',
    title: "The target's partner bundle validates and its CA has the organization CA profile",
    group: 'transport',
    spec: ['CW-TRUST-001', 'CW-ID-001', 'CW-ID-002'],
    async run(ctx) {
      try {
        checkPartnerBundle(ctx.target.bundle, { fingerprint: ctx.target.bundle.caFingerprint })
      } catch (error) {
        fail('a valid partner bundle', `${(error as { code?: string }).code}: ${(error as Error).message}`)
      }
      const ca = new x509.X509Certificate(ctx.target.caPem)
      check(ca.isSelfSigned !== undefined && (await ca.isSelfSigned()), 'a self-signed organization CA', ca.subject)
    },
  },
  {
    id: 'transport.no-client-certificate',
    title: 'A connection without a client certificate reaches no endpoint',
    group: 'transport',
    spec: ['CW-TLS-002'],
    async run(ctx) {
      await expectRefused(ctx, (await wrong(ctx)).noCertificate, 'health without a client certificate')
    },
  },
  {
    id: 'transport.unknown-ca',
    title: 'A client certificate from a CA the target never pinned is refused',
    group: 'transport',
    spec: ['CW-TLS-002', 'CW-TRUST-004'],
    async run(ctx) {
      await expectRefused(ctx, (await wrong(ctx)).unknownCa, 'health with a certificate from an unpinned CA')
    },
  },
  {
    id: 'transport.expired-certificate',
    title: 'An expired client certificate from the pinned CA is refused',
    group: 'transport',
    spec: ['CW-TLS-002'],
    async run(ctx) {
      await expectRefused(ctx, (await wrong(ctx)).expired, 'health with an expired client certificate')
    },
  },
  {
    id: 'transport.tls12-refused',
    title: 'A client offering TLS 1.2 at most fails the handshake',
    group: 'transport',
    spec: ['CW-TLS-001'],
    async run(ctx) {
      const probe = await probeTls(ctx.target, (await wrong(ctx)).tls12)
      check(!probe.ok, 'the TLS 1.2 handshake refused', `handshake completed with ${probe.protocol}`)
    },
  },
  {
    id: 'transport.certificate-naming-another-org',
    title: "A certificate from the harness's CA naming another organization is refused",
    group: 'transport',
    spec: ['CW-TLS-003', 'CW-TRUST-005', 'CW-ID-006'],
    async run(ctx) {
      await expectRefused(ctx, (await wrong(ctx)).otherOrg, `health with a harness-CA certificate naming ${ctx.target.org}`)
    },
  },
  {
    id: 'transport.trust-only-org',
    title: 'An organization pinned trust-only cannot connect',
    group: 'transport',
    spec: ['CW-PROV-008', 'CW-TLS-003'],
    async run(ctx) {
      await expectRefused(ctx, (await wrong(ctx)).trustOnly, 'health as a trust-only organization')
    },
  },
  {
    id: 'transport.signing-certificate-as-client',
    title: 'A signing certificate (no clientAuth) is not accepted as a TLS client certificate',
    group: 'transport',
    spec: ['CW-ID-003', 'CW-ID-004', 'CW-TLS-002'],
    async run(ctx) {
      await expectRefused(ctx, (await wrong(ctx)).signingAsTls, 'health with the signing certificate as client certificate')
    },
  },
]
