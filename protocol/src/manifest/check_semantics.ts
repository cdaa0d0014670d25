/**
 * What a manifest's schema cannot say (SPEC.md CW-MAN-001, CW-MAN-002, CW-FMT-003).
 *
 * @module
 */
import { VerificationError } from '../errors.ts'
import type { CaseManifest } from '../types.gen.ts'

/**
 * Throws unless the schema-valid manifest is internally consistent:
 * - `share.previous` is present exactly when `share.revision` > 1;
 * - folder ids are unique, every folder `parent` names another folder, and the folders form
 *   a tree (no cycles);
 * - evidence ids are unique, every `folder` names a folder, every `attachmentOf` names another
 *   evidence item, and attachments do not refer to each other in a cycle;
 * - each item has `ceil(size / chunkSize)` chunk digests (none when `size` is 0).
 *
 * Whether the grants cover the evidence is provenance, checked by `verifyGrantChain`.
 *
 * @throws {VerificationError} `CW_ERR_SCHEMA_INVALID` with `at` = JSON pointer of the fault.
 */
export function checkManifestSemantics(manifest: CaseManifest): void {
  const { share } = manifest
  if (share.revision > 1 && share.previous === undefined) {
    throw invalid('/share/previous', `revision ${share.revision} must name its previous revision`)
  }
  if (share.revision === 1 && share.previous !== undefined) {
    throw invalid('/share/previous', 'revision 1 has no previous revision')
  }

  const folders = indexById(manifest.case.folders, '/case/folders', 'folder')
  for (const [index, folder] of manifest.case.folders.entries()) {
    if (folder.parent !== undefined && !folders.has(folder.parent)) {
      throw invalid(`/case/folders/${index}/parent`, `folder ${JSON.stringify(folder.id)} names unknown parent ${JSON.stringify(folder.parent)}`)
    }
  }
  const folderCycle = findCycle(manifest.case.folders, (folder) => folder.parent, folders)
  if (folderCycle !== -1) {
    throw invalid(`/case/folders/${folderCycle}/parent`, `folder ${JSON.stringify(manifest.case.folders[folderCycle]!.id)} is its own ancestor`)
  }

  const items = indexById(manifest.evidence, '/evidence', 'evidence')
  for (const [index, item] of manifest.evidence.entries()) {
    if (item.folder !== undefined && !folders.has(item.folder)) {
      throw invalid(`/evidence/${index}/folder`, `evidence ${JSON.stringify(item.id)} names unknown folder ${JSON.stringify(item.folder)}`)
    }
    if (item.attachmentOf !== undefined && !items.has(item.attachmentOf)) {
      throw invalid(
        `/evidence/${index}/attachmentOf`,
        `evidence ${JSON.stringify(item.id)} is an attachment of unknown evidence ${JSON.stringify(item.attachmentOf)}`,
      )
    }
    const expected = Math.ceil(item.size / item.chunkSize)
    if (item.chunks.length !== expected) {
      throw invalid(
        `/evidence/${index}/chunks`,
        `evidence ${JSON.stringify(item.id)} of ${item.size} bytes in ${item.chunkSize}-byte chunks needs ${expected} chunk digests, has ${item.chunks.length}`,
      )
    }
  }
  const attachmentCycle = findCycle(manifest.evidence, (item) => item.attachmentOf, items)
  if (attachmentCycle !== -1) {
    throw invalid(`/evidence/${attachmentCycle}/attachmentOf`, `evidence ${JSON.stringify(manifest.evidence[attachmentCycle]!.id)} is an attachment of itself`)
  }
}

function invalid(at: string, message: string): VerificationError {
  return new VerificationError('CW_ERR_SCHEMA_INVALID', message, { at })
}

/** Map from id to position; throws on a duplicate id. */
function indexById(list: readonly { id: string }[], base: string, label: string): Map<string, number> {
  const positions = new Map<string, number>()
  for (const [index, { id }] of list.entries()) {
    if (positions.has(id)) throw invalid(`${base}/${index}/id`, `duplicate ${label} id ${JSON.stringify(id)}`)
    positions.set(id, index)
  }
  return positions
}

/**
 * Position of the first node that lies on a cycle of `next` links, or −1. Every link is known
 * to resolve. Linear: each node is walked once (colouring, as in a depth-first search).
 */
function findCycle<T>(nodes: readonly T[], next: (node: T) => string | undefined, positions: ReadonlyMap<string, number>): number {
  const state = new Uint8Array(nodes.length) // 0 unvisited, 1 on the current walk, 2 done
  for (let start = 0; start < nodes.length; start++) {
    const walk: number[] = []
    let current: number | undefined = start
    while (current !== undefined && state[current] === 0) {
      state[current] = 1
      walk.push(current)
      const id = next(nodes[current]!)
      current = id === undefined ? undefined : positions.get(id)
    }
    if (current !== undefined && state[current] === 1) return current
    for (const visited of walk) state[visited] = 2
  }
  return -1
}
