/**
 * The delivery state of an external case's notifications, as its users see it.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import type { NotificationRecord } from '../store/metadata_store.ts'

export type NotificationState = Omit<NotificationRecord, 'inboundId'>

/** One entry per revision and channel, by revision then channel. */
export async function notificationStates(ctx: NodeContext, inboundId: string): Promise<NotificationState[]> {
  return (await ctx.store.notifications.list(inboundId)).map(({ revision, channel, status, attempts, lastError, updatedAt }) => ({
    revision,
    channel,
    status,
    attempts,
    lastError,
    updatedAt,
  }))
}
