/**
 * The last successful exchange with each partner, in either direction (a request it answered
 * us, or one of its requests we answered), kept in the metadata store so that a restart does
 * not forget it: `caseway status`, `/readyz` and the partner list show it.
 *
 * A contact happens on every chunk of a transfer, so the store is written at most once per
 * partner per {@link CONTACT_WRITE_INTERVAL_MS}, and never awaited: the chunk path does not
 * wait for SQLite. The stored time is therefore up to one interval older than the last contact;
 * `/readyz` reads the node's metrics on top of it, which saw every contact since the start.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'

/** How often at most the last contact with one partner is written to the store. */
export const CONTACT_WRITE_INTERVAL_MS = 60_000

/** `contacted(org)`: a request to or from `org` succeeded now. */
export function partnerContactWriter(ctx: Pick<NodeContext, 'store' | 'clock' | 'log'>, intervalMs = CONTACT_WRITE_INTERVAL_MS): (org: string) => void {
  /** When (node clock, ms) the last write for each partner was started. */
  const written = new Map<string, number>()
  const log = ctx.log.child({ component: 'partner-contacts' })
  return (org) => {
    const nowMs = ctx.clock.now().getTime()
    const last = written.get(org)
    if (last !== undefined && nowMs - last < intervalMs) return
    written.set(org, nowMs)
    ctx.store.partners.recordContact(org, Math.floor(nowMs / 1000)).catch((error: unknown) => {
      // The next contact writes it again.
      written.delete(org)
      log.warn({ err: error, partner: org }, 'last partner contact not stored')
    })
  }
}

/** The stored last contacts, each replaced by a later one `seen` in this process. */
export async function lastContacts(ctx: Pick<NodeContext, 'store'>, seen: ReadonlyMap<string, Date> = new Map()): Promise<Map<string, Date>> {
  const contacts = new Map<string, Date>()
  for (const [org, seconds] of await ctx.store.partners.listContacts()) contacts.set(org, new Date(seconds * 1000))
  for (const [org, at] of seen) {
    const stored = contacts.get(org)
    if (stored === undefined || stored < at) contacts.set(org, at)
  }
  return contacts
}
