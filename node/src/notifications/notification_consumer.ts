/**
 * Queues the notifications of a share that arrived, as an outbox consumer: on
 * `inbound.received` (an offer created or updated an external case), one persistent job per
 * configured channel and a `pending` state for each, in the transaction that removes the
 * outbox row — so a notification is queued exactly once, even when the node crashed right
 * after storing the share. Nothing is queued when no channel is configured (no outbox row is
 * even written), and a revision superseded meanwhile is skipped (its successor's event
 * notifies about it).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { NodeConfig } from '../config/schema.ts'
import type { NodeContext } from '../context.ts'
import type { AnyNodeEvent } from '../events.ts'
import type { OutboxConsumer } from '../outbox/outbox.ts'
import type { NotificationChannel } from '../store/metadata_store.ts'
import { shareNotice } from './notice.ts'
import { NOTIFICATION_JOB, notificationRef } from './notification_jobs.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** The outbox consumer name (stored in outbox rows: never rename). */
export const NOTIFICATION_CONSUMER = 'notifications'

/** The channels `config` turns on. */
export function notificationChannels(config: NodeConfig): NotificationChannel[] {
  const channels: NotificationChannel[] = []
  if (config.notifications.smtp !== undefined) channels.push('email')
  if (config.notifications.webhook !== undefined) channels.push('webhook')
  return channels
}

export function notificationConsumer(ctx: NodeContext): OutboxConsumer {
  const channels = notificationChannels(ctx.config)
  return {
    name: NOTIFICATION_CONSUMER,
    accepts: (event) => event.type === 'inbound.received' && channels.length > 0,
    async handle(_inboundId, entries) {
      for (const entry of entries) {
        const event = entry.event as unknown as Extract<AnyNodeEvent, { type: 'inbound.received' }>
        await ctx.transaction(async (tx) => {
          if (!(await tx.store.deleteOutbox(NOTIFICATION_CONSUMER, entry.eventId))) return
          const inbound = await tx.store.getInboundShare(event.caseId)
          if (inbound === undefined || inbound.revision !== event.revision) {
            ctx.log.info({ inboundId: event.caseId, revision: event.revision }, 'revision superseded before its notifications were queued')
            return
          }
          const now = ctx.clock.now()
          const at = Math.floor(now.getTime() / 1000)
          const notice = shareNotice(inbound, { id: randomUUID(), occurredAt: now, ourOrg: ctx.identity.org })
          const ref = notificationRef(inbound.id, inbound.revision)
          for (const channel of channels) {
            // Inserted only if new: a job that already recorded an attempt keeps its state.
            if (
              !(await tx.store.insertNotification({
                inboundId: inbound.id,
                revision: inbound.revision,
                channel,
                status: 'pending',
                attempts: 0,
                lastError: null,
                updatedAt: at,
              }))
            )
              continue
            await ctx.jobs.enqueue(tx, NOTIFICATION_JOB[channel], ref, { notice })
          }
        })
        crashPoint('notification.queued')
      }
    },
  }
}
