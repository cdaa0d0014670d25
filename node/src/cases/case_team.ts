/**
 * Who works on a local case: the owner and team on our side. Who else has access (the partner
 * organizations it was shared with) is `access/case_access_overview.ts`.
 *
 * @module
 */
import { RequestError } from '#protocol'
import type { NodeContext } from '../context.ts'
import { MAX_TEAM_MEMBERS as MAX_TEAM } from '../limits.ts'
import { userActor } from '../events.ts'
import type { CaseRecord, Page, PageRequest, TeamMember } from '../store/metadata_store.ts'
import { requireCaseAccess, type AccessPrincipal } from '../access/case_access.ts'
import { getCase, type CaseDetail } from './cases.ts'

export interface PersonRef {
  userId: string
  name: string
}

export interface TeamEntry extends TeamMember {
  /** The user's or group's display name (its id when it no longer exists). */
  name: string
}

export interface CaseTeam {
  caseId: string
  /** Null for a case the node created itself (administrators only). */
  owner: PersonRef | null
  team: TeamEntry[]
}

/**
 * A page of the cases `principal` may read (CW-LOC-054), newest first: its own, its teams', and
 * every case for an administrator — decided in the store, in the terms of `relationTo`.
 */
export function listCasesFor(ctx: NodeContext, principal: AccessPrincipal, page: PageRequest): Promise<Page<CaseRecord>> {
  return ctx.store.cases.listVisible({ userId: principal.userId, groups: principal.groups, seesAll: principal.role === 'admin' }, page)
}

/** Case `caseId` with its folders, for `principal`; recorded as `case.viewed`. */
export async function viewCase(ctx: NodeContext, principal: AccessPrincipal, caseId: string): Promise<CaseDetail> {
  await requireCaseAccess(ctx, principal, caseId, 'read', 'case.view')
  const detail = await getCase(ctx, caseId)
  await ctx.record({ type: 'case.viewed', caseId, actor: userActor(principal.userId) })
  return detail
}

/** The owner and team of case `caseId`. */
export async function getCaseTeam(ctx: NodeContext, principal: AccessPrincipal, caseId: string): Promise<CaseTeam> {
  const { access } = await requireCaseAccess(ctx, principal, caseId, 'read', 'case.team.read')
  return describeTeam(ctx, caseId, access?.owner ?? null, access?.team ?? [])
}

/**
 * Replaces the team of case `caseId` (owner or administrator only). Members are existing users
 * and groups. A case without an owner gets the administrator who sets its team as owner.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND`, `CW_ERR_FORBIDDEN` (a team member),
 *   `CW_ERR_BAD_REQUEST` (unknown user or group).
 */
export async function setCaseTeam(ctx: NodeContext, principal: AccessPrincipal, caseId: string, team: readonly TeamMember[]): Promise<CaseTeam> {
  const { access } = await requireCaseAccess(ctx, principal, caseId, 'administer', 'case.team.set')
  if (!Array.isArray(team) || team.length > MAX_TEAM)
    throw new RequestError('CW_ERR_BAD_REQUEST', `team must be a list of at most ${MAX_TEAM} members`, { at: '/team' })
  const checked: TeamMember[] = []
  const seen = new Set<string>()
  for (const [index, member] of team.entries()) {
    if (typeof member !== 'object' || member === null || (member.kind !== 'user' && member.kind !== 'group') || typeof member.id !== 'string') {
      throw new RequestError('CW_ERR_BAD_REQUEST', 'a team member is { kind: user|group, id }', { at: `/team/${index}` })
    }
    const key = `${member.kind}:${member.id}`
    if (seen.has(key)) continue
    seen.add(key)
    const exists = member.kind === 'user' ? await ctx.store.principals.getUser(member.id) : await ctx.store.principals.getGroup(member.id)
    if (exists === undefined) throw new RequestError('CW_ERR_BAD_REQUEST', `no ${member.kind} "${member.id}"`, { at: `/team/${index}/id` })
    checked.push({ kind: member.kind, id: member.id })
  }
  const owner = access?.owner ?? principal.userId
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  await ctx.store.cases.setAccess({ caseId, owner, team: checked, updatedAt: now })
  ctx.log.info({ caseId, userId: principal.userId, team: checked.length }, 'case team set')
  return describeTeam(ctx, caseId, owner, checked)
}

/** The owner and team of case `caseId` with display names (also for the access overview, `access/case_access_overview.ts`). */
export async function describeTeam(ctx: NodeContext, caseId: string, owner: string | null, team: readonly TeamMember[]): Promise<CaseTeam> {
  const ownerRef = owner === null ? null : { userId: owner, name: (await ctx.store.principals.getUser(owner))?.name ?? owner }
  const entries: TeamEntry[] = []
  for (const member of team) {
    const found = member.kind === 'user' ? await ctx.store.principals.getUser(member.id) : await ctx.store.principals.getGroup(member.id)
    entries.push({ kind: member.kind, id: member.id, name: found?.name ?? member.id })
  }
  return { caseId, owner: ownerRef, team: entries }
}
