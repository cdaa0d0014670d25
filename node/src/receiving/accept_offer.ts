/**
 * Receiving an offer (EP-1, SPEC.md §16): verify the manifest completely, check it comes from
 * the connected peer, apply the replay and revision rules, then store it and queue the chunk
 * pull in one transaction. A refused offer stores nothing (CW-FED-001).
 *
 * Free of HTTP: the federation listener and any other caller use it alike.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { CasewayError, digestBytes, enforceManifest, RequestError, VerificationError, type CaseManifest, type OfferAnswer } from '#protocol'
import type { NodeContext, Transaction } from '../context.ts'
import { partnerActor } from '../events.ts'
import { JOB } from '../jobs/kinds.ts'
import type { InboundRevisionRecord, InboundShareRecord, InboundShareWithManifest } from '../store/metadata_store.ts'
import { neededChunks } from './possession.ts'
import { checkQuotas, countOffer } from './quotas.ts'
import { shareExpiryOf } from './share_expiry.ts'
import { verifyOffer } from './verification/verify_off_loop.ts'
import { crashPoint } from '../operations/crash_points.ts'

export interface AcceptedOffer {
  /** True when the offer was stored now (answer 202); false for an identical re-offer (answer 200). */
  created: boolean
  /** Local id of the external case. */
  inboundId: string
  answer: OfferAnswer
}

/**
 * Accepts a signed manifest offered by `peerOrg` (the org of the verified TLS client
 * certificate). Throws `VerificationError`, `PolicyError` or `RequestError` with the code of
 * the first failing check; nothing is stored then.
 */
export async function acceptOffer(ctx: NodeContext, peerOrg: string, jws: string): Promise<AcceptedOffer> {
  try {
    return await verifyAndStoreOffer(ctx, peerOrg, jws)
  } catch (error) {
    // A refusal is on the record too (SPEC.md CW-FED-001: the refusal is the only trace).
    if (error instanceof CasewayError) await ctx.record({ type: 'offer.refused', actor: partnerActor(peerOrg), code: error.code })
    throw error
  }
}

