/**
 * Signed manifests built by a test, as a real partner would sign them (with the partner's own
 * signing key read from its node directory), to offer a node things its partner's node would
 * never send: tampered, policy-violating, over-long.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import {
  chunkStream,
  originGrant,
  signGrant,
  signManifest,
  signObject,
  type CaseManifest,
  type EvidenceItem,
  type SharingPolicy,
  type Signer,
} from '#protocol'

export const TEST_CHUNK_SIZE = 65_536

/** A sharing policy for crafted manifests (view and download; video and document). */
export function testPolicy(overrides: Partial<SharingPolicy> = {}): SharingPolicy {
  return {
    id: 'crafted-policy',
    version: 1,
    name: 'Crafted',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['video', 'document'], attachments: false },
    maxDurationSeconds: 86_400,
    ...overrides,
  }
}

/** An evidence item over `bytes`, chunked at 64 KiB. */
export async function evidenceItem(id: string, bytes: Uint8Array, overrides: Partial<EvidenceItem> = {}): Promise<EvidenceItem> {
  const chunks = chunkStream((async function* () {
    yield bytes
  })(), TEST_CHUNK_SIZE)
  let step = await chunks.next()
  while (step.done !== true) step = await chunks.next()
  const summary = step.value
  return {
    id,
    name: `${id}.bin`,
    category: 'document',
    mediaType: 'application/octet-stream',
    size: summary.size,
    digest: summary.digest,
    chunkSize: TEST_CHUNK_SIZE,
    chunks: summary.chunks,
    doNotDisclose: false,
    ...overrides,
  }
}

export interface CraftOptions {
  /** Issuer org and its signer (the partner's real signing key). */
  iss: string
  signer: Signer
  aud: string
  policy?: SharingPolicy
  items?: EvidenceItem[]
  /** Manifest iat (default now) and lifetime (default 1 h). */
  iat?: number
  lifetime?: number
  /** The origin grant's lifetime (default: the manifest's). */
  grantLifetime?: number
  fields?: Record<string, string>
}

export interface CraftedManifest {
  jws: string
  manifest: CaseManifest
}

/** A manifest (revision 1, with its origin grant) signed by `signer`. */
export async function craftManifest(options: CraftOptions): Promise<CraftedManifest> {
  const iat = options.iat ?? Math.floor(Date.now() / 1000)
  const exp = iat + (options.lifetime ?? 3600)
  const shareId = `crafted-${randomUUID()}`
  const items = options.items ?? []
  const grant = originGrant({
    iss: options.iss,
    aud: options.aud,
    share: shareId,
    revision: 1,
    policy: options.policy ?? testPolicy(),
    iat,
    exp: iat + (options.grantLifetime ?? options.lifetime ?? 3600),
    evidence: items.map((item) => item.digest),
  })
  const manifest: CaseManifest = {
    cwv: '0.1',
    iss: options.iss,
    aud: options.aud,
    iat,
    exp,
    jti: randomUUID(),
    share: { id: shareId, revision: 1, scope: 'case', live: true },
    case: { id: `case-${randomUUID()}`, fields: options.fields ?? { caseNumber: 'X-1', title: 'Crafted case' }, folders: [] },
    evidence: items,
    // signGrant refuses to sign a grant longer than its policy (a caller bug on an honest
    // sender); a misbehaving sender signs it anyway, with the generic signer.
    grants: [grant.exp - grant.iat > grant.policy.maxDurationSeconds ? await signObject('grant', grant as unknown as Record<string, unknown>, options.signer) : await signGrant(grant, options.signer)],
  }
  return { jws: await signManifest(manifest, options.signer), manifest }
}

/** `jws` with its payload replaced by `change(payload)`, the signature kept: a tampered object. */
export function tamperPayload(jws: string, change: (payload: Record<string, unknown>) => void): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string]
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  change(decoded)
  return `${header}.${Buffer.from(JSON.stringify(decoded), 'utf8').toString('base64url')}.${signature}`
}
