/**
 * The sender's side of a share as a test sets it up directly in a node's stores: what
 * `sending/` would have stored for a signed manifest (the share, its revision, whose chunks
 * become servable, and the chunk bytes).
 */
import type { BlobStore } from '../../src/store/blob_store.ts'
import type { MetadataStore, OutboundShareRecord } from '../../src/store/metadata_store.ts'
import type { Evidence, SignedManifest } from '../../../testkit/fixtures/manifests.ts'
import { testPolicy, FEDERATION } from '../../../testkit/fixtures/policies.ts'

/**
 * Stores on the sender's side what `sending/` would: the share to `partnerOrg`, its
 * revision (whose chunks become servable) and the chunk bytes.
 */
export async function storeOutbound(
  store: MetadataStore,
  blobs: BlobStore,
  signed: SignedManifest,
  items: readonly Evidence[],
  overrides: Partial<OutboundShareRecord> = {},
): Promise<OutboundShareRecord> {
  const { manifest } = signed
  const share: OutboundShareRecord = {
    id: manifest.share.id,
    caseId: manifest.case.id,
    partnerOrg: manifest.aud,
    scope: 'case',
    folderIds: [],
    evidenceIds: [],
    message: null,
    recipients: [],
    policy: testPolicy(FEDERATION),
    status: 'processing',
    statusCode: null,
    statusDetail: null,
    revision: manifest.share.revision,
    createdBy: 'test',
    createdAt: manifest.iat,
    updatedAt: manifest.iat,
    expiresAt: manifest.exp,
    ...overrides,
  }
  const digests = new Set<string>()
  for (const { chunks } of items) {
    for (const [digest, bytes] of chunks) {
      digests.add(digest)
      await blobs.put(digest, bytes)
    }
  }
  await store.transaction(async (tx) => {
    await tx.outboundShares.insert(share)
    await tx.outboundShares.insertRevision(
      {
        shareId: share.id,
        revision: manifest.share.revision,
        manifestJws: signed.jws,
        manifestDigest: signed.digest,
        createdAt: manifest.iat,
        receiptJws: null,
      },
      digests,
    )
  })
  return share
}
