/**
 * OIDC bearer tokens against a real JWKS served on 127.0.0.1, keys made with jose: the good
 * ones map to principals; wrong issuer, wrong audience, expiry, unknown key, `alg: none`,
 * HMAC and a missing user claim are all CW_ERR_UNAUTHENTICATED; `cw_` tokens keep working.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose'
import t from 'tap'
import { ConfigError, parseConfig } from '../../src/config/load.ts'
import type { NodeConfig } from '../../src/config/schema.ts'
import type { NodeContext } from '../../src/context.ts'
import { localApp } from '../../src/local/app.ts'
import { createGroup, createUser, updateUser } from '../../src/access/principals.ts'
import { authenticate, createToken } from '../../src/access/tokens.ts'
import { createTestContext } from '../support/context.ts'

const ISSUER = 'https://idp.county-pd.example'
const AUDIENCE = 'caseway-county-pd'

const keys = {
  es: await generateKeyPair('ES256'),
  ed: await generateKeyPair('EdDSA', { crv: 'Ed25519' }),
  rs: await generateKeyPair('RS256', { modulusLength: 2048 }),
  rogue: await generateKeyPair('ES256'),
}
const jwks = {
  keys: [
    { ...(await exportJWK(keys.es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' },
    { ...(await exportJWK(keys.ed.publicKey)), kid: 'ed-1', alg: 'EdDSA', use: 'sig' },
    { ...(await exportJWK(keys.rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
  ],
}
let jwksRequests = 0
const server = createServer((request, response) => {
  jwksRequests += 1
  if (request.url !== '/jwks') return void response.writeHead(404).end()
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`

const tc = await createTestContext({ org: 'county-pd' })
t.teardown(() => tc.close())
/** The test context's configuration as a file would hold it (no `dir`). */
function rawConfig(): Record<string, unknown> {
  const { dir: _dir, ...raw } = structuredClone(tc.ctx.config) as NodeConfig
  return raw
}
const config = parseConfig(
  { ...rawConfig(), auth: { oidc: { issuer: ISSUER, audience: AUDIENCE, jwksUrl, adminGroups: ['caseway-admins'] } } },
  tc.ctx.config.dir,
)
const ctx: NodeContext = { ...tc.ctx, config }
const nowSeconds = () => Math.floor(Date.now() / 1000)

interface SignOptions {
  key?: CryptoKey
  alg?: string
  kid?: string
  claims?: JWTPayload
  iss?: string
  aud?: string
  exp?: number | null
}

