/**
 * External cases for tests of what our users may do with them: an inbound share as the
 * federation side stores it once complete (its chunks really in the blob store), with the
 * recipients, permissions and status a test needs. The manifest is not signed: these tests are
 * about local behaviour after verification.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { chunkStream, type CaseManifest, type Recipient, type SharingPolicy } from '#protocol'
import type { NodeContext } from '../../src/context.ts'
import type { InboundShareWithManifest } from '../../src/store/metadata_store.ts'
import { testPolicy, REVIEW } from '../../../testkit/fixtures/policies.ts'
import { piecesOf } from './fixtures.ts'

export interface InboundOptions {
  recipients?: Recipient[]
  permissions?: Partial<SharingPolicy['permissions']>
  status?: InboundShareWithManifest['status']
  expiresAt?: number
  bytes?: Uint8Array
}

export interface StoredInbound {
  record: InboundShareWithManifest
  bytes: Uint8Array
}

/** Stores an external case from `county-da`: a folder tree (Video › Lobby), a video and its transcript. */
export async function insertInbound(ctx: NodeContext, options: InboundOptions = {}): Promise<StoredInbound> {
  const now = Math.floor(ctx.clock.now().getTime() / 1000)
  const bytes = options.bytes ?? randomBytes(70_000)
  const summary = await storeChunks(ctx, bytes)
  const transcript = await storeChunks(ctx, Buffer.from('Q: where were you?\n'))
  const policy = testPolicy(REVIEW, { id: 'da-policy', version: 3 })
  policy.permissions = { ...policy.permissions, ...options.permissions }
  const share: CaseManifest['share'] = { id: randomUUID(), revision: 1, scope: 'case', live: true, message: 'For review' }
  if (options.recipients !== undefined) share.recipients = options.recipients
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: 'county-da',
    aud: ctx.identity.org,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    share,
    case: {
      id: 'da-case-7',
      fields: { title: 'Robbery', caseNumber: 'DA-7', tags: ['lobby'] },
      // Child listed before its parent: an import must still create the parent first.
      folders: [
        { id: 'lobby', name: 'Lobby', parent: 'video' },
        { id: 'video', name: 'Video' },
      ],
    },
    evidence: [
      {
        id: 'e1',
        name: 'lobby.mp4',
        folder: 'lobby',
        category: 'video',
        mediaType: 'video/mp4',
        size: summary.size,
        digest: summary.digest,
        chunkSize: 65536,
        chunks: summary.chunks,
        doNotDisclose: false,
      },
      {
        id: 'e2',
        name: 'lobby.txt',
        folder: 'lobby',
        category: 'document',
        mediaType: 'text/plain',
        size: transcript.size,
        digest: transcript.digest,
        chunkSize: 65536,
        chunks: transcript.chunks,
        doNotDisclose: false,
        attachmentOf: 'e1',
      },
    ],
    // Not a signed grant (nothing here verifies it), but shaped like county-da's origin grant: its
    // `exp` is the share's expiry (CW-SIG-014), its policy the one stored.
    grants: [unsignedGrant({ iss: 'county-da', aud: ctx.identity.org, depth: 0, iat: now, exp: options.expiresAt ?? now + 3600, policy })],
  }
  const status = options.status ?? 'complete'
  const record: InboundShareWithManifest = {
    id: randomUUID(),
    senderOrg: 'county-da',
    senderName: 'County District Attorney',
    shareId: share.id,
    revision: 1,
    manifestJws: 'aGVhZGVy.cGF5bG9hZA.c2ln',
    manifestDigest: 'sha256:' + '2'.repeat(64),
    manifest,
    policy,
    status,
    statusDetail: null,
    receivedAt: now,
    completedAt: status === 'receiving' ? null : now,
    expiresAt: options.expiresAt ?? now + 3600,
    receiptJws: null,
  }
  await ctx.store.inboundShares.insert(record)
  return { record, bytes }
}

async function storeChunks(ctx: NodeContext, data: Uint8Array): Promise<{ size: number; digest: string; chunks: string[] }> {
  const chunks = chunkStream(piecesOf(data), 65536)
  let step = await chunks.next()
  while (step.done !== true) {
    await ctx.blobs.put(step.value.digest, step.value.data)
    step = await chunks.next()
  }
  return step.value
}

/** A grant-shaped compact JWS whose payload is `payload` and whose signature is not one. */
function unsignedGrant(payload: Record<string, unknown>): string {
  return `aGVhZGVy.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`
}
