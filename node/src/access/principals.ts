/**
 * Principals of the local API: users (people and service accounts) and groups of users. An
 * administrator manages them; tokens belong to a user; share recipients and case teams name
 * them.
 *
 * @module
 */
import { isEmailAddress, RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR, type Actor } from '../events.ts'
import { MAX_GROUP_MEMBERS } from '../limits.ts'
import type { GroupRecord, Role, UserKind, UserRecord, Repositories } from '../store/metadata_store.ts'

/** User and group ids: 1 to 200 characters without control characters (OIDC subjects fit). */
export const PRINCIPAL_ID_PATTERN = /^[^\u0000-\u001f\u007f]{1,200}$/
const TEXT_PATTERN = /^[^\u0000-\u001f\u007f]{1,200}$/
const BADGE_PATTERN = /^[^\u0000-\u001f\u007f]{1,64}$/
const ROLES: ReadonlySet<string> = new Set<Role>(['admin', 'member'])
const KINDS: ReadonlySet<string> = new Set<UserKind>(['user', 'service'])

export interface CreateUserInput {
  id: string
  name?: string
  email?: string | null
  badge?: string | null
  role?: Role
  kind?: UserKind
  disabled?: boolean
}

export type UpdateUserInput = Partial<Omit<CreateUserInput, 'id'>>

export interface GroupDetail extends GroupRecord {
  members: string[]
}

/**
 * Creates user `input.id` (name defaults to the id, role to member, kind to user).
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` naming the field, `CW_ERR_CONFLICT` (id taken).
 */
export async function createUser(ctx: NodeContext, input: CreateUserInput): Promise<UserRecord> {
  const id = checkId(input?.id, '/id')
  const now = nowSeconds(ctx)
  const user = checkUser({ id, name: id, email: null, badge: null, role: 'member', kind: 'user', disabled: false, createdAt: now, updatedAt: now }, input)
  return ctx.store.transaction(async (store) => {
    if ((await store.principals.getUser(id)) !== undefined) throw new RequestError('CW_ERR_CONFLICT', `user "${id}" already exists`, { at: '/id' })
    await store.principals.upsertUser(user)
    ctx.log.info({ userId: id, role: user.role, kind: user.kind }, 'user created')
    return user
  })
}

/**
 * Changes the given fields of user `id`. Disabling a user revokes every token it holds, in the
 * same transaction (CW-LOC-010): enabling it again revives none.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_BAD_REQUEST`.
 */
