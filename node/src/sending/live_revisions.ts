/**
 * Live shares follow their case (SPEC.md CW-REVN-001), as an outbox consumer of
 * `case.updated` and `evidence.uploaded`: cases/ only records what changed and never knows
 * about shares. All the pending events of one case are coalesced into one revision per share
 * (several items added together make one revision, not one each).
 *
 * Changes are coalesced over `sharing.revisionWindowMs` (SPEC.md CW-REVN-010): the first change
 * of a case opens a window; the consumer leaves the case's entries in the outbox until the
 * window has passed, then makes one revision of all of them. The window starts at the oldest
 * pending entry's `recordedAt` (whole seconds, from the node's clock, stored with the entry),
 * so it survives a restart and never ends later than the window after the first change.
 *
 * Making a revision is not one store transaction (it reads evidence and signs a manifest), so
 * the outbox rows are removed after it: a crash in between makes the consumer run again, and
 * `reviseShare(…, onlyIfChanged)` then finds nothing new — at least once, never twice.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import type { NodeEvent } from '../events.ts'
import type { OutboxConsumer } from '../outbox/outbox.ts'
import { reviseLiveShares } from './revisions.ts'
import { crashPoint } from '../operations/crash_points.ts'

/** The outbox consumer name (stored in outbox rows: never rename). */
export const REVISION_CONSUMER = 'revisions'

export function liveRevisionConsumer(ctx: NodeContext): OutboxConsumer {
  return {
    name: REVISION_CONSUMER,
    accepts: (event) => event.type === 'case.updated' || event.type === 'evidence.uploaded',
    async handle(caseId, entries) {
      // spec: CW-REVN-010 — wait for the window to close, never past it.
      const windowMs = ctx.config.sharing.revisionWindowMs
      if (windowMs > 0) {
        const opened = Math.min(...entries.map((entry) => entry.recordedAt)) * 1000
        const left = opened + windowMs - ctx.clock.now().getTime()
        if (left > 0) return { deferred: true, retryInMs: left }
      }
      // The revision is made on behalf of whoever made the last change.
      const actor = (entries[entries.length - 1]!.event as unknown as NodeEvent).actor
      await reviseLiveShares(ctx, caseId, actor)
      crashPoint('revision.consumer-revised')
      await ctx.store.transaction(async (tx) => {
        for (const entry of entries) await tx.outbox.delete(REVISION_CONSUMER, entry.eventId)
      })
      return undefined
    },
  }
}
