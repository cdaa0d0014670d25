/**
 * Bearer tokens of the local API: an administrator creates one for a user (a person or a
 * service account); the secret is shown once and only its SHA-256 is stored. With
 * `auth.oidc` configured, a bearer that is a JWT is verified as an OIDC token instead
 * (`oidc.ts`); `cw_` tokens keep working.
 *
 * Every token has a name, an expiry (`auth.tokens`: a default and a maximum lifetime) and a
 * last-used time; it can be listed and revoked, and disabling its user revokes it
 * (CW-LOC-010). Creation and revocation are audited on the node-wide chain.
 *
 * @module
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR, type Actor } from '../events.ts'
import type { Role, TokenRecord } from '../store/metadata_store.ts'
import { looksLikeJwt, verifyOidcToken } from './oidc.ts'
import { checkTokenRole, ensureUser } from './principals.ts'
/** Prefix of every token, so a leaked one is recognisable (secret scanners). */
export const TOKEN_PREFIX = 'cw_'
/** `cw_` + 32 random bytes, base64url without padding (43 characters). */
const TOKEN_PATTERN = /^cw_[A-Za-z0-9_-]{43}$/
const ROLES: ReadonlySet<string> = new Set<Role>(['admin', 'member'])
const USER_ID_PATTERN = /^[^\u0000-\u001f\u007f]{1,200}$/
const NAME_PATTERN = /^[^\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]{0,100}$/
const DAY_SECONDS = 86_400
/** A token's last use is written at most this often (seconds): not one write per request. */
export const LAST_USED_RESOLUTION_SECONDS = 60

/** What a token operation needs: the store, the clock, the lifetimes, and transactions that audit. */
export type TokenContext = Pick<NodeContext, 'store' | 'clock' | 'log' | 'transaction'> & {
  readonly config: { readonly auth: { readonly tokens: { readonly defaultDays: number; readonly maxDays: number } } }
}

export interface CreateTokenInput {
  userId: string
  role: Role
  /** What the token is for (up to 100 characters); '' when absent. */
  name?: string
  /** Lifetime in days: 1 to `auth.tokens.maxDays`; `auth.tokens.defaultDays` when absent. */
  expiresInDays?: number
}

/** A token as listed: every field but its hash. */
export interface TokenInfo {
  id: string
  userId: string
  role: Role
  name: string
  createdAt: number
  expiresAt: number
  lastUsedAt: number | null
  revokedAt: number | null
  /** `active` until it expires or is revoked. */
  status: 'active' | 'expired' | 'revoked'
}

/** What `createToken` returns: the record's public fields and the secret, this one time. */
export interface CreatedToken {
  id: string
  userId: string
  role: Role
  name: string
  createdAt: number
  expiresAt: number
  /** The bearer secret. Never stored, never logged, never shown again. */
  token: string
}

/** The caller a valid token identifies. */
export interface Principal {
  /** The local token's id; null for an OIDC token. */
  tokenId: string | null
  userId: string
  role: Role
  /** Group ids: the user's local group memberships, plus the OIDC groups claim. */
  groups: string[]
}

