/**
 * The work behind the conformance control endpoints (SPEC.md §21): a partner's conformance
 * harness makes this node share a new case with it (EP-6), add evidence to that share's case
 * (EP-8), share back onward a case the harness sent us (EP-9) and revoke the shares EP-6 or
 * EP-9 made (EP-7), with no one at our UI. The listener serves them only when
 * the operator enabled them (CW-CTL-001, `federation/control.ts`).
 *
 * A trigger, not a shortcut (CW-CTL-003): the case is made by `createCase`, the items by
 * `storeEvidenceContent` and `addEvidence` (as `uploadEvidence`), the share by `createShare` under the policy assigned to the partner (which
 * leaves out what the policy excludes), the next revision by `reviseShare`, the revocation by
 * `revokeShare`, the onward share by `shareReceivedOnward` — the rules a user's share follows.
 * Each acts only for the calling peer: EP-9 only on a share that peer sent us, EP-7 only on
 * shares EP-6 or EP-9 made for it, EP-8 only on shares EP-6 made for it (CW-CTL-002). The actor of every event is the
 * partner.
 *
 * Free of HTTP.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import {
  assertControlEvidenceRequest,
  assertControlShareRequest,
  RequestError,
  VerificationError,
  type ControlItem,
  type ControlRevisionAnswer,
  type ControlShareAnswer,
  type RevocationAnswer,
  type SharingPolicy,
} from '#protocol'
import type { NodeContext } from '../context.ts'
import { partnerActor, type Actor } from '../events.ts'
import type { EvidenceRecord, OutboundShareRecord } from '../store/metadata_store.ts'
import { shareNotFound } from '../access/case_access.ts'
import { createCase } from '../cases/cases.ts'
import { addEvidence, storeEvidenceContent } from '../cases/evidence.ts'
import { shareReceivedOnward } from './share_onward.ts'
import { createShare, getShare, partnerPolicy } from './share_case.ts'
import { reviseShare } from './revisions.ts'
import { revokeShare } from '../revocation/revoke_share.ts'

/** Media type of every item the control endpoints create. */
export const CONTROL_ITEM_MEDIA_TYPE = 'application/octet-stream'
/** Random bytes are made and stored this many at a time: memory stays flat whatever the size. */
const PIECE_BYTES = 64 * 1024

/** Who a control share names as its creator (`createdBy`, shown as "shared by"). */
export function controlCreator(peerOrg: string): string {
  return `conformance:${peerOrg}`
}

/**
 * EP-6: a new case with `request.fields` and `request.items`, shared entirely (scope `case`,
 * recipients: the agency) with `peerOrg` under its assigned policy, for `expiresInSeconds` if
 * given (still bounded by the configuration and the policy). The offer is queued as for any share.
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST` (body, naming the field), `CW_ERR_CONFLICT`
 *   (`peerOrg` has no policy assigned).
 */
export async function controlShare(ctx: NodeContext, peerOrg: string, request: unknown): Promise<ControlShareAnswer> {
  const body = checkedBody(assertControlShareRequest, request)
  // Refused before anything is made: no case is left behind for a partner we cannot share with.
  await partnerPolicy(ctx, peerOrg)
  const actor = partnerActor(peerOrg)
  const theCase = await createCase(ctx, { fields: body.fields ?? {} }, actor)
  await uploadItems(ctx, theCase.id, body.items, actor)
  const { share } = await createShare(ctx, {
    caseId: theCase.id,
    partnerOrg: peerOrg,
    scope: 'case',
    recipients: [{ kind: 'agency', id: peerOrg }],
    ...(body.expiresInSeconds === undefined ? {} : { expiresInSeconds: body.expiresInSeconds }),
    createdBy: controlCreator(peerOrg),
    actor,
  })
  await ctx.store.outboundShares.insertControlShare({ shareId: share.id, peerOrg, createdAt: share.createdAt })
  ctx.log.info({ shareId: share.id, caseId: theCase.id, partner: peerOrg, items: body.items.length }, 'conformance control: share created')
  return { share: share.id, case: theCase.id }
}

/**
 * EP-9: shares the external case of share `shareId` that `peerOrg` sent us back onward to
 * `peerOrg` (recipients: its agency), as a user's onward share would be made, under the
 * received effective policy with one hop less ({@link onwardAttenuated}). A received policy that
 * does not allow onward sharing is passed on unchanged, so the onward service's own refusal
 * answers. Recorded as a control share of `peerOrg`: EP-7 revokes it.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (`peerOrg` sent us no such share, or we refused
 *   it), and what `shareReceivedOnward` throws: `CW_ERR_CONFLICT` (still being received),
 *   `CW_ERR_SHARE_REVOKED`, `CW_ERR_SHARE_EXPIRED`.
 * @throws {PolicyError} `CW_ERR_CHAIN_DEPTH_EXCEEDED`, `CW_ERR_PARTNER_NOT_ALLOWED`.
 */
export async function controlShareOnward(ctx: NodeContext, peerOrg: string, shareId: string): Promise<ControlShareAnswer> {
  // spec: CW-CTL-002 — only a share the caller sent us; a refused one is one we do not hold.
  const inbound = await ctx.store.inboundShares.find(peerOrg, shareId)
  if (inbound === undefined || inbound.status === 'rejected') throw shareNotFound(shareId)
  const { share } = await shareReceivedOnward(
    ctx,
    inbound,
    { partnerOrg: peerOrg, policy: onwardAttenuated(inbound.policy), recipients: [{ kind: 'agency', id: peerOrg }] },
    { createdBy: controlCreator(peerOrg), actor: partnerActor(peerOrg) },
  )
  await ctx.store.outboundShares.insertControlShare({ shareId: share.id, peerOrg, createdAt: share.createdAt })
  ctx.log.info({ shareId: share.id, inboundId: inbound.id, partner: peerOrg }, 'conformance control: shared onward')
  return { share: share.id, case: inbound.id }
}

