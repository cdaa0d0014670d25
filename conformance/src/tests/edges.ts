/**
 * What the federation listener tells a stranger, and how it refuses (SPEC.md §5): no CA names
 * in the TLS CertificateRequest (CW-TLS-005), a connection whose chain reaches no pinned CA
 * closed without any HTTP answer (CW-TLS-005), and one whose chain reaches a pinned CA but
 * does not identify an enabled partner refused with exactly `403 CW_ERR_PARTNER_UNKNOWN`
 * (CW-TLS-006, CW-TRUST-005, CW-PROV-008).
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FEDERATION_PATHS } from '#protocol'
import { check, expectProblem, fail, jsonOf } from '../check.ts'
import { TargetClient, type ClientIdentity } from '../client.ts'
import { describeExchange } from '../exchange.ts'
import { wrongIdentities, type WrongIdentities } from '../identities.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'
import type { Target } from '../target.ts'
import { buildRefusal, expectNoTrace, type Recipe } from './refusals.ts'

/** Names no receiver may accept for an item or a folder (CW-FMT-007). */
const HOSTILE_NAMES: Readonly<Record<string, string>> = {
  'path parts': '../../../../etc/cron.d/x',
  'a backslash path': '..\\..\\windows\\x.bat',
  'a right-to-left override': 'invoice\u202Efdp.exe',
  'a bidi isolate': 'a\u2066b.txt',
  'a line break': 'a\r\nb.txt',
  'a C1 control': 'a\u0085b',
  '..': '..',
}

/** The valid manifest with item 0 (or a new folder holding it) named `name`. */
function hostileName(where: 'item' | 'folder', what: string, name: string): Recipe {
  return {
    note: `a manifest whose ${where} name has ${what} (${JSON.stringify(name)})`,
    async broken(k) {
      const manifest = k.clone()
      if (where === 'item') manifest.evidence[0]!.name = name
      else {
        manifest.case.folders.push({ id: 'hostile-folder', name })
        manifest.evidence[0]!.folder = 'hostile-folder'
      }
      return k.sign(manifest)
    },
  }
}

/** Transport failures that mean the target was never reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])

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
 * Runs `openssl s_client` against the target as `identity` (TLS 1.3), sends one EP-4 request and
 * returns everything it printed: the handshake summary, with the CA names the server's
 * CertificateRequest carried, and the answer.
 */
