/**
 * Version negotiation with each partner (SPEC.md §15, CW-VER-003, CW-VER-004).
 *
 * Every answer of a partner's federation listener lists the versions it supports in the
 * `Caseway-Versions` header; the peer client records them per partner (`learnPartnerVersions`).
 * A sender signs what it addresses to a partner with {@link negotiatedVersion}: the highest
 * version both support. Code that must hold a 0.2 feature back from a 0.1 partner asks
 * {@link partnerSupports} (e.g. `await partnerSupports(ctx, org, '0.2')`).
 *
 * @module
 */
import { highestCommonVersion, parseVersionsHeader, PROTOCOL_VERSION, compareVersions, type ProtocolVersion } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { MetadataStore } from '../store/metadata_store.ts'

/**
 * Records what a partner's answer said about its versions. A `2xx` answer without the header
 * comes from a 0.1 partner; any other answer without it teaches nothing (an intermediary's error
 * page carries no header either), so the versions learned before stay.
 */
export async function learnPartnerVersions(
  store: Pick<MetadataStore, 'partners'>,
  org: string,
  header: string | readonly string[] | undefined,
  statusCode: number,
  now: Date,
): Promise<void> {
  const listed = parseVersionsHeader(header)
  if (listed === undefined && (statusCode < 200 || statusCode > 299)) return
  await store.partners.setVersions(org, listed ?? [PROTOCOL_VERSION], Math.floor(now.getTime() / 1000))
}

/**
 * The version this node signs for `partnerOrg` (CW-VER-004): the highest version both support.
 * When the partner never answered yet, the node asks its EP-4 first (bounded, `probe`); until it
 * knows, it uses 0.1, which every partner verifies.
 */
export async function negotiatedVersion(
  ctx: Pick<NodeContext, 'store' | 'config'> & Partial<Pick<NodeContext, 'probePartnerVersions'>>,
  partnerOrg: string,
): Promise<ProtocolVersion> {
  let versions = await ctx.store.partners.getVersions(partnerOrg)
  if (versions === undefined && ctx.probePartnerVersions !== undefined) {
    await ctx.probePartnerVersions(partnerOrg)
    versions = await ctx.store.partners.getVersions(partnerOrg)
  }
  return highestCommonVersion(versions, ctx.config.federation.protocolVersions)
}

/** True when the version negotiated with `partnerOrg` is `version` or later. */
export async function partnerSupports(
  ctx: Pick<NodeContext, 'store' | 'config'> & Partial<Pick<NodeContext, 'probePartnerVersions'>>,
  partnerOrg: string,
  version: ProtocolVersion,
): Promise<boolean> {
  return compareVersions(await negotiatedVersion(ctx, partnerOrg), version) >= 0
}
