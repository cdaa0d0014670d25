/**
 * The provenance of an external case as our users see it (SPEC.md CW-PROV-001, CW-PROV-007):
 * one hop per grant of the stored manifest's chain, originator first — who shared with whom,
 * when, until when and under which policy. The chain was verified when the manifest was
 * accepted; this only reads it.
 *
 * @module
 */
import type { Grant, SharingPolicy } from '#protocol'
import type { NodeContext } from '../context.ts'
import type { InboundShareRecord } from '../store/metadata_store.ts'
import { grantPayload } from '../sending/share_onward.ts'

/** An organization of a chain: its name when we know it (a pinned partner, or ourselves). */
export interface ProvenanceOrg {
  org: string
  name: string | null
}

/** One hop of a provenance chain: grants[depth]. */
export interface ProvenanceHop {
  /** 0 for the originator's grant. */
  depth: number
  from: ProvenanceOrg
  to: ProvenanceOrg
  issuedAt: number
  expiresAt: number
  /** The policy this hop granted under; the last hop's is the effective policy. */
  policy: { id: string; version: number; name: string; permissions: SharingPolicy['permissions'] }
}

/** The chain of inbound share `share`, originator first. */
export async function provenanceOf(ctx: NodeContext, share: InboundShareRecord): Promise<ProvenanceHop[]> {
  const names = new Map((await ctx.store.partners.list()).map((partner) => [partner.org, partner.name]))
  names.set(ctx.identity.org, ctx.identity.name)
  const named = (org: string): ProvenanceOrg => ({ org, name: names.get(org) ?? null })
  const hops: ProvenanceHop[] = []
  for (const jws of share.manifest.grants) {
    let grant: Grant
    try {
      grant = grantPayload(jws)
    } catch {
      // Verified on arrival, so only a damaged store gets here: show what can be read.
      ctx.log.warn({ inboundId: share.id }, 'unreadable grant in a stored manifest')
      continue
    }
    const { policy } = grant
    hops.push({
      depth: grant.depth,
      from: named(grant.iss),
      to: named(grant.aud),
      issuedAt: grant.iat,
      expiresAt: grant.exp,
      policy: { id: policy.id, version: policy.version, name: policy.name, permissions: policy.permissions },
    })
  }
  return hops
}
