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
export async function signedObjectAnchors(
  store: Pick<MetadataStore, 'listPartners'>,
  identity: Pick<Identity, 'org' | 'caCertificate'>,
): Promise<TrustAnchor[]> {
  const partners = await store.listPartners()
  return [
    { certificate: identity.caCertificate, org: identity.org },
    ...partners
      .filter((partner) => partner.enabled && partner.org !== identity.org)
      .map((partner) => ({ certificate: partner.caCertificate, org: partner.org })),
  ]
}

/** Anchors for TLS: enabled partners only — never trust-only orgs, never ourselves. */
export async function tlsAnchors(store: Pick<MetadataStore, 'listPartners'>): Promise<TrustAnchor[]> {
  const partners = await store.listPartners()
  return partners.filter((partner) => partner.enabled && !partner.trustOnly).map((partner) => ({ certificate: partner.caCertificate, org: partner.org }))
}
