/**
 * Recipients of an inbound share: which of our users a partner named (SPEC.md CW-LOC-001).
 *
 * A manifest names recipients at this organization (`share.recipients`): a user id, a group
 * id, an e-mail address, a badge id, or the entire agency. A share that names none (older
 * senders) is addressed to the entire agency, the same default `createShare` applies.
 *
 * - agency → every user of this organization (the id must be this organization's id);
 * - user → the user with that id;
 * - group → the members of that group (from our groups or the caller's OIDC groups);
 * - email / badge → the user whose e-mail address (case-insensitive) / badge id matches.
 *
 * @module
 */
import type { Recipient } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { UserRecord } from '../store/metadata_store.ts'

/** What recipient matching needs to know about the caller. */
export interface RecipientPrincipal {
  readonly userId: string
  /** Group ids: local group memberships and, for OIDC callers, the groups claim. */
  readonly groups: readonly string[]
}

/** The recipients a share without any is addressed to: the entire receiving agency. */
export function defaultRecipients(org: string): Recipient[] {
  return [{ kind: 'agency', id: org }]
}

/** Whether `principal` is among `recipients` of a share received by this node. */
export async function isRecipient(ctx: NodeContext, principal: RecipientPrincipal, recipients: readonly Recipient[] | undefined): Promise<boolean> {
  const list = effective(ctx, recipients)
  let user: UserRecord | undefined | null = null
  const lookup = async (): Promise<UserRecord | undefined> => {
    if (user === null) user = await ctx.store.getUser(principal.userId)
    return user
  }
  for (const recipient of list) {
    switch (recipient.kind) {
      case 'agency':
        if (recipient.id === ctx.identity.org) return true
        break
      case 'user':
        if (recipient.id === principal.userId) return true
        break
      case 'group':
        if (principal.groups.includes(recipient.id)) return true
        break
      case 'email': {
        const email = (await lookup())?.email
        if (email != null && sameEmail(email, recipient.id)) return true
        break
      }
      case 'badge': {
        const badge = (await lookup())?.badge
        if (badge != null && badge === recipient.id) return true
        break
      }
    }
  }
  return false
}

/**
 * The e-mail addresses to notify about a share to `recipients`: e-mail recipients as named,
 * and the addresses of the enabled users a user, badge, group or agency recipient stands
 * for. Unique (case-insensitive), in recipient order.
 */
export async function recipientEmails(ctx: NodeContext, recipients: readonly Recipient[] | undefined): Promise<string[]> {
  const list = effective(ctx, recipients)
  const emails = new Map<string, string>()
  const add = (email: string | null | undefined): void => {
    if (typeof email !== 'string' || email === '') return
    const key = email.toLowerCase()
    if (!emails.has(key)) emails.set(key, email)
  }
  let users: UserRecord[] | undefined
  const enabledUsers = async (): Promise<UserRecord[]> => {
    users ??= (await ctx.store.listUsers()).filter((user) => !user.disabled)
    return users
  }
  for (const recipient of list) {
    switch (recipient.kind) {
      case 'email':
        add(recipient.id)
        break
      case 'user': {
        const user = await ctx.store.getUser(recipient.id)
        if (user !== undefined && !user.disabled) add(user.email)
        break
      }
      case 'badge':
        for (const user of await enabledUsers()) if (user.badge === recipient.id) add(user.email)
        break
      case 'group': {
        const members = new Set(await ctx.store.listGroupMembers(recipient.id))
        for (const user of await enabledUsers()) if (members.has(user.id)) add(user.email)
        break
      }
      case 'agency':
        if (recipient.id === ctx.identity.org) for (const user of await enabledUsers()) add(user.email)
        break
    }
  }
  return [...emails.values()]
}

function effective(ctx: NodeContext, recipients: readonly Recipient[] | undefined): readonly Recipient[] {
  return recipients === undefined || recipients.length === 0 ? defaultRecipients(ctx.identity.org) : recipients
}

function sameEmail(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