export async function updateUser(ctx: NodeContext, id: string, input: UpdateUserInput, actor: Actor = SYSTEM_ACTOR): Promise<UserRecord> {
  return ctx.transaction(async (tx) => {
    const store = tx.store
    const existing = await store.principals.getUser(id)
    if (existing === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no user "${id}"`)
    const now = nowSeconds(ctx)
    const user = checkUser({ ...existing, updatedAt: Math.max(existing.updatedAt, now) }, input ?? {})
    await store.principals.upsertUser(user)
    if (user.disabled) {
      for (const tokenId of await store.tokens.revokeOfUser(id, now)) {
        tx.record({ type: 'token.revoked', actor, tokenId, userId: id, cause: 'user.disabled' })
      }
    }
    ctx.log.info({ userId: id, role: user.role, disabled: user.disabled }, 'user changed')
    return user
  })
}

export async function listUsers(ctx: NodeContext): Promise<UserRecord[]> {
  return ctx.store.principals.listUsers()
}

/**
 * The user a token is made for: created (named after its id, with `role`) when missing, so
 * `caseway init` and older tooling keep working; an existing user must allow `role`.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` (admin token for a member, disabled user).
 */
export async function ensureUser(ctx: Pick<NodeContext, 'store' | 'clock' | 'log'>, id: string, role: Role): Promise<UserRecord> {
  return ctx.store.transaction(async (store) => {
    const existing = await store.principals.getUser(id)
    if (existing !== undefined) {
      checkTokenRole(existing, role)
      return existing
    }
    const now = nowSeconds(ctx)
    const user: UserRecord = { id, name: id, email: null, badge: null, role, kind: 'user', disabled: false, createdAt: now, updatedAt: now }
    await store.principals.upsertUser(user)
    ctx.log.info({ userId: id, role }, 'user created for a token')
    return user
  })
}

/** A token's role never exceeds its user's, and a disabled user gets none. */
export function checkTokenRole(user: UserRecord, role: Role): void {
  if (user.disabled) throw new RequestError('CW_ERR_BAD_REQUEST', `user "${user.id}" is disabled`, { at: '/userId' })
  if (role === 'admin' && user.role !== 'admin') {
    throw new RequestError('CW_ERR_BAD_REQUEST', `user "${user.id}" is not an administrator`, { at: '/role' })
  }
}

/**
 * Creates group `input.id`, optionally with members (existing users).
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST`, `CW_ERR_CONFLICT` (id taken).
 */
export async function createGroup(ctx: NodeContext, input: { id: string; name?: string; members?: string[] }): Promise<GroupDetail> {
  const id = checkId(input?.id, '/id')
  const name = input.name === undefined ? id : checkText(input.name, '/name')
  const members = checkMembers(input.members ?? [], '/members')
  const group: GroupRecord = { id, name, createdAt: nowSeconds(ctx) }
  return ctx.store.transaction(async (store) => {
    if ((await store.principals.getGroup(id)) !== undefined) throw new RequestError('CW_ERR_CONFLICT', `group "${id}" already exists`, { at: '/id' })
    await requireUsers(store, members, '/members')
    await store.principals.upsertGroup(group)
    await store.principals.setGroupMembers(id, members)
    ctx.log.info({ groupId: id, members: members.length }, 'group created')
    return { ...group, members }
  })
}

export async function listGroups(ctx: NodeContext): Promise<GroupDetail[]> {
  const groups = await ctx.store.principals.listGroups()
  return Promise.all(groups.map(async (group) => ({ ...group, members: await ctx.store.principals.listGroupMembers(group.id) })))
}

/** Replaces the members of group `id`. @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_BAD_REQUEST` (unknown user). */
export async function setGroupMembers(ctx: NodeContext, id: string, userIds: string[]): Promise<GroupDetail> {
  const members = checkMembers(userIds, '/members')
  return ctx.store.transaction(async (store) => {
    const group = await store.principals.getGroup(id)
    if (group === undefined) throw new RequestError('CW_ERR_NOT_FOUND', `no group "${id}"`)
    await requireUsers(store, members, '/members')
    await store.principals.setGroupMembers(id, members)
    ctx.log.info({ groupId: id, members: members.length }, 'group members set')
    return { ...group, members }
  })
}

async function requireUsers(store: Repositories, userIds: readonly string[], at: string): Promise<void> {
  for (const [index, userId] of userIds.entries()) {
    if ((await store.principals.getUser(userId)) === undefined) throw new RequestError('CW_ERR_BAD_REQUEST', `no user "${userId}"`, { at: `${at}/${index}` })
  }
}

function checkUser(base: UserRecord, input: UpdateUserInput): UserRecord {
  const user = { ...base }
  if (input.name !== undefined) user.name = checkText(input.name, '/name')
  if (input.email !== undefined) {
    if (input.email !== null && !isEmailAddress(input.email)) {
      throw new RequestError('CW_ERR_BAD_REQUEST', 'email must be one plain e-mail address (name@domain.example)', { at: '/email' })
    }
    user.email = input.email
  }
  if (input.badge !== undefined) {
    if (input.badge !== null && (typeof input.badge !== 'string' || !BADGE_PATTERN.test(input.badge))) {
      throw new RequestError('CW_ERR_BAD_REQUEST', 'badge must be 1 to 64 characters without control characters', { at: '/badge' })
    }
    user.badge = input.badge
  }
  if (input.role !== undefined) {
    if (typeof input.role !== 'string' || !ROLES.has(input.role))
      throw new RequestError('CW_ERR_BAD_REQUEST', 'role must be "admin" or "member"', { at: '/role' })
    user.role = input.role
  }
  if (input.kind !== undefined) {
    if (typeof input.kind !== 'string' || !KINDS.has(input.kind))
      throw new RequestError('CW_ERR_BAD_REQUEST', 'kind must be "user" or "service"', { at: '/kind' })
    user.kind = input.kind
  }
  if (input.disabled !== undefined) {
    if (typeof input.disabled !== 'boolean') throw new RequestError('CW_ERR_BAD_REQUEST', 'disabled must be a boolean', { at: '/disabled' })
    user.disabled = input.disabled
  }
  return user
}

function checkId(value: unknown, at: string): string {
  if (typeof value !== 'string' || !PRINCIPAL_ID_PATTERN.test(value)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'an id is 1 to 200 characters without control characters', { at })
  }
  return value
}

function checkText(value: unknown, at: string): string {
  if (typeof value !== 'string' || !TEXT_PATTERN.test(value)) {
    throw new RequestError('CW_ERR_BAD_REQUEST', 'a name is 1 to 200 characters without control characters', { at })
  }
  return value
}

function checkMembers(value: unknown, at: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_GROUP_MEMBERS)
    throw new RequestError('CW_ERR_BAD_REQUEST', `members must be a list of at most ${MAX_GROUP_MEMBERS} user ids`, { at })
  const members = value.map((member, index) => checkId(member, `${at}/${index}`))
  return [...new Set(members)]
}

function nowSeconds(ctx: Pick<NodeContext, 'clock'>): number {
  return Math.floor(ctx.clock.now().getTime() / 1000)
}
