/**
 * Shares the harness offers to the target (receiver-role tests): random evidence, a policy,
 * the provenance chain and manifest payloads for each revision. Payloads are plain objects so
 * that a test can break exactly one thing before signing; {@link signRaw} signs whatever it is
 * given (the protocol's `signManifest` would refuse a broken manifest).
 *
 * A share with `hops` > 0 is an onward share: its chain starts at an auxiliary org (the
 * originator) and passes through the other auxiliary orgs before the harness's own grant to
 * the target; the target trusts the auxiliary orgs' CAs as trust-only anchors (CW-PROV-008).
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto'
import {
  digestBytes,
  digestJson,
  onwardGrant,
  originGrant,
  signObject,
  type CaseManifest,
  type EvidenceItem,
  type Grant,
  type SharingPolicy,
  type Signer,
  type SignedType,
} from '#protocol'
import type { Harness, HarnessOrg } from './harness_dir.ts'

export const DAY = 86_400
/** The smallest chunk size (CW-FMT-003), so that multi-chunk items stay small. */
export const TEST_CHUNK_SIZE = 65_536

export interface ItemSpec {
  size: number
  category?: string
  name?: string
  /** Index of an earlier item of the same share this one is an attachment of. */
  attachmentOf?: number
  folder?: string
  doNotDisclose?: boolean
}

export interface ShareItem {
  item: EvidenceItem
  bytes: Buffer
}

/** A policy that permits everything the harness needs; tests narrow it. */
export function openPolicy(
  overrides: Partial<SharingPolicy['content']> & { permissions?: Partial<SharingPolicy['permissions']>; maxDurationSeconds?: number } = {},
): SharingPolicy {
  const { permissions, maxDurationSeconds, ...content } = overrides
  return {
    id: 'conformance-open',
    version: 1,
    name: 'Conformance open policy',
    permissions: {
      view: true,
      download: true,
      import: true,
      applyUpdates: true,
      shareOnward: { allowed: true, maxDepth: 8 },
      ...permissions,
    },
    content: {
      caseFields: ['title', 'summary', 'offenses', 'location'],
      evidenceCategories: ['document', 'photo', 'video', 'audio'],
      attachments: true,
      ...content,
    },
    maxDurationSeconds: maxDurationSeconds ?? 30 * DAY,
  }
}

/** Random content for each item, chunked at {@link TEST_CHUNK_SIZE}. */
export function makeItems(specs: readonly ItemSpec[]): ShareItem[] {
  const ids = specs.map(() => `ev-${randomUUID()}`)
  return specs.map((spec, index) => {
    const bytes = randomBytes(spec.size)
    const chunks: string[] = []
    for (let offset = 0; offset < bytes.length; offset += TEST_CHUNK_SIZE) chunks.push(digestBytes(bytes.subarray(offset, offset + TEST_CHUNK_SIZE)))
    const item: EvidenceItem = {
      id: ids[index]!,
      name: spec.name ?? `item-${index + 1}.bin`,
      category: spec.category ?? 'document',
      mediaType: 'application/octet-stream',
      size: spec.size,
      digest: digestBytes(bytes),
      chunkSize: TEST_CHUNK_SIZE,
      chunks,
      doNotDisclose: spec.doNotDisclose ?? false,
    }
    if (spec.attachmentOf !== undefined) item.attachmentOf = ids[spec.attachmentOf]!
    if (spec.folder !== undefined) item.folder = spec.folder
    return { item, bytes }
  })
}

export interface NewShareOptions {
  items?: readonly ItemSpec[]
  policy?: SharingPolicy
  /** Onward hops before the harness's grant: 0 = a direct share (default). */
  hops?: number
  /** Case fields (default a title and a summary). */
  fields?: Record<string, string | string[]>
  /** Manifest and grant lifetime from now, seconds (default one day). */
  lifetimeSeconds?: number
}

/** A share from the harness to the target, with every revision it made so far. */
export class HarnessShare {
  readonly id: string
  readonly caseId = `case-${randomUUID()}`
  readonly harness: Harness
  readonly audience: string
  readonly policy: SharingPolicy
  readonly hops: number
  readonly iat: number
  readonly exp: number
  fields: Record<string, string | string[]>
  items: ShareItem[]
  /** The grant payloads, originator first; the last is the harness's grant to the target. */
  grants: Grant[] = []
  /** Signed grants of the current revision. */
  signedGrants: string[] = []
  /** Manifest payloads by revision that were offered, and their digests. */
  readonly revisions = new Map<number, { manifest: CaseManifest; digest: string }>()

