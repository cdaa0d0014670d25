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
 * E-mail notifications go only to our users and to domains the agency allows (CW-NOT-006).
 *
 * @module
 */
import { isEmailAddress, type Recipient } from '#protocol'
import type { Identity, NodeContext } from '../context.ts'
import type { InboundShareRecord, InboundShareState, Repositories, UserRecord } from '../store/metadata_store.ts'

/** A node context whose store may be a transaction's (recipients are read inside the one that adds some). */
type StoreContext = Omit<NodeContext, 'store'> & { readonly store: Repositories }

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

/**
 * Everyone an external case is addressed to at this node: the recipients the sender named (the
 * entire agency when it named none) and those our own recipients or administrators added
 * (CW-LOC-025), which the manifest does not carry and a later revision does not remove.
 */
export async function recipientsOf(ctx: StoreContext, share: InboundShareRecord): Promise<Recipient[]> {
  const named = effective(ctx, share.manifest.share.recipients).map((recipient) => ({ kind: recipient.kind, id: recipient.id }))
  remember(ctx, share, named)
  return withAdded(ctx, share.id, named)
}

/**
 * {@link recipientsOf} from the share's state alone, when a request already read its manifest
 * (undefined otherwise: read the share). For requests that are polled.
 */
export async function knownRecipientsOf(ctx: NodeContext, share: InboundShareState): Promise<Recipient[] | undefined> {
  const named = namedByDigest.get(ctx.identity)?.get(namedKey(share))
  return named === undefined ? undefined : withAdded(ctx, share.id, named)
}

/**
 * The recipients the manifest of each external case names, per node, by case and manifest
 * digest: the digest fixes the signed manifest, so an entry is never stale. The most recent
 * {@link NAMED_KEPT} are kept.
 */
const namedByDigest = new WeakMap<Identity, Map<string, readonly Recipient[]>>()
const NAMED_KEPT = 256

const namedKey = (share: Pick<InboundShareState, 'id' | 'manifestDigest'>): string => `${share.id} ${share.manifestDigest}`

function remember(ctx: StoreContext, share: InboundShareRecord, named: readonly Recipient[]): void {
  let known = namedByDigest.get(ctx.identity)
  if (known === undefined) namedByDigest.set(ctx.identity, (known = new Map()))
  const key = namedKey(share)
  known.delete(key)
  known.set(key, named)
  if (known.size > NAMED_KEPT) known.delete(known.keys().next().value!)
}

async function withAdded(ctx: StoreContext, inboundId: string, named: readonly Recipient[]): Promise<Recipient[]> {
  const added = await ctx.store.inboundShares.listAddedRecipients(inboundId)
  return [...named, ...added.map((recipient) => ({ kind: recipient.kind, id: recipient.recipientId }))]
}

/** Whether `principal` is among `recipients` of a share received by this node. */
export async function isRecipient(ctx: NodeContext, principal: RecipientPrincipal, recipients: readonly Recipient[] | undefined): Promise<boolean> {
  const list = effective(ctx, recipients)
  let user: UserRecord | undefined | null = null
  const lookup = async (): Promise<UserRecord | undefined> => {
    if (user === null) user = await ctx.store.principals.getUser(principal.userId)
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

/** Whom to e-mail about a share, and how many addresses a partner named that we will not mail. */
export interface NotificationAddresses {
  /** Unique (case-insensitive), in recipient order. */
  to: string[]
  /** E-mail recipients the partner named that are neither our users nor in an allowed domain (CW-NOT-006). */
  withheld: number
}

/**
 * The e-mail addresses to notify about a share to `recipients`: the addresses of the enabled
 * users a user, badge, group or agency recipient stands for, and e-mail recipients that are the
 * address of one of our enabled users or in a domain of `notifications.allowedDomains`.
 *
 * spec: CW-NOT-006 — an address is text a partner wrote: the agency's mail server sends only
 * where the agency allows, never to any address a partner names. Every address passes
 * {@link isEmailAddress} again here, so nothing but one plain address reaches the mailer.
 */
export async function recipientEmails(ctx: NodeContext, recipients: readonly Recipient[] | undefined): Promise<NotificationAddresses> {
  const list = effective(ctx, recipients)
  const allowedDomains = new Set(ctx.config.notifications.allowedDomains.map((domain) => domain.toLowerCase()))
  const emails = new Map<string, string>()
  let withheld = 0
  const add = (email: string | null | undefined): void => {
    if (!isEmailAddress(email)) return
    const key = email.toLowerCase()
    if (!emails.has(key)) emails.set(key, email)
  }
  let users: UserRecord[] | undefined
  const enabledUsers = async (): Promise<UserRecord[]> => {
    users ??= (await ctx.store.principals.listUsers()).filter((user) => !user.disabled)
    return users
  }
  for (const recipient of list) {
    switch (recipient.kind) {
      case 'email': {
        const user = (await enabledUsers()).find((candidate) => candidate.email != null && sameEmail(candidate.email, recipient.id))
        if (user !== undefined) add(user.email)
        else if (isEmailAddress(recipient.id) && allowedDomains.has(domainOf(recipient.id))) add(recipient.id)
        else withheld += 1
        break
      }
      case 'user': {
        const user = await ctx.store.principals.getUser(recipient.id)
        if (user !== undefined && !user.disabled) add(user.email)
        break
      }
      case 'badge':
        for (const user of await enabledUsers()) if (user.badge === recipient.id) add(user.email)
        break
      case 'group': {
        const members = new Set(await ctx.store.principals.listGroupMembers(recipient.id))
        for (const user of await enabledUsers()) if (members.has(user.id)) add(user.email)
        break
      }
      case 'agency':
        if (recipient.id === ctx.identity.org) for (const user of await enabledUsers()) add(user.email)
        break
    }
  }
  return { to: [...emails.values()], withheld }
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase()
}

function effective(ctx: StoreContext, recipients: readonly Recipient[] | undefined): readonly Recipient[] {
  return recipients === undefined || recipients.length === 0 ? defaultRecipients(ctx.identity.org) : recipients
}

function sameEmail(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
