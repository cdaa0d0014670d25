/**
 * Domain events: what happened on this node, recorded once by the service that did it, in
 * the transaction of its action (`NodeContext.transaction`, `tx.record`), and handed to the
 * consumers that care through the outbox (`outbox/`: audit trail, notifications, live-share
 * revisions; metrics after the commit). Services never call those subsystems directly, so
 * each can change without touching the others.
 *
 * Events are stored as JSON in the outbox: plain data only.
 *
 * @module
 */
import type { NotificationChannel } from './store/metadata_store.ts'

/** Who did it: a local user (by token), a partner organization, or the node itself. */
export type Actor = { kind: 'user'; id: string } | { kind: 'partner'; org: string } | { kind: 'system' }

interface Base {
  /** Local case id, or the external case (inbound share) id, the event belongs to. */
  caseId: string
  actor: Actor
}

export type NodeEvent =
  | (Base & { type: 'case.created' })
  | (Base & { type: 'case.updated'; fields: string[] })
  | (Base & { type: 'evidence.uploaded'; evidenceId: string; digest: string; size: number })
  | (Base & { type: 'evidence.deleted'; evidenceId: string; digest: string; size: number })
  | (Base & { type: 'share.created'; shareId: string; partner: string; revision: number; items: number })
  | (Base & { type: 'share.offered'; shareId: string; partner: string; revision: number })
  | (Base & { type: 'share.delivered'; shareId: string; partner: string; revision: number })
  | (Base & { type: 'share.rejected'; shareId: string; partner: string; revision: number; code: string })
  | (Base & { type: 'share.failed'; shareId: string; partner: string; error: string })
  | (Base & { type: 'receipt.verified'; shareId: string; partner: string; revision: number; status: 'delivered' | 'rejected' })
  | (Base & { type: 'inbound.received'; sender: string; shareId: string; revision: number; items: number })
  | (Base & { type: 'inbound.completed'; sender: string; shareId: string; revision: number; bytes: number })
  | (Base & { type: 'inbound.rejected'; sender: string; shareId: string; revision: number; code: string })
  | (Base & { type: 'evidence.viewed'; evidenceId: string })
  | (Base & { type: 'evidence.downloaded'; evidenceId: string; bytes: number })
  | (Base & { type: 'case.viewed' })
  | (Base & { type: 'case.imported'; importedCaseId: string })
  | (Base & { type: 'action.refused'; action: string; code: string })
  // Notifications of an inbound share (caseId = the external case): one event per delivery attempt outcome.
  // withheld: e-mail recipients the partner named that were not mailed (CW-NOT-006); addition: the recipients.added event notified.
  | (Base & { type: 'notification.sent'; channel: NotificationChannel; revision: number; attempts: number; withheld?: number; addition?: string })
  | (Base & { type: 'notification.failed'; channel: NotificationChannel; revision: number; attempts: number; error: string; dead: boolean; addition?: string })
  // Revocation (SPEC.md §13). share.revoked: caseId = the shared case (or external case of an onward share);
  // derivedFrom = the inbound id whose revocation cascaded to it, null when our user revoked it.
  | (Base & { type: 'share.revoked'; shareId: string; partner: string; reason: string | null; derivedFrom: string | null })
  | (Base & { type: 'revocation.delivered'; shareId: string; partner: string })
  // inbound.revoked: caseId = the external case; the sender revoked it (verified revocation).
  | (Base & { type: 'inbound.revoked'; sender: string; shareId: string; reason: string | null; cascaded: number })
  // Revisions and updates: a live or explicit revision of an outbound share; updates applied to an external case (and its import).
  | (Base & { type: 'share.revised'; shareId: string; partner: string; revision: number; items: number })
  | (Base & { type: 'updates.applied'; revision: number; updates: string[]; importedCaseId: string | null })
  // Recipients the receiving side added (SPEC.md CW-LOC-025): recipients.added on the external case (queues the
  // notifications of the added ones), import.recipients_added on the case imported from it; recipients as "kind:id".
  | (Base & { type: 'recipients.added'; revision: number; recipients: string[]; importedCaseId: string | null })
  | (Base & { type: 'import.recipients_added'; inboundId: string; recipients: string[] })
  // Link shares (SPEC.md §22): recipient as "kind:value"; link.downloaded names the client address and the bytes
  // sent (range: "first-last" of a partial download), through the local API or the download listener.
  | (Base & { type: 'link.created'; linkShareId: string; recipient: string; format: string; expiresAt: number })
  | (Base & { type: 'link.ready'; linkShareId: string; items: number; bytes: number; packageDigest: string })
  | (Base & { type: 'link.failed'; linkShareId: string; error: string })
  | (Base & {
      type: 'link.downloaded'
      linkShareId: string
      bytes: number
      range: string | null
      address: string
      via: 'local-api' | 'download-listener' | 'federation'
    })
  | (Base & { type: 'link.revoked'; linkShareId: string })
  | (Base & { type: 'link.emailed'; linkShareId: string })
  // A link share's package offered to a partner's user or group, accepted by its node (SPEC.md CW-PKG-012).
  | (Base & { type: 'link.offered'; linkShareId: string; partner: string })
  // Packages partners offered our users (SPEC.md CW-PKG-017): caseId = the inbound package's id.
  | (Base & { type: 'package.offered'; sender: string; packageId: string; recipients: string[]; bytes: number })
  | (Base & { type: 'package.received'; sender: string; packageId: string; bytes: number; manifest: string })
  | (Base & { type: 'package.refused'; sender: string; packageId: string; code: string })
  | (Base & { type: 'package.downloaded'; sender: string; packageId: string; bytes: number; range: string | null; address: string })
  | (Base & { type: 'package.revoked'; sender: string; packageId: string })

/** A refusal that belongs to no case (an offer refused before anything was stored). */
export interface RefusalEvent {
  type: 'offer.refused'
  actor: Actor
  code: string
  shareId?: string
}

/**
 * A bearer token of the local API was created or revoked (CW-LOC-010): node-wide, on the
 * chain of events that belong to no case. Never the secret or its hash. `cause` of a
 * revocation: `revoked` (by a user) or `user.disabled` (its user was disabled, CW-LOC-010).
 */
export type TokenEvent =
  | { type: 'token.created'; actor: Actor; tokenId: string; userId: string; role: 'admin' | 'member'; expiresAt: number }
  | { type: 'token.revoked'; actor: Actor; tokenId: string; userId: string; cause: 'revoked' | 'user.disabled' }

/**
 * The blob collector deleted `freed` blobs (`bytes` in all) that no record named any more
 * (`operations/blob_collector.ts`): node-wide, since a chunk belongs to no one case. Recorded
 * only when it deleted something; never for a dry run.
 */
export interface StorageEvent {
  type: 'blobs.collected'
  actor: Actor
  freed: number
  bytes: number
}

export type AnyNodeEvent = NodeEvent | RefusalEvent | TokenEvent | StorageEvent

/** The node itself (jobs, expiry). */
export const SYSTEM_ACTOR: Actor = Object.freeze({ kind: 'system' })

export function userActor(userId: string): Actor {
  return { kind: 'user', id: userId }
}

export function partnerActor(org: string): Actor {
  return { kind: 'partner', org }
}
