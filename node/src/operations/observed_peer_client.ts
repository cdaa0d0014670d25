/**
 * The peer client, reporting each successful call to a partner (an offer or receipt the
 * partner accepted, a chunk it started serving) — the outbound half of "last successful
 * exchange with each partner" (readiness, `caseway_peer_last_success_timestamp_seconds`).
 *
 * @module
 */
import type { PeerClient } from '../peer/peer_client.ts'
import type { PartnerRecord } from '../store/metadata_store.ts'

/** Wraps `peer`; methods it does not know about (added later) pass through unobserved. */
export function observedPeerClient(peer: PeerClient, succeeded: (peerOrg: string) => void): PeerClient {
  return {
    ...peer,
    async offer(partner, jws, signal) {
      const result = await peer.offer(partner, jws, signal)
      succeeded(partner.org)
      return result
    },
    async fetchChunk(partner, shareId, digest, signal) {
      const body = await peer.fetchChunk(partner, shareId, digest, signal)
      succeeded(partner.org)
      return body
    },
    ...(peer.fetchChunkBatch === undefined
      ? {}
      : {
          async fetchChunkBatch(partner, shareId, digests, signal) {
            const body = await peer.fetchChunkBatch!(partner, shareId, digests, signal)
            succeeded(partner.org)
            return body
          },
        }),
    async sendReceipt(partner, jws, signal) {
      const answer = await peer.sendReceipt(partner, jws, signal)
      succeeded(partner.org)
      return answer
    },
    async sendRevocation(partner, jws, signal) {
      const answer = await peer.sendRevocation(partner, jws, signal)
      succeeded(partner.org)
      return answer
    },
    // Packages carried to a partner's users (SPEC.md §22, EP-10..EP-12), when the client has them.
    ...(peer.offerPackage === undefined ? {} : { offerPackage: observed(peer.offerPackage.bind(peer), succeeded) }),
    ...(peer.fetchPackage === undefined ? {} : { fetchPackage: observed(peer.fetchPackage.bind(peer), succeeded) }),
    ...(peer.sendPackageRevocation === undefined ? {} : { sendPackageRevocation: observed(peer.sendPackageRevocation.bind(peer), succeeded) }),
  }
}

/** `call`, reporting its partner (the first argument) once it succeeds. */
function observed<A extends [PartnerRecord, ...unknown[]], R>(
  call: (...args: A) => Promise<R>,
  succeeded: (peerOrg: string) => void,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const result = await call(...args)
    succeeded(args[0].org)
    return result
  }
}
