/**
 * What a notification says about a share that arrived: taken from the inbound share when the
 * revision is received and kept in the notification jobs' payload, so every retry sends the
 * same thing (the same event id too) even after a newer revision replaced the stored one.
 *
 * It carries only what the sender's policy let into the manifest, and of that only the case
 * number, the title, the sender's message and counts: never other case fields, evidence names
 * or bytes.
 *
 * @module
 */
import type { Recipient } from '#protocol'
import { PermanentJobError } from '../jobs/job_runner.ts'
import { defaultRecipients } from '../access/recipients.ts'
import type { InboundShareRecord } from '../store/metadata_store.ts'

export interface ShareNotice {
  /** Event id: the webhook's `id` and `Caseway-Event-Id`, the e-mail's Message-ID; the same on every retry. */
  id: string
  /** When the revision was accepted (ISO 8601, UTC). */
  occurredAt: string
  /** The external case. */
  inboundId: string
  revision: number
  sender: { org: string; name: string }
  /** The sender's share id. */
  shareId: string
  /** The case number and title, only when the sender's policy shared them. */
  caseNumber: string | null
  title: string | null
  /** The sender's message, if any. */
  message: string | null
  /** Number of evidence items in the revision. */
  items: number
  /** Whom the sender named at our organization (the entire agency when it named no one); for an addition, the added ones. */
  recipients: Recipient[]
  /**
   * Set when the notice is about recipients our side added (CW-LOC-026): the id of the event
   * that added them. Such a notice has its own job and no row in the per-revision state.
   */
  addition?: string
}

const RECIPIENT_KINDS = new Set<Recipient['kind']>(['user', 'group', 'email', 'badge', 'agency'])

function textField(fields: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = fields[name]
  return typeof value === 'string' && value.length > 0 ? value : null
}

/** The notice for the revision `inbound` holds now. */
export function shareNotice(inbound: InboundShareRecord, options: { id: string; occurredAt: Date; ourOrg: string }): ShareNotice {
  const { manifest } = inbound
  const named = manifest.share.recipients
  return {
    id: options.id,
    occurredAt: options.occurredAt.toISOString(),
    inboundId: inbound.id,
    revision: inbound.revision,
    sender: { org: inbound.senderOrg, name: inbound.senderName },
    shareId: inbound.shareId,
    caseNumber: textField(manifest.case.fields, 'caseNumber'),
    title: textField(manifest.case.fields, 'title'),
    message: manifest.share.message ?? null,
    items: manifest.evidence.length,
    recipients: named === undefined || named.length === 0 ? defaultRecipients(options.ourOrg) : named.map((r) => ({ kind: r.kind, id: r.id })),
  }
}

/**
 * The notice in a notification job's payload (`{ notice }`).
 *
 * @throws {PermanentJobError} when the payload is not one (retrying cannot help).
 */
export function noticeFromPayload(payload: Record<string, unknown>): ShareNotice {
  const notice = payload['notice'] as Partial<ShareNotice> | undefined
  const nullableString = (value: unknown) => value === null || typeof value === 'string'
  const ok =
    typeof notice === 'object' &&
    notice !== null &&
    typeof notice.id === 'string' &&
    typeof notice.occurredAt === 'string' &&
    typeof notice.inboundId === 'string' &&
    Number.isSafeInteger(notice.revision) &&
    (notice.revision as number) >= 1 &&
    typeof notice.sender?.org === 'string' &&
    typeof notice.sender.name === 'string' &&
    typeof notice.shareId === 'string' &&
    nullableString(notice.caseNumber) &&
    nullableString(notice.title) &&
    nullableString(notice.message) &&
    Number.isSafeInteger(notice.items) &&
    Array.isArray(notice.recipients) &&
    notice.recipients.every((r) => typeof r?.id === 'string' && RECIPIENT_KINDS.has(r.kind)) &&
    (notice.addition === undefined || typeof notice.addition === 'string')
  if (!ok) throw new PermanentJobError('notification job payload is not a share notice')
  return notice as ShareNotice
}
