/**
 * Who shared (SPEC.md CW-MAN-005): the sender identity a 0.2 manifest may carry in
 * `share.sharedBy`, and the version a manifest for a partner is signed with (CW-VER-004).
 *
 * The `id` is opaque on purpose (privacy note of CW-MAN-005): a digest of this organization's id
 * and the local user id, so a receiver learns no local account name, e-mail address or badge,
 * while this node finds the user again by computing it for its users ({@link resolveSharedBy}).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { compareVersions, type CaseManifest, type ProtocolVersion, type SharedBy, type SharingPolicy } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { UserRecord } from '../store/metadata_store.ts'
import { negotiatedVersion } from '../peer/versions.ts'

/** Longest display name a manifest carries (`common.schema.json#/$defs/DisplayName`). */
const MAX_NAME_LENGTH = 200
/** What a display name may not contain (the schema's pattern): control characters. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g

/** The opaque `sharedBy.id` of local user `userId` at organization `org`. */
export function sharedById(org: string, userId: string): string {
  return `u.${createHash('sha256').update(`caseway sharedBy\n${org}\n${userId}`).digest('base64url').slice(0, 43)}`
}

/** The `sharedBy` of a share made by `createdBy` (a user id, or a label such as a control share's). */
export async function sharedByOf(ctx: Pick<NodeContext, 'store' | 'identity'>, createdBy: string): Promise<SharedBy> {
  const user = await ctx.store.principals.getUser(createdBy)
  const name = (user?.name ?? createdBy).replace(CONTROL_CHARACTERS, ' ').trim().slice(0, MAX_NAME_LENGTH) || ctx.identity.org
  return { id: sharedById(ctx.identity.org, createdBy), name }
}

/** The local user a `sharedBy.id` this node issued stands for; undefined when none does. */
export async function resolveSharedBy(ctx: Pick<NodeContext, 'store' | 'identity'>, id: string): Promise<UserRecord | undefined> {
  return (await ctx.store.principals.listUsers()).find((user) => sharedById(ctx.identity.org, user.id) === id)
}

/**
 * The version and `sharedBy` of a manifest for `partnerOrg` made by `createdBy`: the highest
 * version both support (CW-VER-004); `sharedBy` only from 0.2 on (CW-MAN-006: never to a 0.1
 * partner).
 */
export async function manifestVersioning(
  ctx: NodeContext,
  partnerOrg: string,
  createdBy: string | undefined,
): Promise<{ cwv: ProtocolVersion; sharedBy: SharedBy | undefined }> {
  const cwv = await negotiatedVersion(ctx, partnerOrg)
  const sharedBy = compareVersions(cwv, '0.2') >= 0 && createdBy !== undefined ? await sharedByOf(ctx, createdBy) : undefined
  return { cwv, sharedBy }
}

/** Sets version and sender identity on a manifest being built. */
export function applyVersioning(manifest: CaseManifest, versioning: { cwv: ProtocolVersion; sharedBy: SharedBy | undefined }): void {
  manifest.cwv = versioning.cwv
  if (versioning.sharedBy !== undefined) manifest.share.sharedBy = versioning.sharedBy
}

/**
 * The policy a grant for a partner of version `cwv` carries: a 0.1 partner's schema does not know
 * `permissions.addRecipients`, so its grants never carry it (CW-POL-008: withheld).
 */
export function policyForVersion(policy: SharingPolicy, cwv: ProtocolVersion): SharingPolicy {
  if (compareVersions(cwv, '0.2') >= 0 || policy.permissions.addRecipients === undefined) return policy
  const permissions = { ...policy.permissions }
  delete permissions.addRecipients
  return { ...policy, permissions }
}
