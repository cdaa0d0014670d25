/**
 * The Federation API's paths (SPEC.md §16, and the optional conformance control endpoints of
 * §21), relative to a partner's `endpoint`, and the media type signed objects travel as. Shared
 * by the node (listener and peer client) and the conformance harness.
 *
 * @module
 */

/** Media type of a signed object's body: the compact JWS as the whole body (SPEC.md §16). */
export const JOSE_MEDIA_TYPE = 'application/jose'

/**
 * CW-FED-011: the longest a node waits for a client's TLS handshake, and then for its complete
 * request headers, before it closes the connection. A client that needs longer is too slow.
 */
export const SLOW_CLIENT_BOUND_SECONDS = 60

const segment = encodeURIComponent

/** A chunk digest as CW-FMT-002 writes it: the form EP-2 names literally (CW-FED-014). */
const CHUNK_DIGEST = /^sha256:[0-9a-f]{64}$/

/**
 * CW-FED-014: the EP-2 path names a chunk by its digest written literally (`sha256:<hex>`; `:` is
 * legal in a path segment). Anything else is percent-encoded, so it can never leave its segment.
 */
const digestSegment = (digest: string): string => (CHUNK_DIGEST.test(digest) ? digest : segment(digest))

/** EP-1..EP-13: request paths, with path parameters percent-encoded (but the EP-2 digest, CW-FED-014). */
export const FEDERATION_PATHS = {
  /** EP-1 `POST`: offer a signed manifest revision. */
  offers: '/federation/v1/offers',
  /** EP-2 `GET`: one chunk of a share, its digest in the literal form (CW-FED-014). */
  chunk: (shareId: string, digest: string): string => `/federation/v1/shares/${segment(shareId)}/chunks/${digestSegment(digest)}`,
  /** EP-2 with the digest percent-encoded (`sha256%3A<hex>`), as v0.1 clients sent it; a server accepts it too (CW-FED-014). */
  chunkPercentEncoded: (shareId: string, digest: string): string => `/federation/v1/shares/${segment(shareId)}/chunks/${segment(digest)}`,
  /** EP-20 `POST`: several chunks of a share in one answer (CW-BAT-001..006), when the partner lists `chunk-batch`. */
  chunkBatches: (shareId: string): string => `/federation/v1/shares/${segment(shareId)}/chunk-batches`,
  /** EP-3 `POST`: a signed receipt. */
  receipts: '/federation/v1/receipts',
  /** EP-4 `GET`: a partner's health. */
  healthz: '/federation/v1/healthz',
  /** EP-5 `POST`: a signed revocation. */
  revocations: '/federation/v1/revocations',
  /** EP-6 `POST` (optional, §21): the node under test shares a new case with the caller. */
  controlShares: '/federation/v1/conformance/shares',
  /** EP-7 `POST` (optional, §21): the node under test revokes a share made by EP-6. */
  controlRevoke: (shareId: string): string => `/federation/v1/conformance/shares/${segment(shareId)}/revoke`,
  /** EP-8 `POST` (optional, §21): the node under test adds evidence to a share made by EP-6. */
  controlEvidence: (shareId: string): string => `/federation/v1/conformance/shares/${segment(shareId)}/evidence`,
  /**
   * EP-9 `POST` (optional, §21): the node under test shares onward, back to the caller, the
   * case the caller sent it as share `shareId` (the id in the caller's manifest).
   */
  controlShareOnward: (shareId: string): string => `/federation/v1/conformance/received-shares/${segment(shareId)}/share-onward`,
  /** EP-10 `POST`: offer a signed package offer (CW-PKG-012). */
  packageOffers: '/federation/v1/package-offers',
  /** EP-11 `GET`: the receiver pulls an offered package, whole or a range (CW-PKG-013). */
  package: (packageId: string): string => `/federation/v1/packages/${segment(packageId)}`,
  /** EP-12 `POST`: the sender revokes an offered package with a signed revocation naming it (CW-PKG-015). */
  packageRevocations: '/federation/v1/package-revocations',
  /** EP-13 `POST` (optional, §21): the node under test offers the caller a package of a new case (CW-CTL-004). */
  controlPackages: '/federation/v1/conformance/packages',
} as const

/**
 * CW-VER-003: the response header with which a node lists, on every answer of its federation
 * listener, the protocol versions it supports (comma-separated, as in `0.1, 0.2`). A partner
 * that sends none supports 0.1 only.
 */
export const VERSIONS_HEADER = 'caseway-versions'

/**
 * The versions a `Caseway-Versions` value lists, in the order given, without duplicates; tokens
 * that are not `MAJOR.MINOR` are ignored (a later version this node does not know is kept, so the
 * caller can tell "newer" from "absent"). `undefined` when the header is absent or lists nothing:
 * then the partner supports 0.1 only (CW-VER-004).
 */
export function parseVersionsHeader(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined
  const text = typeof value === 'string' ? value : value.join(',')
  const versions: string[] = []
  for (const token of text.split(',')) {
    const version = token.trim()
    if (/^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/.test(version) && !versions.includes(version)) versions.push(version)
  }
  return versions.length === 0 ? undefined : versions
}
