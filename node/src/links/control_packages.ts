/**
 * The conformance control endpoint EP-13 (SPEC.md §21): the node makes a new case with the
 * caller's items and a link share of it for the caller's user or group, as one of its users would,
 * so its package is built and offered on the caller's EP-10 like any other (CW-CTL-003). The
 * answer names a user of ours the caller may offer its own packages to. EP-7 revokes it.
 *
 * @module
 */
import { assertControlPackageRequest, type ControlPackageAnswer, type RevocationAnswer } from '#protocol'
import type { NodeContext } from '../context.ts'
import { partnerActor } from '../events.ts'
import { createCase } from '../cases/cases.ts'
import { createUser } from '../access/principals.ts'
import { checkedBody, controlCreator, uploadItems } from '../sending/conformance_control.ts'
import { createLinkShare, revokeLinkShare } from './link_shares.ts'
import { partnerRecipientOf } from './package_offer.ts'

/** The user of ours a conformance partner may name in its package offers (made on first use). */
export function controlRecipient(peerOrg: string): string {
  return `conformance-${peerOrg}`
}

/**
 * EP-13 — spec: CW-CTL-002, CW-CTL-003: a package offered only to the caller.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` (body, naming the field).
 */
export async function controlPackage(ctx: NodeContext, peerOrg: string, request: unknown): Promise<ControlPackageAnswer> {
  const body = checkedBody(assertControlPackageRequest, request)
  const localRecipient = controlRecipient(peerOrg)
  if ((await ctx.store.principals.getUser(localRecipient)) === undefined)
    await createUser(ctx, { id: localRecipient, name: `Conformance recipient (${peerOrg})` })
  const actor = partnerActor(peerOrg)
  const theCase = await createCase(ctx, { fields: { title: 'Conformance package' } }, actor)
  await uploadItems(ctx, theCase.id, body.items, actor)
  const link = await createLinkShare(ctx, {
    caseId: theCase.id,
    createdBy: controlCreator(peerOrg),
    recipient: { kind: body.recipient.kind === 'user' ? 'partner-user' : 'partner-group', value: `${peerOrg}/${body.recipient.id}` },
    scope: 'case',
    format: body.format ?? 'zip',
  })
  ctx.log.info({ linkShareId: link.id, caseId: theCase.id, partner: peerOrg }, 'conformance control: package link share created')
  return { package: link.id, localRecipient }
}

/** EP-7 with a package EP-13 offered `peerOrg`: revoked as its user would; undefined for any other id. */
export async function controlRevokePackage(ctx: NodeContext, peerOrg: string, packageId: string): Promise<RevocationAnswer | undefined> {
  const link = await ctx.store.linkShares.get(packageId)
  if (link === undefined || link.createdBy !== controlCreator(peerOrg) || partnerRecipientOf(link)?.org !== peerOrg) return undefined
  await revokeLinkShare(ctx, link, { kind: 'user', id: controlCreator(peerOrg) })
  return { share: link.id, status: 'revoked' }
}
