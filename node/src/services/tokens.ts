/**
 * Bearer tokens of the local API: an administrator creates one per user (or system); the
 * secret is shown once and only its SHA-256 is stored.
 *
 * @module
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { Role, TokenRecord } from '../store/metadata_store.ts'

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
  tokenId: string
  userId: string
  role: Role
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Creates a token for `userId` with `role`; returns the secret once. */
export async function createToken(ctx: NodeContext, input: CreateTokenInput): Promise<CreatedToken> {
  if (typeof input?.userId !== 'string' || !USER_ID_PATTERN.test(input.userId)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'userId must be 1 to 200 characters without control characters', { at: '/userId' })
  }
  if (typeof input.role !== 'string' || !ROLES.has(input.role)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'role must be "admin" or "member"', { at: '/role' })
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
 * compared as such; a missing, malformed, unknown or revoked token is `CW_ERR_UNAUTHENTICATED`.
 */
export async function authenticate(ctx: NodeContext, bearer: string | undefined): Promise<Principal> {
  if (typeof bearer !== 'string' || !TOKEN_PATTERN.test(bearer)) throw unauthenticated()
  const hash = hashToken(bearer)
  const record = await ctx.store.findTokenByHash(hash)
  if (record === undefined || record.revokedAt !== null) throw unauthenticated()
  // The lookup already matched; comparing again in constant time guards a store whose index
  // compares case-insensitively or by prefix.
  const stored = Buffer.from(record.hash, 'utf8')
  const computed = Buffer.from(hash, 'utf8')
  if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) throw unauthenticated()
  return { tokenId: record.id, userId: record.userId, role: record.role }
}

function unauthenticated(): RequestError {
  return new RequestError('CW_ERR_UNAUTHENTICATED', 'missing or invalid bearer token')
}
