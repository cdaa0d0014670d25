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
import type { Recipient } from '#protocol'
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
    accepts: (event) => (event.type === 'inbound.received' || event.type === 'recipients.added') && channels.length > 0,
    async handle(_inboundId, entries) {
      for (const entry of entries) {
        if (entry.event['type'] === 'recipients.added') {
          await queueAddition(ctx, channels, entry.eventId, entry.event as unknown as RecipientsAdded)
          continue
        }
        const event = entry.event as unknown as Extract<AnyNodeEvent, { type: 'inbound.received' }>
        await ctx.transaction(async (tx) => {
          if (!(await tx.store.outbox.delete(NOTIFICATION_CONSUMER, entry.eventId))) return
          const inbound = await tx.store.inboundShares.get(event.caseId)
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
              !(await tx.store.notifications.insert({
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

type RecipientsAdded = Extract<AnyNodeEvent, { type: 'recipients.added' }>

/**
 * spec: CW-LOC-026 — the recipients our side added are told like the first ones: a notice about
 * the external case as it stands, addressed to the added recipients only, one job per channel
 * (ref `<inbound id>:added:<event id>`), queued with the removal of the outbox row.
 */
async function queueAddition(ctx: NodeContext, channels: readonly NotificationChannel[], eventId: string, event: RecipientsAdded): Promise<void> {
  await ctx.transaction(async (tx) => {
    if (!(await tx.store.outbox.delete(NOTIFICATION_CONSUMER, eventId))) return
    const inbound = await tx.store.inboundShares.get(event.caseId)
    if (inbound === undefined) return
    const recipients: Recipient[] = event.recipients.map((name) => {
      const split = name.indexOf(':')
      return { kind: name.slice(0, split) as Recipient['kind'], id: name.slice(split + 1) }
    })
    const notice = { ...shareNotice(inbound, { id: randomUUID(), occurredAt: ctx.clock.now(), ourOrg: ctx.identity.org }), recipients, addition: eventId }
    for (const channel of channels) await ctx.jobs.enqueue(tx, NOTIFICATION_JOB[channel], `${inbound.id}:added:${eventId}`, { notice })
  })
}