/**
 * The onward policy of EP-9: `received` with `shareOnward.maxDepth` one less (and `allowed`
 * false once it is 0), which attenuates it (CW-POL-005). A policy that allows no onward sharing
 * is returned as it is: the onward service refuses it (CW-PROV-004).
 */
export function onwardAttenuated(received: SharingPolicy): SharingPolicy {
  const { shareOnward } = received.permissions
  if (!shareOnward.allowed || shareOnward.maxDepth < 1) return received
  const maxDepth = shareOnward.maxDepth - 1
  return { ...received, permissions: { ...received.permissions, shareOnward: { ...shareOnward, allowed: maxDepth > 0, maxDepth } } }
}

/**
 * EP-8: adds `request.items` to the case of control share `shareId`, then makes one new
 * revision of the share (CW-REVN-001) and offers it. Answers the share's latest revision
 * number, unchanged when nothing the share carries changed (items the policy leaves out).
 *
 * @throws {RequestError} `CW_ERR_BAD_REQUEST`, `CW_ERR_NOT_FOUND` (no control share of
 *   `peerOrg`), `CW_ERR_CONFLICT` (revoked or expired).
 */
export async function controlEvidence(ctx: NodeContext, peerOrg: string, shareId: string, request: unknown): Promise<ControlRevisionAnswer> {
  const body = checkedBody(assertControlEvidenceRequest, request)
  const share = await requireControlShare(ctx, peerOrg, shareId)
  // An onward share (EP-9) has no case of ours to add to: not a share EP-6 made, the same answer.
  if ((await ctx.store.inboundShares.get(share.caseId)) !== undefined) throw shareNotFound(shareId)
  // Checked before the items are stored: a share that makes no more revisions gets none of them.
  const current = await getShare(ctx, share.id)
  if (current.status === 'revoked' || current.status === 'expired') {
    throw new RequestError('CW_ERR_CONFLICT', `share "${share.id}" is ${current.status}: it makes no more revisions`)
  }
  const actor = partnerActor(peerOrg)
  // All items in one transaction: the live-revision consumer makes one revision of them.
  await uploadItems(ctx, share.caseId, body.items, actor)
  // That revision already exists, unless making it failed: then again here, with its errors answered.
  const revised = await reviseShare(ctx, share.id, {}, actor, true)
  const revision = revised?.revision ?? (await getShare(ctx, share.id)).revision
  ctx.log.info({ shareId: share.id, caseId: share.caseId, partner: peerOrg, items: body.items.length, revision }, 'conformance control: evidence added')
  return { share: share.id, revision }
}

/**
 * EP-7: revokes control share `shareId` (made by EP-6 or EP-9) as a user's revocation would: closed at once, the
 * signed revocation sent to the peer on EP-5 until it takes it. Revoking it again changes nothing.
 *
 * @throws {RequestError} `CW_ERR_NOT_FOUND` (no control share of `peerOrg`).
 */
export async function controlRevoke(ctx: NodeContext, peerOrg: string, shareId: string): Promise<RevocationAnswer> {
  const share = await requireControlShare(ctx, peerOrg, shareId)
  const { revoked } = await revokeShare(ctx, share.id, { actor: partnerActor(peerOrg) })
  ctx.log.info({ shareId: share.id, partner: peerOrg, revoked }, 'conformance control: share revoked')
  return { share: share.id, status: 'revoked' }
}

/**
 * spec: CW-CTL-002 — a share EP-6 or EP-9 made for `peerOrg`; any other id gets the answer of
 * one that does not exist.
 */
async function requireControlShare(ctx: NodeContext, peerOrg: string, shareId: string): Promise<OutboundShareRecord> {
  const control = await ctx.store.outboundShares.getControlShare(shareId)
  const share = control?.peerOrg === peerOrg ? await ctx.store.outboundShares.get(shareId) : undefined
  if (share === undefined || share.partnerOrg !== peerOrg) throw shareNotFound(shareId)
  return share
}

/** Stores the items in order, `item-<index>.bin`, each of `size` random bytes. */
export async function uploadItems(ctx: NodeContext, caseId: string, items: readonly ControlItem[], actor: Actor): Promise<void> {
  const records: EvidenceRecord[] = []
  for (const [index, item] of items.entries()) {
    const record = await storeEvidenceContent(
      ctx,
      caseId,
      {
        name: `item-${index}.bin`,
        category: item.category,
        mediaType: CONTROL_ITEM_MEDIA_TYPE,
        doNotDisclose: item.doNotDisclose ?? false,
        attachmentOf: item.attachmentOf === undefined ? null : records[item.attachmentOf]!.id,
      },
      randomContent(item.size),
      records,
    )
    records.push(record)
  }
  await addEvidence(ctx, records, actor)
}

async function* randomContent(size: number): AsyncGenerator<Uint8Array> {
  for (let left = size; left > 0; left -= PIECE_BYTES) yield randomBytes(Math.min(PIECE_BYTES, left))
}

/** The body, checked with its protocol schema; one that fails it is the caller's bad request, naming the field. */
export function checkedBody<T>(assertBody: (value: unknown) => asserts value is T, value: unknown): T {
  try {
    assertBody(value)
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error
    throw new RequestError('CW_ERR_BAD_REQUEST', error.message, error.at === undefined ? { cause: error } : { at: error.at, cause: error })
  }
  return value
}
