/**
 * Bearer tokens of the local API: an administrator creates one for a user (a person or a
 * service account); the secret is shown once and only its SHA-256 is stored. With
 * `auth.oidc` configured, a bearer that is a JWT is verified as an OIDC token instead
 * (`oidc.ts`); `cw_` tokens keep working.
 *
 * @module
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { Role, TokenRecord } from '../store/metadata_store.ts'
import { looksLikeJwt, verifyOidcToken } from './oidc.ts'
import { checkTokenRole, ensureUser } from './principals.ts'

/** Prefix of every token, so a leaked one is recognisable (secret scanners). */
export const TOKEN_PREFIX = 'cw_'
/** `cw_` + 32 random bytes, base64url without padding (43 characters). */
const TOKEN_PATTERN = /^cw_[A-Za-z0-9_-]{43}$/
const ROLES: ReadonlySet<string> = new Set<Role>(['admin', 'member'])
const USER_ID_PATTERN = /^[^\u0000-\u001f\u007f]{1,200}$/

export interface CreateTokenInput {
  userId: string
  role: Role
}

/** What `createToken` returns: the record's public fields and the secret, this one time. */
export interface CreatedToken {
  id: string
  userId: string
  role: Role
  createdAt: number
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
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/**
 * Creates a token for user `userId` with `role` (at most the user's role); returns the secret
 * once.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` (ids, role above the user's, disabled user),
 *   `CW_ERR_NOT_FOUND` (no such user, with `requireUser`).
 */
export async function createToken(
  ctx: Pick<NodeContext, 'store' | 'clock' | 'log'>,
  input: CreateTokenInput,
  options: CreateTokenOptions = {},
): Promise<CreatedToken> {
  if (typeof input?.userId !== 'string' || !USER_ID_PATTERN.test(input.userId)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'userId must be 1 to 200 characters without control characters', { at: '/userId' })
  }
  if (typeof input.role !== 'string' || !ROLES.has(input.role)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'role must be "admin" or "member"', { at: '/role' })
  }
  if (options.requireUser === true) {
    const user = await ctx.store.getUser(input.userId)
    if (user === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no user "${input.userId}"`, { at: '/userId' })
    checkTokenRole(user, input.role)
  } else {
    await ensureUser(ctx, input.userId, input.role)
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  const record: TokenRecord = {
    id: randomUUID(),
    hash: hashToken(token),
    role: input.role,
    userId: input.userId,
    createdAt: Math.floor(ctx.clock.now().getTime() / 1000),
    revokedAt: null,
  }
  await ctx.store.insertToken(record)
  ctx.log.info({ tokenId: record.id, userId: record.userId, role: record.role }, 'token created')
  return { id: record.id, userId: record.userId, role: record.role, createdAt: record.createdAt, token }
}

/**
 * The principal of a bearer token. The token is looked up by its hash, so the secret is never
 * compared as such; a missing, malformed, unknown or revoked token, or one whose user is
 * missing or disabled, is `CW_ERR_UNAUTHENTICATED`. The role is the token's, capped by the
 * user's. A JWT goes to OIDC verification when `auth.oidc` is configured.
 */
export async function authenticate(ctx: NodeContext, bearer: string | undefined): Promise<Principal> {
  if (typeof bearer === 'string' && !bearer.startsWith(TOKEN_PREFIX) && looksLikeJwt(ctx, bearer)) return authenticateOidc(ctx, bearer)
  if (typeof bearer !== 'string' || !TOKEN_PATTERN.test(bearer)) throw unauthenticated()
  const hash = hashToken(bearer)
  const record = await ctx.store.findTokenByHash(hash)
  if (record === undefined || record.revokedAt !== null) throw unauthenticated()
  // The lookup already matched; comparing again in constant time guards a store whose index
  // compares case-insensitively or by prefix.
  const stored = Buffer.from(record.hash, 'utf8')
  const computed = Buffer.from(hash, 'utf8')
  if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) throw unauthenticated()
  const user = await ctx.store.getUser(record.userId)
  if (user === undefined || user.disabled) throw unauthenticated()
  const role: Role = record.role === 'admin' && user.role === 'admin' ? 'admin' : 'member'
  return { tokenId: record.id, userId: record.userId, role, groups: await ctx.store.listUserGroups(record.userId) }
}

/** An OIDC caller: groups from the claim and from local membership; a disabled local user is refused. */
async function authenticateOidc(ctx: NodeContext, bearer: string): Promise<Principal> {
  const identity = await verifyOidcToken(ctx, bearer)
  const user = await ctx.store.getUser(identity.userId)
  if (user?.disabled === true) throw unauthenticated()
  const groups = [...new Set([...identity.groups, ...(await ctx.store.listUserGroups(identity.userId))])]
  return { tokenId: null, userId: identity.userId, role: identity.role, groups }
}

function unauthenticated(): RequestError {
  return new RequestError('CW_ERR_UNAUTHENTICATED', 'missing or invalid bearer token')
}