export interface CreateTokenOptions {
  /**
   * Refuse a user that does not exist (the admin API). Otherwise a missing user is created
   * with the token's role (`caseway init`, `caseway tokens create`).
   */
  requireUser?: boolean
  /** Who creates it (audited); the node itself when absent (init, the CLI on the database). */
  actor?: Actor
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

function nowSeconds(ctx: Pick<NodeContext, 'clock'>): number {
  return Math.floor(ctx.clock.now().getTime() / 1000)
}

/**
 * Creates a token for user `userId` with `role` (at most the user's role), living
 * `expiresInDays` (default and maximum from `auth.tokens`); returns the secret once.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` (ids, role above the user's, disabled user,
 *   name, lifetime), `CW_ERR_NOT_FOUND` (no such user, with `requireUser`).
 */
export async function createToken(ctx: TokenContext, input: CreateTokenInput, options: CreateTokenOptions = {}): Promise<CreatedToken> {
  if (typeof input?.userId !== 'string' || !USER_ID_PATTERN.test(input.userId)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'userId must be 1 to 200 characters without control characters', { at: '/userId' })
  }
  if (typeof input.role !== 'string' || !ROLES.has(input.role)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'role must be "admin" or "member"', { at: '/role' })
  }
  const name = input.name ?? ''
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'name must be at most 100 characters without control or bidi characters', { at: '/name' })
  }
  const { defaultDays, maxDays } = ctx.config.auth.tokens
  const days = input.expiresInDays ?? Math.min(defaultDays, maxDays)
  if (!Number.isInteger(days) || days < 1 || days > maxDays) {
    throw new RequestError('CW_ERR_BAD_REQUEST', `expiresInDays must be a whole number of days from 1 to ${maxDays}`, { at: '/expiresInDays' })
  }
  if (options.requireUser === true) {
    const user = await ctx.store.principals.getUser(input.userId)
    if (user === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no user "${input.userId}"`, { at: '/userId' })
    checkTokenRole(user, input.role)
  } else {
    await ensureUser(ctx, input.userId, input.role)
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  const createdAt = nowSeconds(ctx)
  const record: TokenRecord = {
    id: randomUUID(),
    hash: hashToken(token),
    role: input.role,
    userId: input.userId,
    name,
    createdAt,
    expiresAt: createdAt + days * DAY_SECONDS,
    lastUsedAt: null,
    revokedAt: null,
  }
  await ctx.transaction(async (tx) => {
    await tx.store.tokens.insert(record)
    tx.record({
      type: 'token.created',
      actor: options.actor ?? SYSTEM_ACTOR,
      tokenId: record.id,
      userId: record.userId,
      role: record.role,
      expiresAt: record.expiresAt,
    })
  })
  ctx.log.info({ tokenId: record.id, userId: record.userId, role: record.role, expiresAt: record.expiresAt }, 'token created')
  return { id: record.id, userId: record.userId, role: record.role, name, createdAt, expiresAt: record.expiresAt, token }
}

/** The listed form of `record` at time `now`. */
function tokenInfo(record: TokenRecord, now: number): TokenInfo {
  const status = record.revokedAt !== null ? 'revoked' : record.expiresAt <= now ? 'expired' : 'active'
  const { id, userId, role, name, createdAt, expiresAt, lastUsedAt, revokedAt } = record
  return { id, userId, role, name, createdAt, expiresAt, lastUsedAt, revokedAt, status }
}

/**
 * The tokens `principal` may see, newest first: an administrator sees every token (or those of
 * `userId`), anyone else only their own.
 */
export async function listTokens(ctx: TokenContext, principal: Pick<Principal, 'userId' | 'role'>, userId?: string): Promise<TokenInfo[]> {
  const owner = principal.role === 'admin' ? userId : principal.userId
  const now = nowSeconds(ctx)
  return (await ctx.store.tokens.list(owner)).map((record) => tokenInfo(record, now))
}

/**
 * Revokes token `id` at once: the next request that presents it is refused. An administrator
 * may revoke any token, anyone else only their own (another's is `CW_ERR_NOT_FOUND`, as if it
 * did not exist). Revoking a revoked token changes nothing.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`.
 */
export async function revokeToken(ctx: TokenContext, principal: Pick<Principal, 'userId' | 'role'>, id: string, actor?: Actor): Promise<TokenInfo> {
  const now = nowSeconds(ctx)
  const record = await ctx.transaction(async (tx) => {
    const existing = await tx.store.tokens.get(id)
    if (existing === undefined || (principal.role !== 'admin' && existing.userId !== principal.userId)) {
      throw new RequestError('CW_ERR_NOT_FOUND', `no token "${id}"`)
    }
    if (await tx.store.tokens.revoke(id, now)) {
      tx.record({ type: 'token.revoked', actor: actor ?? { kind: 'user', id: principal.userId }, tokenId: id, userId: existing.userId, cause: 'revoked' })
    }
    return (await tx.store.tokens.get(id))!
  })
  if (record.revokedAt === now) ctx.log.info({ tokenId: id, userId: record.userId }, 'token revoked')
  return tokenInfo(record, now)
}

/**
 * The principal of a bearer token. The token is looked up by its hash, so the secret is never
 * compared as such; a missing, malformed, unknown, expired or revoked token, or one whose user is
 * missing or disabled, is `CW_ERR_UNAUTHENTICATED`. The role is the token's, capped by the
 * user's. A JWT goes to OIDC verification when `auth.oidc` is configured.
 */
export async function authenticate(ctx: NodeContext, bearer: string | undefined): Promise<Principal> {
  if (typeof bearer === 'string' && !bearer.startsWith(TOKEN_PREFIX) && looksLikeJwt(ctx, bearer)) return authenticateOidc(ctx, bearer)
  if (typeof bearer !== 'string' || !TOKEN_PATTERN.test(bearer)) throw unauthenticated()
  const hash = hashToken(bearer)
  const record = await ctx.store.tokens.findByHash(hash)
  const now = nowSeconds(ctx)
  if (record === undefined || record.revokedAt !== null || record.expiresAt <= now) throw unauthenticated()
  // The lookup already matched; comparing again in constant time guards a store whose index
  // compares case-insensitively or by prefix.
  const stored = Buffer.from(record.hash, 'utf8')
  const computed = Buffer.from(hash, 'utf8')
  if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) throw unauthenticated()
  const user = await ctx.store.principals.getUser(record.userId)
  if (user === undefined || user.disabled) throw unauthenticated()
  if (record.lastUsedAt === null || now - record.lastUsedAt >= LAST_USED_RESOLUTION_SECONDS) await ctx.store.tokens.touch(record.id, now)
  const role: Role = record.role === 'admin' && user.role === 'admin' ? 'admin' : 'member'
  return { tokenId: record.id, userId: record.userId, role, groups: await ctx.store.principals.listUserGroups(record.userId) }
}

/** An OIDC caller: groups from the claim and from local membership; a disabled local user is refused. */
async function authenticateOidc(ctx: NodeContext, bearer: string): Promise<Principal> {
  const identity = await verifyOidcToken(ctx, bearer)
  const user = await ctx.store.principals.getUser(identity.userId)
  if (user?.disabled === true) throw unauthenticated()
  const groups = [...new Set([...identity.groups, ...(await ctx.store.principals.listUserGroups(identity.userId))])]
  return { tokenId: null, userId: identity.userId, role: identity.role, groups }
}

function unauthenticated(): RequestError {
  return new RequestError('CW_ERR_UNAUTHENTICATED', 'missing or invalid bearer token')
}
