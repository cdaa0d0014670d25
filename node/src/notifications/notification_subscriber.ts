/**
 * Queues the notifications of a share that arrived: on `inbound.received` (an offer created
 * or updated an external case, already stored), one persistent job per configured channel
 * and a `pending` state for each. Nothing is queued when no channel is configured, and a
 * revision is queued once (a second event for it changes nothing).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { NodeConfig } from '../config/schema.ts'
import type { NodeContext } from '../context.ts'
import type { EventSubscriber } from '../events.ts'
import type { NotificationChannel } from '../store/metadata_store.ts'
import { shareNotice } from './notice.ts'
import { NOTIFICATION_JOB, notificationRef } from './notification_jobs.ts'

/** The channels `config` turns on. */
export function notificationChannels(config: NodeConfig): NotificationChannel[] {
  const channels: NotificationChannel[] = []
  if (config.notifications.smtp !== undefined) channels.push('email')
  if (config.notifications.webhook !== undefined) channels.push('webhook')
  return channels
}

export function notificationSubscriber(ctx: NodeContext): EventSubscriber {
  const channels = notificationChannels(ctx.config)
  return async (event) => {
    if (event.type !== 'inbound.received' || channels.length === 0) return
    const inbound = await ctx.store.getInboundShare(event.caseId)
    if (inbound === undefined || inbound.revision !== event.revision) {
      // A newer revision was stored meanwhile; its own event notifies about it.
      ctx.log.info({ inboundId: event.caseId, revision: event.revision }, 'revision superseded before its notifications were queued')
      return
    }
    const now = ctx.clock.now()
    const at = Math.floor(now.getTime() / 1000)
    const notice = shareNotice(inbound, { id: randomUUID(), occurredAt: now, ourOrg: ctx.identity.org })
    const ref = notificationRef(inbound.id, inbound.revision)
    for (const channel of channels) {
      if ((await ctx.store.getNotification(inbound.id, inbound.revision, channel)) !== undefined) continue
      // The job first (persisted, and it wakes the runner), then its `pending` row unless the job
      // has already recorded an attempt: a crash in between leaves a job, which records its state.
      await ctx.jobs.enqueue(NOTIFICATION_JOB[channel], ref, { notice })
      await ctx.store.insertNotification({ inboundId: inbound.id, revision: inbound.revision, channel, status: 'pending', attempts: 0, lastError: null, updatedAt: at })
    }
  }
}
