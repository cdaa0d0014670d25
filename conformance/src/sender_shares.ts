/**
 * The sender role seen from the harness: the target shares a case with the harness through the
 * control endpoints (SPEC.md §21), its signed offer arrives at the harness's listener, and the
 * tests pull chunks from the target and answer it with receipts. Helpers shared by the sender
 * tests.
 *
 * @module
 */
import {
  FEDERATION_PATHS,
  verifyGrantChain,
  type CaseManifest,
  type ControlShareRequest,
  type EvidenceItem,
  type SharingPolicy,
  type TrustAnchor,
  type VerifiedChain,
} from '#protocol'
import { expectStatus, fail } from './check.ts'
import { requestShare } from './control.ts'
import type { Exchange, TransportFailure } from './exchange.ts'
import type { EventOf } from './listener.ts'
import { unverifiedPayload } from './raw_jws.ts'
import type { TestContext } from './suite.ts'

/** Small items in the categories our node's harness policy allows; multi-chunk at 64 KiB. */
export const DEFAULT_REQUEST: ControlShareRequest = {
  fields: { title: 'Conformance sender case', summary: 'Shared with the harness by the control endpoint EP-6.' },
  items: [
    { size: 3 * 65_536 + 1000, category: 'document' },
    { size: 2048, category: 'photo' },
  ],
}

/** A revision the target offered the harness, verified by the listener. */
export interface ReceivedRevision {
  offer: EventOf<'offer'>
  manifest: CaseManifest
  /** Digest of the manifest's canonical payload. */
  digest: string
  chain: VerifiedChain
  /** The last grant's policy (CW-PROV-007). */
  policy: SharingPolicy
}

/** A share the target made for the harness, with its first revision. */
export interface ReceivedShare extends ReceivedRevision {
  share: string
  caseId: string
}

/** Anchors for what the target signs: its CA, and the harness's own for chains through it. */
export function senderAnchors(ctx: TestContext): TrustAnchor[] {
  return [ctx.target.anchor, ctx.harness.main.anchor, ...ctx.harness.aux.map((party) => party.anchor)]
}

/** The share id and revision an offer names (verified or not). */
function offerNames(event: EventOf<'offer'>): { share?: unknown; revision?: unknown } {
  const share = (event.manifest ?? unverifiedPayload(event.jws))?.share as { id?: unknown; revision?: unknown } | undefined
  return typeof share === 'object' && share !== null ? { share: share.id, revision: share.revision } : {}
}

/**
 * Waits for the target's offer of `revision` of `shareId` on the harness's EP-1; fails unless
 * the listener verified it (SPEC.md §8, §11).
 */
export async function waitForRevision(ctx: TestContext, shareId: string, revision: number): Promise<ReceivedRevision> {
  const offer = await ctx.listener.waitFor(
    'offer',
    (event) => {
      const names = offerNames(event)
      return names.share === shareId && names.revision === revision
    },
    ctx.settings.waitMs,
    `the target's offer of revision ${revision} of share ${shareId} on the harness's EP-1`,
  )
  if (offer.manifest === undefined || offer.digest === undefined) {
    fail(
      `revision ${revision} of share ${shareId}: a manifest that verifies (SPEC.md §8, §11) addressed to the harness`,
      `the harness's verification refused it with ${offer.code}`,
    )
  }
  const { manifest } = offer
  let chain: VerifiedChain
  try {
    chain = await verifyGrantChain(manifest.grants, {
      trustAnchors: senderAnchors(ctx),
      issuer: manifest.iss,
      audience: manifest.aud,
      evidence: manifest.evidence.map((item) => item.digest),
    })
  } catch (error) {
    fail('a provenance chain that verifies (SPEC.md §11)', `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`)
  }
  return { offer, manifest, digest: offer.digest, chain, policy: chain.effectivePolicy }
}

/** EP-6, then the first revision of the new share as the harness received it. */
export async function shareFromTarget(ctx: TestContext, request: ControlShareRequest = DEFAULT_REQUEST, note?: string): Promise<ReceivedShare> {
  const answer = await requestShare(ctx.client, request, note)
  const first = await waitForRevision(ctx, answer.share, 1)
  return { share: answer.share, caseId: answer.case, ...first }
}

/**
 * A share with the default items that several read-only tests look at (made once per run).
 * Skips when the policy assigned to the harness shares none of its items.
 */
const baseline = new WeakMap<object, Promise<ReceivedShare>>()
export async function baselineShare(ctx: TestContext): Promise<ReceivedShare> {
  let made = baseline.get(ctx.listener)
  if (made === undefined) {
    made = shareFromTarget(ctx, DEFAULT_REQUEST, 'control: share a case with a multi-chunk document and a photo')
    baseline.set(ctx.listener, made)
    made.catch(() => baseline.delete(ctx.listener))
  }
  return made
}

/** The share's evidence; skips the test when the policy left none to pull. */
export function requireEvidence(ctx: TestContext, received: ReceivedShare): EvidenceItem[] {
  if (received.manifest.evidence.length === 0) {
    ctx.skip(
      `the target's policy for the harness (${received.policy.content.evidenceCategories.join(', ') || 'no category'}) shared none of the items asked for ` +
        `(${DEFAULT_REQUEST.items.map((item) => item.category).join(', ')}): assign a policy that allows them (conformance/README.md)`,
    )
  }
  return received.manifest.evidence
}

/** EP-2 as the harness. */
export function pull(ctx: TestContext, shareId: string, digest: string, options: { range?: string; note?: string } = {}): Promise<Exchange | TransportFailure> {
  return ctx.client.send(FEDERATION_PATHS.chunk(shareId, digest), {
    ...(options.range === undefined ? {} : { headers: { range: options.range } }),
    note: options.note ?? `pull chunk ${digest.slice(0, 16)}… of share ${shareId}${options.range === undefined ? '' : ` (Range: ${options.range})`}`,
  })
}

/** The expected length of chunk `index` of `item` (CW-FMT-003). */
export function chunkLength(item: EvidenceItem, index: number): number {
  return Math.min(item.chunkSize, item.size - index * item.chunkSize)
}

/** Pulls a whole chunk and expects `200` (no other checks). */
export async function pullWhole(ctx: TestContext, shareId: string, digest: string): Promise<Exchange> {
  return expectStatus(await pull(ctx, shareId, digest), [200], 'with the chunk')
}