  constructor(harness: Harness, audience: string, options: NewShareOptions = {}) {
    this.id = `share-${randomUUID()}`
    this.harness = harness
    this.audience = audience
    this.hops = options.hops ?? 0
    if (this.hops > harness.aux.length) throw new RangeError(`at most ${harness.aux.length} onward hops (auxiliary orgs)`)
    const policy = options.policy ?? openPolicy()
    // Every earlier hop allows one more hop than the next (CW-POL-005), within depth 8.
    const onward = policy.permissions.shareOnward
    this.policy =
      this.hops > 0 && onward.maxDepth > 8 - this.hops
        ? { ...policy, permissions: { ...policy.permissions, shareOnward: { ...onward, maxDepth: 8 - this.hops } } }
        : policy
    this.iat = Math.floor(Date.now() / 1000) - 5
    this.exp = this.iat + (options.lifetimeSeconds ?? DAY)
    this.fields = options.fields ?? { title: 'Conformance case', summary: 'Generated by the Caseway conformance harness.' }
    this.items = makeItems(options.items ?? [{ size: 3 * TEST_CHUNK_SIZE + 1000 }, { size: 2048, category: 'photo' }])
  }

  /** The orgs that sign the chain, originator first (the harness signs the last grant). */
  get signers(): HarnessOrg[] {
    return [...this.harness.aux.slice(0, this.hops), this.harness.main]
  }

  /** All chunks of all revisions' items, by digest (what the harness serves). */
  chunks(): Map<string, Buffer> {
    const chunks = new Map<string, Buffer>()
    for (const { item, bytes } of this.items) {
      item.chunks.forEach((digest, index) => chunks.set(digest, bytes.subarray(index * item.chunkSize, (index + 1) * item.chunkSize)))
    }
    return chunks
  }

  /** Unsigned grant payloads for the current items: originator → … → harness → target. */
  grantPayloads(): Grant[] {
    const orgs = [...this.signers.map((party) => party.org), this.audience]
    const evidence = this.items.map(({ item }) => item.digest)
    const grants: Grant[] = []
    for (let index = 0; index < orgs.length - 1; index++) {
      const common = {
        aud: orgs[index + 1]!,
        share: index === orgs.length - 2 ? this.id : `${this.id}-hop${index}`,
        policy: hopPolicy(this.policy, orgs.length - 2 - index),
        iat: this.iat,
        exp: this.exp,
      }
      grants.push(index === 0 ? originGrant({ ...common, iss: orgs[0]!, evidence }) : onwardGrant(grants[index - 1]!, common))
    }
    return grants
  }

  /** Signs `grants` with each hop's signer (no checks: broken grants too). */
  async signGrants(grants: readonly Grant[], signers: readonly Signer[] = this.signers.map((party) => party.signer)): Promise<string[]> {
    return Promise.all(grants.map((grant, index) => signRaw('grant', grant, signers[index]!)))
  }

  /**
   * The manifest payload of `revision` (default: the next one) over the current items, with
   * freshly signed grants. `previous` is the digest of the revision before, when offered.
   */
  async manifest(revision = this.revisions.size + 1): Promise<CaseManifest> {
    this.grants = this.grantPayloads()
    this.signedGrants = await this.signGrants(this.grants)
    const manifest: CaseManifest = {
      cwv: '0.1',
      iss: this.harness.main.org,
      aud: this.audience,
      iat: this.iat,
      exp: this.exp,
      jti: `${this.id}-r${revision}-${randomUUID().slice(0, 8)}`,
      share: { id: this.id, revision, scope: 'case', live: true, message: 'Conformance test share.', recipients: [{ kind: 'agency', id: this.audience }] },
      case: { id: this.caseId, fields: structuredClone(this.fields), folders: [] },
      evidence: this.items.map(({ item }) => structuredClone(item)),
      grants: [...this.signedGrants],
    }
    const previous = this.revisions.get(revision - 1)
    if (revision > 1 && previous !== undefined) manifest.share.previous = previous.digest
    return manifest
  }

  /** Signs a manifest payload as the harness (no checks). */
  sign(manifest: CaseManifest, signer: Signer = this.harness.main.signer): Promise<string> {
    return signRaw('manifest', manifest, signer)
  }

  /** Remembers that `manifest` was offered (and accepted) as its revision. */
  offered(manifest: CaseManifest): void {
    this.revisions.set(manifest.share.revision, { manifest, digest: digestJson(manifest) })
  }

  /** Adds items (for a later revision). */
  addItems(specs: readonly ItemSpec[]): ShareItem[] {
    const added = makeItems(specs)
    this.items = [...this.items, ...added]
    return added
  }
}

/**
 * The policy of the grant `remaining` hops before the target: each hop may add one more,
 * so `maxDepth` decreases by one per hop (CW-POL-005); the target's own grant gets `base`.
 */
function hopPolicy(base: SharingPolicy, remaining: number): SharingPolicy {
  if (remaining === 0) return base
  return {
    ...base,
    id: `${base.id}-hop`,
    permissions: { ...base.permissions, shareOnward: { allowed: true, maxDepth: base.permissions.shareOnward.maxDepth + remaining } },
  }
}

/** Signs any payload with the protocol's signer (canonical JSON, x5c = the signer's chain). */
export function signRaw(type: SignedType, payload: object, signer: Signer): Promise<string> {
  return signObject(type, payload as Record<string, unknown>, signer)
}
