/**
 * What our users see of an external case: the applied state (a merge of the updates they
 * applied, SPEC.md CW-REVN-006), or — before any update was applied — the manifest as received.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { CaseManifest, EvidenceItem } from '#protocol'
import type { EvidenceRecord, InboundShareRecord, Repositories } from '../store/metadata_store.ts'

export interface AppliedView {
  revision: number
  case: CaseManifest['case']
  evidence: EvidenceItem[]
}

export async function appliedView(store: Repositories, share: InboundShareRecord): Promise<AppliedView> {
  const state = await store.inboundShares.getAppliedState(share.id)
  if (state !== undefined) return { revision: state.revision, case: state.case, evidence: state.evidence }
  return { revision: share.revision, case: share.manifest.case, evidence: share.manifest.evidence }
}

/**
 * The local id of item `itemId` of the external case imported as case `caseId`: derived, so
 * that updates applied later find the record (evidence ids are global on a node).
 */
export function importedEvidenceId(caseId: string, itemId: string): string {
  const hex = createHash('sha256').update(`caseway-import\u0000${caseId}\u0000${itemId}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/**
 * The local evidence record of a received item in the case imported from it: the same
 * content-addressed chunks (nothing is copied), placed in `caseId`.
 */
export function importedEvidence(
  item: EvidenceItem,
  place: { caseId: string; folderId: string | null; attachmentOf: string | null; createdAt: number },
): EvidenceRecord {
  return {
    id: importedEvidenceId(place.caseId, item.id),
    caseId: place.caseId,
    folderId: place.folderId,
    name: item.name,
    category: item.category,
    mediaType: item.mediaType,
    size: item.size,
    digest: item.digest,
    chunkSize: item.chunkSize,
    chunks: [...item.chunks],
    doNotDisclose: false,
    attachmentOf: place.attachmentOf,
    createdAt: place.createdAt,
  }
}