async function jwt(options: SignOptions = {}): Promise<string> {
  const builder = new SignJWT({ sub: 'alice', groups: ['robbery'], ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? 'es-1', typ: 'JWT' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
  if (options.exp !== null) builder.setExpirationTime(options.exp ?? nowSeconds() + 300)
  return builder.sign(options.key ?? keys.es.privateKey)
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('the configuration validates auth.oidc and fills its defaults', async (t) => {
  t.same(config.auth.oidc, { issuer: ISSUER, audience: AUDIENCE, jwksUrl, userClaim: 'sub', groupsClaim: 'groups', adminGroups: ['caseway-admins'] })
  t.same(tc.ctx.config.auth, { tokens: { defaultDays: 90, maxDays: 365 } }, 'no oidc by default: existing files stay valid')
  const base = rawConfig()
  t.throws(
    () => parseConfig({ ...base, auth: { oidc: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'http://idp.example/jwks' } } }, '/tmp'),
    ConfigError,
    'plain http only on loopback',
  )
  t.throws(() => parseConfig({ ...base, auth: { oidc: { issuer: ISSUER, jwksUrl } } }, '/tmp'), ConfigError, 'audience required')
})

// spec: CW-LOC-004
t.test('ES256, EdDSA and RS256 tokens from the JWKS map to principals', async (t) => {
  t.same(await authenticate(ctx, await jwt()), { tokenId: null, userId: 'alice', role: 'member', groups: ['robbery'] })
  t.match(await authenticate(ctx, await jwt({ alg: 'EdDSA', kid: 'ed-1', key: keys.ed.privateKey, claims: { sub: 'bob' } })), { userId: 'bob', role: 'member' })
  t.match(await authenticate(ctx, await jwt({ alg: 'RS256', kid: 'rs-1', key: keys.rs.privateKey, claims: { sub: 'carol' } })), { userId: 'carol' })
})

// spec: CW-LOC-004
t.test('membership of an admin group gives the admin role; groups merge with local membership', async (t) => {
  t.match(await authenticate(ctx, await jwt({ claims: { groups: ['robbery', 'caseway-admins'] } })), { role: 'admin', groups: ['robbery', 'caseway-admins'] })
  await createUser(ctx, { id: 'erin', name: 'Erin' })
  await createGroup(ctx, { id: 'homicide', members: ['erin'] })
  t.same((await authenticate(ctx, await jwt({ claims: { sub: 'erin', groups: ['robbery'] } }))).groups, ['robbery', 'homicide'])
  t.match(
    await authenticate(ctx, await jwt({ claims: { sub: 'erin', groups: 'caseway-admins' } })),
    { role: 'member', groups: ['homicide'] },
    'a groups claim that is not a list counts as none',
  )
})

// spec: CW-LOC-004
t.test('clock tolerance is 60 seconds', async (t) => {
  t.match(await authenticate(ctx, await jwt({ exp: nowSeconds() - 30 })), { userId: 'alice' }, 'expired 30 s ago: within tolerance')
  await t.rejects(authenticate(ctx, await jwt({ exp: nowSeconds() - 120 })), { code: 'CW_ERR_UNAUTHENTICATED' }, 'expired 2 minutes ago')
})

// spec: CW-LOC-004
t.test('wrong issuer, wrong audience, no expiry, unknown kid, alg none, HMAC and no user claim are refused', async (t) => {
  const header = { alg: 'none', kid: 'es-1', typ: 'JWT' }
  const payload = { sub: 'alice', iss: ISSUER, aud: AUDIENCE, iat: nowSeconds(), exp: nowSeconds() + 300 }
  const hmac = await new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'HS256', kid: 'es-1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode('a shared secret that must never be accepted'))
  const refused: Record<string, string> = {
    'wrong issuer': await jwt({ iss: 'https://evil.example' }),
    'wrong audience': await jwt({ aud: 'another-app' }),
    'no expiry': await jwt({ exp: null }),
    'unknown kid': await jwt({ key: keys.rogue.privateKey, kid: 'rogue-1' }),
    'known kid, other key': await jwt({ key: keys.rogue.privateKey, kid: 'es-1' }),
    'alg none': `${b64(header)}.${b64(payload)}.`,
    'alg none with a signature': `${b64(header)}.${b64(payload)}.${Buffer.from('x').toString('base64url')}`,
    HS256: hmac,
    'alg not matching the key': await jwt({ alg: 'RS256', kid: 'es-1', key: keys.rs.privateKey }),
    'no user claim': await jwt({ claims: { sub: undefined } }),
    'tampered payload': (await jwt()).replace(/\.[^.]+\./, `.${b64({ ...payload, sub: 'root' })}.`),
  }
  for (const [name, token] of Object.entries(refused)) {
    await t.rejects(authenticate(ctx, token), { code: 'CW_ERR_UNAUTHENTICATED' }, name)
  }
})

// spec: CW-LOC-004
t.test('a disabled local user is refused even with a valid token', async (t) => {
  await createUser(ctx, { id: 'frank', name: 'Frank' })
  t.match(await authenticate(ctx, await jwt({ claims: { sub: 'frank' } })), { userId: 'frank' })
  await updateUser(ctx, 'frank', { disabled: true })
  await t.rejects(authenticate(ctx, await jwt({ claims: { sub: 'frank' } })), { code: 'CW_ERR_UNAUTHENTICATED' })
})

// spec: CW-LOC-004
t.test('without auth.oidc a JWT is just an invalid token; cw_ tokens keep working with it', async (t) => {
  const before = jwksRequests
  await t.rejects(authenticate(tc.ctx, await jwt()), { code: 'CW_ERR_UNAUTHENTICATED' })
  t.equal(jwksRequests, before, 'the JWKS is not fetched')
  const created = await createToken(ctx, { userId: 'gina', role: 'member' })
  t.match(await authenticate(ctx, created.token), { userId: 'gina', tokenId: created.id })
})

// spec: CW-LOC-004
t.test('the local API accepts OIDC bearers and applies the mapped role', async (t) => {
  const app = Fastify({ logger: false })
  await app.register(localApp, { ctx })
  t.teardown(() => app.close())
  const call = async (url: string, token: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
  t.equal((await call('/api/v1/cases', await jwt())).statusCode, 200)
  const forbidden = await call('/api/v1/users', await jwt())
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.json().code, 'CW_ERR_FORBIDDEN')
  t.equal((await call('/api/v1/users', await jwt({ claims: { groups: ['caseway-admins'] } }))).statusCode, 200)
  const refused = await call('/api/v1/cases', await jwt({ aud: 'another-app' }))
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().code, 'CW_ERR_UNAUTHENTICATED')
})
