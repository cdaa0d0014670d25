/**
 * Test fixtures: sharing policies and case manifests, plain data. Every builder returns a fresh
 * object, so a test can mutate what it gets.
 */
import { createHash } from 'node:crypto'
import type { CaseManifest, EvidenceItem, SharingPolicy } from '#protocol'

/** A wide policy: everything allowed, onward sharing up to `maxDepth` hops. */
export function widePolicy(overrides: { maxDepth?: number; partners?: string[] } = {}): SharingPolicy {
  const shareOnward: SharingPolicy['permissions']['shareOnward'] = { allowed: true, maxDepth: overrides.maxDepth ?? 8 }
  if (overrides.partners !== undefined) shareOnward.partners = [...overrides.partners]
  return {
    id: 'policy-wide',
    version: 1,
    name: 'Wide',
    permissions: { view: true, download: true, import: true, applyUpdates: true, shareOnward },
    content: {
      caseFields: ['title', 'summary', 'offenses', 'officers', 'location'],
      evidenceCategories: ['video', 'photo', 'document', 'audio'],
      attachments: true,
    },
    maxDurationSeconds: 90 * 86_400,
  }
}

/** A narrow policy: view only, no onward sharing, some fields and categories. */
export function narrowPolicy(): SharingPolicy {
  return {
    id: 'policy-narrow',
    version: 3,
    name: 'View only',
    permissions: { view: true, download: false, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['title'], evidenceCategories: ['photo'], attachments: false },
    maxDurationSeconds: 7 * 86_400,
  }
}

/** Deterministic fake digest of a label. */
export function fakeDigest(label: string): string {
  return 'sha256:' + createHash('sha256').update(label).digest('hex')
}

const CHUNK = 65_536

/** One evidence item; its digest is `fakeDigest(id)` and its chunk list matches its size. */
export function evidenceItem(id: string, overrides: Partial<EvidenceItem> = {}): EvidenceItem {
  const size = overrides.size ?? 100_000
  const chunkSize = overrides.chunkSize ?? CHUNK
  const chunks = Array.from({ length: Math.ceil(size / chunkSize) }, (_, index) => fakeDigest(`${id}#${index}`))
  return {
    id,
    name: `${id}.bin`,
    category: 'photo',
    mediaType: 'image/jpeg',
    size,
    digest: fakeDigest(id),
    chunkSize,
    chunks,
    doNotDisclose: false,
    ...overrides,
  }
}

/**
 * A revision-1 manifest from `iss` to `aud` with two folders, three evidence items (a video, a
 * photo in a sub-folder and a document attached to the photo) and the given grants.
 */
export function sampleManifest(options: { iss: string; aud: string; iat: number; exp: number; grants: string[] }): CaseManifest {
  return {
    cwv: '0.1',
    iss: options.iss,
    aud: options.aud,
    iat: options.iat,
    exp: options.exp,
    jti: `manifest-${options.iss}-${options.aud}-${options.iat}`,
    share: { id: 'share-1', revision: 1, scope: 'case', live: true, recipients: [{ kind: 'agency', id: options.aud }] },
    case: {
      id: 'case-2024-0042',
      fields: { title: 'Burglary at 12 Elm St', offenses: ['burglary'] },
      folders: [
        { id: 'f-root', name: 'Evidence' },
        { id: 'f-photos', name: 'Photos', parent: 'f-root' },
      ],
    },
    evidence: [
      evidenceItem('ev-video', { category: 'video', mediaType: 'video/mp4', size: 200_000, folder: 'f-root' }),
      evidenceItem('ev-photo', { folder: 'f-photos' }),
      evidenceItem('ev-note', { category: 'document', mediaType: 'text/plain', size: 0, attachmentOf: 'ev-photo' }),
    ],
    grants: options.grants,
  }
}
