/**
 * The node's trust anchors (SPEC.md CW-TRUST-004, CW-PROV-008): which CAs it believes for
 * signed objects and which for TLS.
 *
 * @module
 */
import type { TrustAnchor } from '#protocol'
import type { Identity } from '../context.ts'
import type { MetadataStore } from '../store/metadata_store.ts'

/**
 * Anchors for signed objects: every enabled pinned CA (partners and trust-only orgs) and this
 * organization's own CA, so that a chain that starts here and comes back (a case shared
 * onward to its originator) verifies like any other.
 */
export async function signedObjectAnchors(store: Pick<MetadataStore, 'partners'>, identity: Pick<Identity, 'org' | 'caCertificate'>): Promise<TrustAnchor[]> {
  const partners = await store.partners.list()
  return [
    { certificate: identity.caCertificate, org: identity.org },
    ...partners
      .filter((partner) => partner.enabled && partner.org !== identity.org)
      .map((partner) => ({ certificate: partner.caCertificate, org: partner.org })),
  ]
}

/** Anchors for TLS: enabled partners only — never trust-only orgs, never ourselves. */
export async function tlsAnchors(store: Pick<MetadataStore, 'partners'>): Promise<TrustAnchor[]> {
  const partners = await store.partners.list()
  return partners.filter((partner) => partner.enabled && !partner.trustOnly).map((partner) => ({ certificate: partner.caCertificate, org: partner.org }))
}

/**
 * Every pinned CA — partners enabled or not, trust-only orgs — but never ourselves: what a
 * client chain must reach for the federation listener to answer the connection at all
 * (CW-TLS-005). Which partner it is, if any, is decided per request (CW-TLS-006).
 */
export async function pinnedCaAnchors(store: Pick<MetadataStore, 'partners'>): Promise<TrustAnchor[]> {
  const partners = await store.partners.list()
  return partners.map((partner) => ({ certificate: partner.caCertificate, org: partner.org }))
}
