/**
 * Test data for the local API and the sender-side services: a partner with an assigned
 * policy, evidence uploaded as streamed bodies in random-size pieces.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { Readable } from 'node:stream'
import type { SharingPolicy } from '#protocol'
import type { NodeContext } from '../../src/context.ts'
import type { EvidenceRecord } from '../../src/store/metadata_store.ts'
import { uploadEvidence, type EvidenceMetadata } from '../../src/cases/evidence.ts'
import { assignPolicy, importPartner } from '../../src/partners/partners.ts'
import { createPolicy } from '../../src/partners/policies.ts'
import { createTestOrg, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { policyBody } from '../../../testkit/fixtures/policies.ts'

/** Imports `org` as a partner and assigns it a new policy made from `policy`. */
export async function addPartner(
  ctx: NodeContext,
  org: string,
  policy: Record<string, unknown> = policyBody(),
): Promise<{ partner: TestOrg; policy: SharingPolicy }> {
  const partner = await createTestOrg(org)
  await importPartner(ctx, partner.bundle, partner.bundle.caFingerprint)
  const record = await createPolicy(ctx, policy)
  await assignPolicy(ctx, org, record.id)
  return { partner, policy: record.policy }
}

/** `bytes` as a stream of random-size pieces (1 byte to `maxPiece`). */
export function piecesOf(bytes: Uint8Array, maxPiece = 300_000): Readable {
  async function* pieces(): AsyncGenerator<Uint8Array> {
    let offset = 0
    while (offset < bytes.byteLength) {
      const length = Math.min(randomInt(1, maxPiece + 1), bytes.byteLength - offset)
      yield bytes.subarray(offset, offset + length)
      offset += length
    }
  }
  return Readable.from(pieces(), { objectMode: false })
}

/** Uploads `bytes` (random by default) as evidence. */
export async function upload(
  ctx: NodeContext,
  caseId: string,
  metadata: Partial<EvidenceMetadata> = {},
  bytes: Uint8Array = randomBytes(1000),
): Promise<EvidenceRecord> {
  return uploadEvidence(ctx, caseId, { name: 'file.bin', category: 'video', mediaType: 'video/mp4', ...metadata }, piecesOf(bytes))
}

/** Reads a stream to its end. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of stream) parts.push(Buffer.from(part))
  return Buffer.concat(parts)
}
