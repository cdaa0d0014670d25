/**
 * OIDC bearer tokens for the local API (config `auth.oidc`): a JWT from the agency's identity
 * provider, verified against its JWKS, becomes a principal. Only asymmetric algorithms are
 * accepted (ES256, EdDSA, RS256); issuer, audience and expiry are required, with 60 s of clock
 * tolerance. The user id comes from `userClaim`, the groups from `groupsClaim`; the caller is
 * an administrator iff one of its groups is in `adminGroups`.
 *
 * @module
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { NodeConfig } from '../config/schema.ts'
import type { Role } from '../store/metadata_store.ts'
import { PRINCIPAL_ID_PATTERN } from './principals.ts'

export const OIDC_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const
export const OIDC_CLOCK_TOLERANCE_SECONDS = 60
const MAX_GROUPS = 1000

type OidcConfig = NonNullable<NodeConfig['auth']['oidc']>

/** Three base64url segments: what a compact JWS looks like. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Who an OIDC token names. */
export interface OidcIdentity {
  userId: string
  role: Role
  groups: string[]
}

/** One remote key set per configuration: jose caches the keys and refetches on an unknown kid. */
const keySets = new WeakMap<OidcConfig, ReturnType<typeof createRemoteJWKSet>>()

function keySet(config: OidcConfig): ReturnType<typeof createRemoteJWKSet> {
  let jwks = keySets.get(config)
  if (jwks === undefined) {
    jwks = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 })
    keySets.set(config, jwks)
  }
  return jwks
}

/** Whether `bearer` should be verified as an OIDC token on this node. */
export function looksLikeJwt(ctx: Pick<NodeContext, 'config'>, bearer: string): boolean {
  return ctx.config.auth?.oidc !== undefined && bearer.length <= 16384 && JWT_SHAPE.test(bearer)
}

/**
 * Verifies an OIDC bearer token and maps it to an identity.
 *
 * @throws {RequestError} `CW_ERR_UNAUTHENTICATED` for any token that does not verify (bad
 *   signature, algorithm, issuer, audience, expiry, unknown key, missing user claim).
 */
export async function verifyOidcToken(ctx: Pick<NodeContext, 'config' | 'clock' | 'log'>, bearer: string): Promise<OidcIdentity> {
  const config = ctx.config.auth?.oidc
  if (config === undefined) throw unauthenticated()
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(bearer, keySet(config), {
      algorithms: [...OIDC_ALGORITHMS],
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: OIDC_CLOCK_TOLERANCE_SECONDS,
      currentDate: ctx.clock.now(),
      requiredClaims: ['exp'],
    }))
  } catch (error) {
    ctx.log.info({ reason: (error as { code?: string }).code ?? 'ERR_OIDC' }, 'oidc token refused')
    throw unauthenticated()
  }
  const userId = payload[config.userClaim]
  if (typeof userId !== 'string' || !PRINCIPAL_ID_PATTERN.test(userId)) {
    ctx.log.info({ claim: config.userClaim }, 'oidc token without a usable user claim')
    throw unauthenticated()
  }
  const claimed = payload[config.groupsClaim]
  const groups = Array.isArray(claimed)
    ? [...new Set(claimed.filter((g): g is string => typeof g === 'string' && PRINCIPAL_ID_PATTERN.test(g)))].slice(0, MAX_GROUPS)
    : []
  const role: Role = groups.some((group) => config.adminGroups.includes(group)) ? 'admin' : 'member'
  return { userId, role, groups }
}

function unauthenticated(): RequestError {
  return new RequestError('CW_ERR_UNAUTHENTICATED', 'missing or invalid bearer token')
}