async function opensslHandshake(target: Target, identity: { cert: string; key: string }): Promise<string> {
  const url = new URL(target.url)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const dir = await mkdtemp(join(tmpdir(), 'caseway-conformance-'))
  try {
    const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
    await writeFile(certFile, identity.cert)
    await writeFile(keyFile, identity.key, { mode: 0o600 })
    const args = [
      's_client',
      '-connect',
      `${host.includes(':') ? `[${host}]` : host}:${url.port || 443}`,
      '-tls1_3',
      '-cert',
      certFile,
      '-key',
      keyFile,
      '-ign_eof',
    ]
    if (!/^[\d.:]+$/.test(host)) args.push('-servername', host)
    return await new Promise<string>((resolve, reject) => {
      const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (part: Buffer) => (output += part.toString()))
      child.stderr.on('data', (part: Buffer) => (output += part.toString()))
      child.on('error', (error) => reject(new Error(`openssl s_client could not run (the harness needs openssl on PATH): ${error.message}`)))
      child.on('close', () => resolve(output))
      child.stdin.end(`GET ${url.pathname.replace(/\/$/, '')}${FEDERATION_PATHS.healthz} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`)
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** EP-4 as `identity` must get no HTTP answer at all: the connection closes (or the handshake fails). */
async function expectClosed(ctx: TestContext, identity: ClientIdentity, note: string): Promise<void> {
  const client = new TargetClient(ctx.target, identity, ctx.client.retries)
  try {
    const answer = await client.send(FEDERATION_PATHS.healthz, { note })
    if ('status' in answer) fail('the connection closed without an HTTP answer (CW-TLS-005)', describeExchange(answer), answer.request)
    if (UNREACHABLE.has(answer.code)) fail('the target reached, then the connection closed', `${answer.code}: ${answer.message}`, answer.request)
    ctx.note(`closed without an HTTP answer: ${answer.code}`)
  } finally {
    await client.close()
  }
}

/** EP-4 as `identity` must be answered exactly `403 CW_ERR_PARTNER_UNKNOWN`. */
async function expectPartnerUnknown(ctx: TestContext, identity: ClientIdentity, note: string): Promise<void> {
  const client = new TargetClient(ctx.target, identity, ctx.client.retries)
  try {
    const answer = await client.send(FEDERATION_PATHS.healthz, { note })
    if (!('status' in answer)) fail('an HTTP answer, 403 CW_ERR_PARTNER_UNKNOWN (CW-TLS-006)', `no answer: ${answer.code}: ${answer.message}`, answer.request)
    const body = jsonOf(answer) as { code?: unknown }
    check(answer.status === 403 && body.code === 'CW_ERR_PARTNER_UNKNOWN', '403 CW_ERR_PARTNER_UNKNOWN', describeExchange(answer), answer.request)
  } finally {
    await client.close()
  }
}

export const EDGES_TESTS: ConformanceTest[] = [
  {
    id: 'refusals.hostile-item-names',
    title: 'A manifest naming an item or a folder with path parts, control or bidi characters is refused with CW_ERR_SCHEMA_INVALID',
    group: 'refusals',
    spec: ['CW-FMT-007', 'CW-FMT-004', 'CW-FED-001'],
    async run(ctx) {
      for (const where of ['item', 'folder'] as const) {
        for (const [what, name] of Object.entries(HOSTILE_NAMES)) {
          const recipe = hostileName(where, what, name)
          const { share, valid, broken } = await buildRefusal(ctx, recipe)
          if (typeof broken !== 'string') throw new Error('a hostile-name offer is a compact JWS')
          expectProblem(await ctx.offer(broken, recipe.note), 'CW_ERR_SCHEMA_INVALID')
          await expectNoTrace(ctx, share, valid)
        }
      }
    },
  },
  {
    id: 'transport.certificate-request-names-no-ca',
    title: "The listener's TLS CertificateRequest names no CA, and a partner is still answered",
    group: 'transport',
    spec: ['CW-TLS-005', 'CW-TLS-001'],
    async run(ctx) {
      const { main } = ctx.harness
      const output = await opensslHandshake(ctx.target, main.tls)
      check(/Protocol\s*: TLSv1\.3/.test(output), 'a TLS 1.3 handshake', output.slice(0, 2000))
      check(
        /No client certificate CA names sent/.test(output) && !/Acceptable client certificate CA names/.test(output),
        'no certificate_authorities in the CertificateRequest',
        output.slice(output.indexOf('---'), output.indexOf('---') + 1500),
      )
      check(output.includes(`"org":"${ctx.target.org}"`) || output.includes(`"org": "${ctx.target.org}"`), 'the partner answered on EP-4', output.slice(-1500))
    },
  },
  {
    id: 'transport.untrusted-chain-closed',
    title: 'A connection without a certificate, or with one reaching no pinned CA, gets no HTTP answer',
    group: 'transport',
    spec: ['CW-TLS-005', 'CW-TLS-002'],
    async run(ctx) {
      const identities = await wrong(ctx)
      await expectClosed(ctx, identities.noCertificate, 'health without a client certificate')
      await expectClosed(ctx, identities.unknownCa, 'health with a certificate from an unpinned CA')
      await expectClosed(ctx, identities.expired, 'health with an expired certificate from the pinned CA')
      await expectClosed(ctx, identities.signingAsTls, 'health with the signing certificate (no clientAuth)')
    },
  },
  {
    id: 'transport.pinned-ca-other-org-partner-unknown',
    title: "A pinned partner CA's certificate naming another organization gets 403 CW_ERR_PARTNER_UNKNOWN",
    group: 'transport',
    spec: ['CW-TLS-006', 'CW-TRUST-005', 'CW-TLS-003'],
    async run(ctx) {
      await expectPartnerUnknown(ctx, (await wrong(ctx)).otherOrg, `health with a harness-CA certificate naming ${ctx.target.org}`)
    },
  },
  {
    id: 'transport.trust-only-partner-unknown',
    title: 'An organization pinned trust-only completes the handshake and gets 403 CW_ERR_PARTNER_UNKNOWN',
    group: 'transport',
    spec: ['CW-TLS-006', 'CW-PROV-008', 'CW-TLS-003'],
    async run(ctx) {
      await expectPartnerUnknown(ctx, (await wrong(ctx)).trustOnly, 'health as a trust-only organization')
    },
  },
]
