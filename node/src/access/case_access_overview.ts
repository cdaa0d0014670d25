/**
 * "Who has access" to a local case (SPEC.md CW-LOC-002): the owner (marked as such) and team
 * on our side, and each partner organization it was shared with, with its recipients and
 * access level. It reads cases and shares alike, so it lives here rather than in cases/
 * (which never depends on sending/).
 *
 * @module
 */
import type { Recipient } from '#protocol'
import type { NodeContext } from '../context.ts'
import { describeTeam, type CaseTeam } from '../cases/case_team.ts'
import { listShares } from '../sending/share_case.ts'
import { describeShare, type ShareStatus } from '../sending/share_view.ts'
import { describeLinkShare, listLinkShares, type LinkShareView } from '../links/link_shares.ts'
import { accessLevelOf, requireCaseAccess, type AccessLevel, type AccessPrincipal } from './case_access.ts'

export interface ShareAccess {
  shareId: string
  org: string
  orgName: string
  recipients: Recipient[]
  accessLevel: AccessLevel
  /** As the share reads (CW-LOC-030): `retrying` while a failed offer will be tried again. */
  status: ShareStatus
  sharedBy: string
  sharedOn: number
  expiresAt: number
}

/** Everything "who has access" shows: owner (marked as such), team, each share and each link share. */
export interface CaseAccessOverview extends CaseTeam {
  shares: ShareAccess[]
  /** spec: CW-LOC-036 — the case's link shares, with their recipients and status. */
  linkShares: LinkShareView[]
}

/** Who has access to case `caseId`: owner, team, and every share with its recipients and access level. */
export async function getCaseAccessOverview(ctx: NodeContext, principal: AccessPrincipal, caseId: string): Promise<CaseAccessOverview> {
  const { access } = await requireCaseAccess(ctx, principal, caseId, 'read', 'case.access.read')
  const team = await describeTeam(ctx, caseId, access?.owner ?? null, access?.team ?? [])
  const partners = new Map((await ctx.store.partners.list()).map((partner) => [partner.org, partner.name]))
  const described = await Promise.all((await listShares(ctx, caseId)).map((share) => describeShare(ctx, share)))
  const shares = described.map((share): ShareAccess => ({
    shareId: share.id,
    org: share.partnerOrg,
    orgName: partners.get(share.partnerOrg) ?? share.partnerOrg,
    recipients: share.recipients,
    accessLevel: accessLevelOf(share.policy.permissions),
    status: share.status,
    sharedBy: share.createdBy,
    sharedOn: share.createdAt,
    expiresAt: share.expiresAt,
  }))
  const linkShares = (await listLinkShares(ctx, caseId)).map((link) => describeLinkShare(ctx, link))
  return { ...team, shares, linkShares }
}
