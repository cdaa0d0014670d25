/**
 * Where SPEC.md v0.1 left an implementer to guess (issue 12), and what v0.2 decides: the EP-2
 * chunk path (CW-FED-014), revocation before the retry rule (CW-FED-015), the first revision of
 * a share the receiver never saw (CW-REVN-009), the expiry a revocation is bounded by
 * (CW-REV-007), unknown protected-header parameters (CW-SIG-016), the order of offer and receipt
 * checks (CW-FED-016, CW-FED-009, CW-POL-003), the `at` member (CW-ERR-003), and the readings the
 * vectors rely on (§8 steps 2 and 9).
 *
 * @module
 */
import { type CaseManifest } from '#protocol'
import { check, expectStatus } from '../check.ts'
import { deliver } from '../receiving.ts'
import { baselineShare, requireEvidence } from '../sender_shares.ts'
import type { ConformanceTest } from '../suite.ts'

/** The EP-2 path of a chunk, the digest segment written exactly as given. */
function chunkPath(shareId: string, digestSegment: string): string {
  return `/federation/v1/shares/${encodeURIComponent(shareId)}/chunks/${digestSegment}`
}

export const SPECTEXT_TESTS: ConformanceTest[] = [
  {
    id: 'sender.chunk-path-literal-and-percent-encoded',
    title: 'EP-2 serves a chunk named literally (sha256:<hex>) and percent-encoded (sha256%3A<hex>, sha256%3a<hex>) alike',
    group: 'sender',
    spec: ['CW-FED-014', 'CW-FED-006'],
    requires: ['control'],
    async run(ctx) {
      const received = await baselineShare(ctx)
      const [item] = requireEvidence(ctx, received)
      const digest = item!.chunks[0]!
      const hex = digest.slice('sha256:'.length)
      const forms = [`sha256:${hex}`, `sha256%3A${hex}`, `sha256%3a${hex}`]
      const bodies: Buffer[] = []
      for (const form of forms) {
        const answer = expectStatus(
          await ctx.client.send(chunkPath(received.share, form), { note: `chunk ${digest.slice(0, 16)}… as ${form.slice(0, 12)}…` }),
          [200],
          `with the chunk named ${form.slice(0, 12)}… (CW-FED-014)`,
        )
        bodies.push(answer.body)
      }
      const [first, ...others] = bodies
      check(
        others.every((body) => body.equals(first!)),
        'the same bytes whichever form names the chunk (CW-FED-014)',
        bodies.map((body) => `${body.length} bytes`).join(', '),
      )
    },
  },
  {
    id: 'receiver.chunk-path-literal',
    title: 'The target pulls chunks with the digest written literally in the EP-2 path (sha256:<hex>, not percent-encoded)',
    group: 'receiver',
    spec: ['CW-FED-014'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }] })
      const delivered = await deliver(ctx, share)
      const pulls = ctx.listener.seen('pull', (event) => event.shareId === share.id)
      check(pulls.length > 0, 'at least one pull of the share', 'none')
      const encoded = pulls.filter((event) => event.segment !== event.digest)
      check(
        encoded.length === 0,
        `every EP-2 path naming the digest literally, e.g. ${chunkPath(share.id, (delivered.manifest as CaseManifest).evidence[0]!.chunks[0]!)} (CW-FED-014)`,
        `digest segments ${encoded.map((event) => event.segment).join(', ')}`,
      )
    },
  },
]
