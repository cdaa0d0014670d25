/**
 * Signed manifests and receipts for the federation tests, built with the protocol library
 * from real evidence bytes.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import {
  chunkStream,
  digestJson,
  originGrant,
  signGrant,
  signManifest,
  signReceipt,
  type CaseManifest,
  type DeliveryReceipt,
  type EvidenceItem,
  type Recipient,
  type SharingPolicy,
} from '#protocol'
import type { BlobStore } from '../../../src/store/blob_store.ts'
import type { MetadataStore, OutboundShareRecord } from '../../../src/store/metadata_store.ts'
import { CHUNK_SIZE, type TestOrg } from './fixture.ts'

/** Everything allowed; the categories the tests use. */
export function widePolicy(overrides: Partial<SharingPolicy['content']> = {}): SharingPolicy {
  return {
    id: 'policy-wide',
    version: 1,
    name: 'Wide',
    permissions: { view: true, download: true, import: true, applyUpdates: true, shareOnward: { allowed: true, maxDepth: 2 } },
    content: { caseFields: ['title', 'summary'], evidenceCategories: ['photo', 'video', 'document'], attachments: true, ...overrides },
    maxDurationSeconds: 30 * 86_400,
  }
}

export interface Evidence {
  item: EvidenceItem
  bytes: Buffer
  /** Chunk digest → chunk bytes. */
  chunks: Map<string, Buffer>
}

/** An evidence item over `bytes` (random bytes of `size` when a number), chunked at 64 KiB. */
export async function evidence(id: string, content: Buffer | number, overrides: Partial<EvidenceItem> = {}): Promise<Evidence> {
  const bytes = typeof content === 'number' ? randomBytes(content) : content
  const chunks = new Map<string, Buffer>()
  const generator = chunkStream((async function* () { yield bytes })(), CHUNK_SIZE)
  let step = await generator.next()
  while (step.done !== true) {
    chunks.set(step.value.digest, Buffer.from(step.value.data))
    step = await generator.next()
  }
  const summary = step.value
  const item: EvidenceItem = {
    id,
    name: `${id}.bin`,
    category: 'photo',
    mediaType: 'application/octet-stream',
    size: summary.size,
    digest: summary.digest,
    chunkSize: CHUNK_SIZE,
    chunks: summary.chunks,
    doNotDisclose: false,
    ...overrides,
  }
  return { item, bytes, chunks }
}

export interface ManifestOptions {
  shareId?: string
  revision?: number
  previous?: string
  items?: EvidenceItem[]
  policy?: SharingPolicy
  jti?: string
  iat?: number
  lifetime?: number
  fields?: Record<string, string | string[]>
  /** Replaces the chain (default: one origin grant from the sender to `aud`). */
  grants?: string[]
  recipients?: Recipient[]
}

export interface SignedManifest {
  jws: string
  manifest: CaseManifest
  digest: string
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** A manifest from `sender` to `aud`, signed by the sender, with its origin grant. */
export async function signedManifest(sender: TestOrg, aud: string, options: ManifestOptions = {}): Promise<SignedManifest> {
  const iat = options.iat ?? nowSeconds()
  const exp = iat + (options.lifetime ?? 86_400)
  const shareId = options.shareId ?? `share-${randomUUID()}`
  const revision = options.revision ?? 1
  const items = options.items ?? []
  const grants =
    options.grants ??
    [
      await signGrant(
        originGrant({ iss: sender.org, aud, share: shareId, revision, policy: options.policy ?? widePolicy(), iat, exp, evidence: items.map((i) => i.digest) }),
        sender.identity.signer,
      ),
    ]
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: sender.org,
    aud,
    iat,
    exp,
    jti: options.jti ?? randomUUID(),
    share: {
      id: shareId,
      revision,
      scope: 'case',
      live: true,
      ...(options.previous === undefined ? {} : { previous: options.previous }),
      ...(options.recipients === undefined ? {} : { recipients: options.recipients }),
    },
    case: { id: 'case-1', fields: options.fields ?? { title: 'Burglary at 12 Elm St' }, folders: [] },
    evidence: items,
    grants,
  }
  return { jws: await signManifest(manifest, sender.identity.signer), manifest, digest: digestJson(manifest) }
}

/** A receipt from `receiver` answering `manifest`. */
export async function signedReceipt(
  receiver: TestOrg,
  manifest: SignedManifest,
  overrides: Partial<DeliveryReceipt> = {},
): Promise<string> {
  const iat = nowSeconds()
  const receipt: DeliveryReceipt = {
    cwv: '0.1',
    iss: receiver.org,
    aud: manifest.manifest.iss,
    iat,
    exp: iat + 3600,
    jti: randomUUID(),
    share: manifest.manifest.share.id,
    revision: manifest.manifest.share.revision,
    manifest: manifest.digest,
    status: 'delivered',
    ...overrides,
  }
  return signReceipt(receipt, receiver.identity.signer)
}

/**
 * Stores on the sender's side what `outbound.ts` would: the share to `partnerOrg`, its
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
    policy: widePolicy(),
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
    await tx.insertOutboundShare(share)
    await tx.insertOutboundRevision(
      { shareId: share.id, revision: manifest.share.revision, manifestJws: signed.jws, manifestDigest: signed.digest, createdAt: manifest.iat, receiptJws: null },
      digests,
    )
  })
  return share
}
