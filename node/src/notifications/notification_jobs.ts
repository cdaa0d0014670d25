/**
 * The notification jobs (`notify-email`, `notify-webhook`; ref `<inbound id>:<revision>`,
 * payload `{ notice }`). Each attempt records its outcome in the `notifications` table and as
 * a `notification.sent` / `notification.failed` event. A failed attempt throws, so the job
 * runner retries it with its back-off; after the runner's `maxAttempts` the notification is
 * `dead`. The share itself never depends on this: it is stored before any notification is
 * queued, and nothing here changes it.
 *
 * A job may run again after a crash or alongside a duplicate; one whose notification is
 * already `sent` does nothing, so a notification is sent once in the normal case and at least
 * once in any case.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { SYSTEM_ACTOR, type NodeEvent } from '../events.ts'
import { PermanentJobError, type JobHandler } from '../jobs/job_runner.ts'
import { JOB } from '../jobs/kinds.ts'
import { recipientEmails, type NotificationAddresses } from '../access/recipients.ts'
import type { JobRecord, NotificationChannel, NotificationStatus } from '../store/metadata_store.ts'
import { composeShareEmail, sendEmail } from './email.ts'
import { noticeFromPayload, type ShareNotice } from './notice.ts'
import { postWebhook, shareReceivedEvent } from './webhook.ts'
import { crashPoint } from '../operations/crash_points.ts'

export type NotificationJobKind = typeof JOB.notifyEmail | typeof JOB.notifyWebhook

/** The job kind that delivers each channel. */
export const NOTIFICATION_JOB: Readonly<Record<NotificationChannel, NotificationJobKind>> = {
  email: JOB.notifyEmail,
  webhook: JOB.notifyWebhook,
}

const MAX_ERROR_LENGTH = 500

/** The ref of a notification job: one per external case, revision and channel (with the kind). */
export function notificationRef(inboundId: string, revision: number): string {
  return `${inboundId}:${revision}`
}

/** What one attempt reports when it delivered (for the log); `withheld` also goes on the audit trail. */
type Delivered = Record<string, number | string> & { withheld?: number }

export function notificationJobHandlers(ctx: NodeContext): Record<NotificationJobKind, JobHandler> {
  const seconds = () => Math.floor(ctx.clock.now().getTime() / 1000)

  /**
   * Records a notification's status and the event saying so in one transaction: a crash between
   * the two would leave a notification marked sent that never reaches the audit trail (the job,
   * run again, finds it sent and stops). An addition (CW-LOC-026) has no per-revision row: its
   * job and its audit event are its record.
   */
  async function setStatus(
    notice: ShareNotice,
    channel: NotificationChannel,
    status: NotificationStatus,
    attempts: number,
    lastError: string | null,
    event: NodeEvent,
  ) {
    await ctx.transaction(async (tx) => {
      if (notice.addition === undefined) {
        await tx.store.notifications.upsert({
          inboundId: notice.inboundId,
          revision: notice.revision,
          channel,
          status,
          attempts,
          lastError,
          updatedAt: seconds(),
        })
      }
      tx.record(event)
    })
  }

  /** Runs one attempt of `deliver` and records its outcome. */
  function handler(channel: NotificationChannel, deliver: (notice: ShareNotice, signal: AbortSignal) => Promise<Delivered>): JobHandler {
    return async (job: JobRecord, signal: AbortSignal) => {
      const notice = noticeFromPayload(job.payload)
      const log = ctx.log.child({ component: 'notifications', channel, inboundId: notice.inboundId, revision: notice.revision })
      const current = notice.addition === undefined ? await ctx.store.notifications.get(notice.inboundId, notice.revision, channel) : undefined
      if (current?.status === 'sent') {
        log.debug('notification already sent')
        return
      }
      // Counted per notification, not per job: a job superseded by a duplicate keeps the count.
      const attempts = notice.addition === undefined ? (current?.attempts ?? 0) + 1 : job.attempts
      let delivered: Delivered
      try {
        crashPoint('notification.before-send')
        delivered = await deliver(notice, signal)
      } catch (error) {
        // Interrupted by a stop: not an attempt that failed; the job runs again at the next start.
        if (signal.aborted) throw error
        const permanent = (error as { permanent?: unknown } | null)?.permanent === true
        const dead = permanent || job.attempts >= ctx.config.transfers.maxAttempts
        const message = describe(error)
        await setStatus(notice, channel, dead ? 'dead' : 'failed', attempts, message, {
          type: 'notification.failed',
          caseId: notice.inboundId,
          actor: SYSTEM_ACTOR,
          channel,
          revision: notice.revision,
          attempts,
          error: message,
          dead,
          ...(notice.addition === undefined ? {} : { addition: notice.addition }),
        })
        throw dead && !permanent ? new PermanentJobError(message) : error
      }
      crashPoint('notification.delivered')
      const withheld = delivered.withheld !== undefined && delivered.withheld > 0 ? { withheld: delivered.withheld } : {}
      await setStatus(notice, channel, 'sent', attempts, null, {
        type: 'notification.sent',
        caseId: notice.inboundId,
        actor: SYSTEM_ACTOR,
        channel,
        revision: notice.revision,
        attempts,
        ...withheld,
        ...(notice.addition === undefined ? {} : { addition: notice.addition }),
      })
      crashPoint('notification.recorded')
      log.info({ attempts, ...delivered }, 'notification sent')
    }
  }

  const email = handler('email', async (notice, signal) => {
    const smtp = ctx.config.notifications.smtp
    if (smtp === undefined) throw new PermanentJobError('e-mail notifications are not configured')
    const { to, withheld } = await emailAddresses(ctx, notice)
    if (to.length === 0) {
      throw new PermanentJobError(
        withheld > 0
          ? `not mailed: ${withheld} e-mail recipient(s) the partner named are neither our users nor in notifications.allowedDomains`
          : 'no recipient of the share has an e-mail address',
      )
    }
    const { subject, text } = composeShareEmail(notice, ctx.identity.name)
    const sent = await sendEmail(smtp, { to, subject, text, messageId: `${notice.id}@${ctx.identity.org}.caseway` }, signal)
    return { recipients: to.length, accepted: sent.accepted, rejected: sent.rejected, withheld }
  })

  const webhook = handler('webhook', async (notice, signal) => {
    const config = ctx.config.notifications.webhook
    if (config === undefined) throw new PermanentJobError('webhook notifications are not configured')
    const { status } = await postWebhook(config, shareReceivedEvent(notice, ctx.identity.org), ctx.clock.now(), signal)
    return { status, eventId: notice.id }
  })

  return { [JOB.notifyEmail]: email, [JOB.notifyWebhook]: webhook }
}

/**
 * Whom to e-mail: the addresses of the recipients (users, groups, badges, the agency, e-mail
 * recipients) and, for a share to the entire agency where none of them resolves to an
 * address, the configured agency address.
 */
async function emailAddresses(ctx: NodeContext, notice: ShareNotice): Promise<NotificationAddresses> {
  const addresses = await recipientEmails(ctx, notice.recipients)
  if (addresses.to.length > 0) return addresses
  const agencyWide = notice.recipients.some((r) => r.kind === 'agency' && r.id === ctx.identity.org)
  const agencyAddress = ctx.config.notifications.agencyAddress
  return agencyWide && agencyAddress !== undefined ? { to: [agencyAddress], withheld: addresses.withheld } : addresses
}

/** The error as stored and shown: its message, bounded. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.length > MAX_ERROR_LENGTH ? message.slice(0, MAX_ERROR_LENGTH) : message
}