async function verifyAndStoreOffer(ctx: NodeContext, peerOrg: string, jws: string): Promise<AcceptedOffer> {
  const currentDate = ctx.clock.now()
  // spec: CW-QUO-006 — an identical retry is recognised by its digest before anything costly.
  const retry = await identicalRetry(ctx, peerOrg, jws, Math.floor(currentDate.getTime() / 1000))
  if (retry !== undefined) return retry
  // spec: CW-FED-001, CW-SIG-013, CW-QUO-005 — §8 steps 1–16 (size, header, chain, signature,
  // claims, schema, provenance); a large manifest on a worker thread.
  const verified = await verifyOffer(jws, {
    trustAnchors: await ctx.trustAnchors(),
    audience: ctx.identity.org,
    currentDate,
    maxBytes: ctx.config.limits.manifestBytes,
    // spec: CW-VER-001 — the versions this node is configured to speak.
    versions: ctx.config.federation.protocolVersions,
  })
  const { manifest, digest } = verified
  crashPoint('offer.verified')
  // spec: CW-FED-001, CW-TLS-003 — the signer must be the peer on this connection.
  if (manifest.iss !== peerOrg) {
    throw new VerificationError('CW_ERR_PEER_MISMATCH', '"iss" is not the organization of the connected peer', { at: '/iss' })
  }
  const partner = await ctx.store.partners.get(peerOrg)
  if (partner === undefined || !partner.enabled || partner.trustOnly) throw new RequestError('CW_ERR_PARTNER_UNKNOWN', 'peer is not an enabled partner')

  const now = Math.floor(currentDate.getTime() / 1000)
  const { revision } = manifest.share
  // The share, its fetch job and its inbound.received event (audit, notifications) commit together.
  const received = (action: Transaction, record: InboundShareRecord, items: number) =>
    action.record({ type: 'inbound.received', caseId: record.id, actor: partnerActor(peerOrg), sender: peerOrg, shareId: record.shareId, revision, items })
  const outcome = await ctx.transaction(async (action): Promise<{ created: boolean; record: InboundShareRecord; pending?: InboundRevisionRecord }> => {
    const tx = action.store
    const existing = await tx.inboundShares.find(peerOrg, manifest.share.id)
    // spec: CW-FED-015, CW-FED-016 (3) — revocation wins, over the retry, replay and revision rules.
    if (existing?.status === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', 'share was revoked')
    // spec: CW-FED-004 — the identical manifest again is a retry: same answer, nothing changes.
    if (existing !== undefined && existing.manifestDigest === digest) return { created: false, record: existing }
    // spec: CW-REVN-003 — also for a revision held apart (pending, applied or superseded).
    const held = existing === undefined ? [] : await tx.inboundShares.listRevisions(existing.id)
    const same = held.find((revision) => revision.manifestDigest === digest)
    if (existing !== undefined && same !== undefined) return { created: false, record: existing, pending: same }

    // spec: CW-SIG-012, CW-FED-004 — §8 step 17; the jti is remembered only if the transaction commits.
    const seen = await tx.replay.remember(manifest.iss, manifest.jti, digest, manifest.exp)
    if (seen !== undefined && seen !== digest) {
      throw new VerificationError('CW_ERR_REPLAY', '("iss", "jti") already accepted with another manifest', { at: '/jti' })
    }
    // spec: CW-REVN-009 — a share never seen may start at any revision; its "previous" is not checked.
    if (existing !== undefined) checkRevision(existing, held, manifest)
    // spec: CW-FED-018 — its revocation came first: the share ended before this node ever held it.
    if (existing === undefined && (await tx.inboundShares.getTombstone(peerOrg, manifest.share.id)) !== undefined) {
      throw new RequestError('CW_ERR_SHARE_REVOKED', 'the sender revoked this share before offering it')
    }

    // §8 step 18: the effective policy on what the manifest carries.
    enforceManifest(verified)
    // spec: CW-QUO-001..003 — in this transaction, so concurrent offers cannot share the last of a quota.
    await checkQuotas(ctx, tx, peerOrg, manifest, now)
    await countOffer(tx, peerOrg, manifest, now)

    // spec: CW-REVN-003 — once a revision was received completely, later ones are kept apart
    // (pending) while the external case keeps showing what is applied. Before that (the first
    // revision still receiving, or rejected), the newer revision replaces it, as the first did.
    if (existing !== undefined && (held.length > 0 || (existing.status !== 'receiving' && existing.status !== 'rejected'))) {
      const pending: InboundRevisionRecord = {
        inboundId: existing.id,
        revision,
        manifestJws: jws,
        manifestDigest: digest,
        manifest,
        policy: verified.chain.effectivePolicy,
        status: 'pending',
        transfer: 'receiving',
        receiptJws: null,
        receiptSent: false,
        receivedAt: now,
        verifiedAt: null,
      }
      await tx.inboundShares.insertRevision(pending)
      await ctx.jobs.enqueue(action, JOB.fetch, existing.id, { revision }, now)
      received(action, existing, manifest.evidence.length)
      return { created: true, record: existing, pending }
    }

    const record: InboundShareWithManifest = {
      id: existing?.id ?? randomUUID(),
      senderOrg: peerOrg,
      senderName: partner.name,
      shareId: manifest.share.id,
      revision,
      manifestJws: jws,
      manifestDigest: digest,
      manifest,
      policy: verified.chain.effectivePolicy,
      status: 'receiving',
      statusDetail: null,
      receivedAt: now,
      completedAt: null,
      // spec: CW-SIG-014, CW-REV-007 — the last grant's exp, not the manifest's.
      expiresAt: shareExpiryOf(manifest),
      receiptJws: null,
    }
    if (existing === undefined) await tx.inboundShares.insert(record)
    else await tx.inboundShares.update(record)
    await ctx.jobs.enqueue(action, JOB.fetch, record.id, { revision }, now)
    received(action, record, manifest.evidence.length)
    return { created: true, record }
  })

  if (outcome.created) crashPoint('offer.stored')
  const { created, record, pending } = outcome
  if (created) {
    const revisionNumber = pending?.revision ?? record.revision
    ctx.log.info({ peerOrg, shareId: record.shareId, revision: revisionNumber, inboundId: record.id, pending: pending !== undefined }, 'offer accepted')
  }
  return { created, inboundId: record.id, answer: await answerOf(ctx, peerOrg, record, pending) }
}

/** The offer answer (CW-FED-003) for the applied revision of `record`, or for `pending`. */
async function answerOf(ctx: NodeContext, peerOrg: string, record: InboundShareRecord, pending: InboundRevisionRecord | undefined): Promise<OfferAnswer> {
  const about =
    pending === undefined
      ? { revision: record.revision, manifest: record.manifest, receiving: record.status === 'receiving' }
      : { revision: pending.revision, manifest: pending.manifest, receiving: pending.transfer === 'receiving' }
  return {
    share: record.shareId,
    revision: about.revision,
    // Anything past receiving (complete, or rejected with its receipt) has finished processing.
    status: about.receiving ? 'receiving' : 'complete',
    // spec: CW-REVN-005 — for a pending revision, the chunks of that revision.
    // spec: CW-POS-001, CW-POS-002 — all but those this partner delivered itself.
    needed: await neededChunks(ctx.store, peerOrg, about.manifest),
  }
}

/**
 * spec: CW-FED-004, CW-QUO-006 — the answer to an identical re-offer, recognised by the digest
 * of its payload before the manifest is read or verified again (a partner retrying a 20 MiB
 * offer must not cost a full verification each time, nor a parse); undefined when `jws` is not
 * one already accepted from this peer, or when its manifest has expired (then the full
 * verification answers). The payload was verified when it was accepted, and the lookup is the
 * peer's own shares only. A revoked share still answers `CW_ERR_SHARE_REVOKED`: revocation wins
 * over the retry answer.
 */
async function identicalRetry(ctx: NodeContext, peerOrg: string, jws: string, now: number): Promise<AcceptedOffer | undefined> {
  const parts = jws.split('.')
  if (parts.length !== 3) return undefined
  const digest = digestBytes(Buffer.from(parts[1]!, 'base64url'))
  const partner = await ctx.store.partners.get(peerOrg)
  if (partner === undefined || !partner.enabled || partner.trustOnly) return undefined
  const state = await ctx.store.inboundShares.findStateByDigest(peerOrg, digest)
  if (state === undefined) return undefined
  const held =
    state.manifestDigest === digest ? undefined : (await ctx.store.inboundShares.listRevisionStates(state.id)).find((row) => row.manifestDigest === digest)
  if (state.manifestDigest !== digest && held === undefined) return undefined
  // spec: CW-FED-015 — revocation wins: checked ahead of the retry answer.
  if (state.status === 'revoked') throw new RequestError('CW_ERR_SHARE_REVOKED', 'share was revoked')
  const existing = await ctx.store.inboundShares.get(state.id)
  const pending = held === undefined ? undefined : await ctx.store.inboundShares.getRevision(state.id, held.revision)
  // Changed since the digests were read: the full verification answers.
  if (existing === undefined || (held === undefined ? existing.manifestDigest !== digest : pending?.manifestDigest !== digest)) return undefined
  if ((pending?.manifest ?? existing.manifest).exp <= now) return undefined
  return { created: false, inboundId: existing.id, answer: await answerOf(ctx, peerOrg, existing, pending) }
}

/**
 * CW-FED-004, CW-REVN-002: the next revision must follow the latest one held (applied or
 * pending): a lower number, another manifest for a held number, a `previous` that is not the
 * digest of the latest held revision, or a number beyond latest + 1 (out of order: we do not
 * hold the revision before it) is stale; the sender offers the missing revisions in order.
 */
function checkRevision(existing: InboundShareRecord, held: InboundRevisionRecord[], manifest: CaseManifest): void {
  const { revision, previous } = manifest.share
  let latest = { revision: existing.revision, digest: existing.manifestDigest }
  for (const row of held) if (row.revision > latest.revision) latest = { revision: row.revision, digest: row.manifestDigest }
  if (revision < latest.revision) {
    throw new VerificationError('CW_ERR_STALE_REVISION', `revision ${revision} is older than the accepted revision ${latest.revision}`, {
      at: '/share/revision',
    })
  }
  if (revision === latest.revision) {
    throw new VerificationError('CW_ERR_STALE_REVISION', `a different manifest for revision ${revision} was already accepted`, { at: '/share/revision' })
  }
  if (revision > latest.revision + 1) {
    throw new VerificationError('CW_ERR_STALE_REVISION', `revision ${revision} is out of order: revision ${revision - 1} was never accepted; offer it first`, {
      at: '/share/revision',
    })
  }
  if (previous !== latest.digest) {
    throw new VerificationError('CW_ERR_STALE_REVISION', `"previous" is not the digest of the accepted revision ${latest.revision}`, { at: '/share/previous' })
  }
}
