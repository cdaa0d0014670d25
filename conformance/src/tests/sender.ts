/**
 * Sender role (SPEC.md §9–§13, §16): the target shares cases with the harness through the
 * control endpoints (§21, EP-6..EP-8). Its offers must verify and keep to the effective policy
 * (the last grant's, whatever policy the target's operator assigned to the harness); it serves
 * exactly the chunks it listed, honours ranges, refuses pulls once a share is revoked or
 * expired, verifies the harness's receipts, offers later revisions in order and delivers its
 * revocations until the harness takes them.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { randomBytes, randomUUID } from 'node:crypto'
import {
  assertPolicy,
  assertReceiptAnswer,
  digestBytes,
  enforceManifestPolicy,
  FEDERATION_PATHS,
  isAllowedChunkSize,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  PROBLEMS,
  signReceipt,
  type SharingPolicy,
  type DeliveryReceipt,
  type ProblemCode,
  type Signer,
} from '#protocol'
import { check, expectProblem, expectShape, expectStatus, fail, jsonOf } from '../check.ts'
import { deliver, quietMs } from '../receiving.ts'
import { openPolicy } from '../shares.ts'
import { addEvidence, requestShare, revokeShare } from '../control.ts'
import { describeExchange, type Exchange } from '../exchange.ts'
import { problemAnswer } from '../listener.ts'
import { unverifiedPayload } from '../raw_jws.ts'
import { baselineShare, chunkLength, pull, pullWhole, requireEvidence, shareFromTarget, waitForRevision, type ReceivedShare } from '../sender_shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

const DIGEST = /^sha256:[0-9a-f]{64}$/
const now = () => Math.floor(Date.now() / 1000)

/** A digest no share lists. */
const unknownDigest = () => digestBytes(randomBytes(32))

/** A receipt from the harness for revision `revision` of `received` (valid unless the caller changes it). */
function receiptFor(ctx: TestContext, received: ReceivedShare, status: DeliveryReceipt['status'] = 'delivered'): DeliveryReceipt {
  const receipt: DeliveryReceipt = {
    cwv: '0.1',
    iss: ctx.harness.main.org,
    aud: ctx.target.org,
    iat: now() - 5,
    exp: now() + 3600,
    jti: `receipt-${randomUUID()}`,
    share: received.share,
    revision: received.manifest.share.revision,
    manifest: received.digest,
    status,
  }
  if (status === 'rejected') receipt.problem = { code: 'CW_ERR_CHUNK_DIGEST_MISMATCH', detail: 'conformance test: a rejected receipt' }
  return receipt
}

function postReceipt(ctx: TestContext, jws: string, note: string) {
  return ctx.client.postJose(FEDERATION_PATHS.receipts, jws, note)
}

/** A compact JWS with one signature bit flipped (the header and payload untouched). */
function breakSignature(jws: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string]
  const bytes = Buffer.from(signature, 'base64url')
  bytes[bytes.length >> 1]! ^= 0x01
  return `${header}.${payload}.${bytes.toString('base64url')}`
}

/** Checks one chunk answer: `200`, octet-stream, `Content-Length` = the chunk's size, bytes hashing to the digest. */
function checkWholeChunk(answer: Exchange, digest: string, length: number): void {
  check(
    answer.headers['content-type']?.split(';')[0]?.trim() === 'application/octet-stream',
    'Content-Type application/octet-stream',
    describeExchange(answer),
    answer.request,
  )
  check(
    answer.headers['content-length'] === String(length),
    `Content-Length ${length} (the chunk's size)`,
    `Content-Length ${answer.headers['content-length']}`,
    answer.request,
  )
  check(answer.body.length === length, `${length} bytes`, `${answer.body.length} bytes`, answer.request)
  check(digestBytes(answer.body) === digest, `bytes hashing to ${digest}`, `bytes hashing to ${digestBytes(answer.body)}`, answer.request)
}

/** The first chunk at least `min` bytes long. */
function chunkOfAtLeast(ctx: TestContext, received: ReceivedShare, min: number): { digest: string; length: number } {
  for (const item of requireEvidence(ctx, received)) {
    for (const [index, digest] of item.chunks.entries()) {
      const length = chunkLength(item, index)
      if (length >= min) return { digest, length }
    }
  }
  return ctx.skip(`no chunk of ${min} bytes or more in the share (the policy left out the larger item)`)
}

/** A pull the target must refuse with `code`. */
async function expectPullRefused(ctx: TestContext, shareId: string, digest: string, code: ProblemCode, note: string) {
  return expectProblem(await pull(ctx, shareId, digest, { note }), code)
}

/** Waits until the target's revocation of `shareId` arrives, answered `200` by the harness. */
function waitForRevocation(ctx: TestContext, shareId: string, what: string) {
  return ctx.listener.waitFor(
    'revocation',
    (event) => (event.revocation?.share ?? unverifiedPayload(event.jws)?.share) === shareId && event.status === 200,
    ctx.settings.waitMs,
    what,
  )
}

/**
 * The harness shares a case with the target under `policy`, has it delivered, then asks the
 * target to share it onward back to the harness (EP-9). A `409` (the target still finishing
 * the received share) is asked again. Returns the EP-9 answer and when it was asked.
 */
async function onwardOfHarnessShare(
  ctx: TestContext,
  policy: SharingPolicy,
  what: string,
): Promise<{ shareId: string; answer: Exchange | Awaited<ReturnType<TestContext['offer']>>; askedAt: number }> {
  const share = ctx.newShare({ items: [{ size: 3000 }], policy })
  await deliver(ctx, share)
  const ask = () =>
    ctx.client.send(FEDERATION_PATHS.controlShareOnward(share.id), {
      method: 'POST',
      body: '{}',
      contentType: 'application/json',
      note: `control: share onward (EP-9) a share whose policy ${what}`,
    })
  const askedAt = Date.now()
  let answer = await ask()
  for (const until = Date.now() + ctx.settings.waitMs; 'status' in answer && answer.status === 409 && Date.now() < until; answer = await ask()) await sleep(500)
  return { shareId: share.id, answer, askedAt }
}

/** Offers the target made after `since` whose chain starts with the harness's grant of share `shareId` (onward shares of it). */
function onwardOffersOf(ctx: TestContext, shareId: string, since: number) {
  return ctx.listener.seen('offer', (event) => {
    if (event.at < since) return false
    const grants = unverifiedPayload(event.jws)?.grants
    const first = Array.isArray(grants) && typeof grants[0] === 'string' ? unverifiedPayload(grants[0]) : undefined
    return first?.share === shareId
  })
}

export const SENDER_TESTS: ConformanceTest[] = [
  {
    id: 'sender.manifest-verifies',
    title: "The target's offer verifies as a manifest signed by the target and addressed to the harness",
    group: 'sender',
    spec: [
      'CW-SIG-001',
      'CW-SIG-002',
      'CW-SIG-003',
      'CW-SIG-004',
      'CW-SIG-005',
      'CW-SIG-006',
      'CW-SIG-007',
      'CW-SIG-008',
      'CW-SIG-009',
      'CW-SIG-010',
      'CW-SIG-011',
      'CW-SIG-014',
      'CW-ID-004',
      'CW-MAN-002',
      'CW-MAN-003',
      'CW-PROV-002',
      'CW-PROV-007',
    ],
    requires: ['control'],
    async run(ctx) {
      // The listener verified the offer (§8, §11) with the target's CA as anchor and the harness as audience.
      const received = await baselineShare(ctx)
      const { manifest } = received
      check(manifest.iss === ctx.target.org, `iss ${ctx.target.org} (the target)`, `iss ${manifest.iss}`)
      check(manifest.aud === ctx.harness.main.org, `aud ${ctx.harness.main.org} (the harness)`, `aud ${manifest.aud}`)
      check(received.offer.status === 202, 'the offer answered 202 by the harness', `answered ${received.offer.status}`)
      const last = received.chain.grants.at(-1)!
      check(
        last.iss === ctx.target.org && last.aud === ctx.harness.main.org,
        `a last grant from ${ctx.target.org} to ${ctx.harness.main.org}`,
        `from ${last.iss} to ${last.aud}`,
      )
    },
  },
  {
    id: 'sender.manifest-first-revision',
    title: 'A new share is revision 1 without previous, originates at the target, and expires within its grant and policy',
    group: 'sender',
    spec: ['CW-MAN-001', 'CW-PROV-001', 'CW-SIG-014', 'CW-POL-004', 'CW-POL-001'],
    requires: ['control'],
    async run(ctx) {
      const { manifest, chain } = await baselineShare(ctx)
      check(manifest.share.revision === 1, 'share.revision 1', `share.revision ${manifest.share.revision}`)
      check(manifest.share.previous === undefined, 'no share.previous in revision 1', `share.previous ${manifest.share.previous}`)
      const first = chain.grants[0]!
      check(first.depth === 0 && first.parent === undefined, 'grants[0] with depth 0 and no parent', `depth ${first.depth}, parent ${first.parent}`)
      check(first.iss === first.originator, 'grants[0].iss equal to its originator', `iss ${first.iss}, originator ${first.originator}`)
      check(first.originator === ctx.target.org, `originator ${ctx.target.org} (the target made the case)`, `originator ${first.originator}`)
      const last = chain.grants.at(-1)!
      check(manifest.exp <= last.exp, `manifest exp no later than the share's expiry (grant exp ${last.exp})`, `manifest exp ${manifest.exp}`)
      check(manifest.exp > manifest.iat, 'manifest exp after iat', `iat ${manifest.iat}, exp ${manifest.exp}`)
      for (const [index, grant] of chain.grants.entries()) {
        expectShape(grant.policy, assertPolicy, `grants[${index}].policy valid against the policy schema`)
        check(grant.policy.permissions.view === true, `grants[${index}].policy.permissions.view true`, String(grant.policy.permissions.view))
        check(
          grant.exp - grant.iat <= grant.policy.maxDurationSeconds,
          `grants[${index}] lasting at most maxDurationSeconds ${grant.policy.maxDurationSeconds}`,
          `exp − iat = ${grant.exp - grant.iat}`,
        )
      }
      ctx.note(
        `effective policy: ${last.policy.id} v${last.policy.version}, categories ${last.policy.content.evidenceCategories.join(', ')}; share lasts ${last.exp - last.iat} s`,
      )
    },
  },
  {
    id: 'sender.manifest-chunking',
    title: 'Every item is chunked at a power-of-two chunk size of 64 KiB to 16 MiB with ceil(size/chunkSize) sha256 chunk digests',
    group: 'sender',
    spec: ['CW-FMT-002', 'CW-FMT-003', 'CW-MAN-002'],
    requires: ['control'],
    async run(ctx) {
      const received = await baselineShare(ctx)
      for (const [index, item] of requireEvidence(ctx, received).entries()) {
        const at = `evidence[${index}] (${item.name}, ${item.size} bytes)`
        check(
          isAllowedChunkSize(item.chunkSize) && item.chunkSize >= MIN_CHUNK_SIZE && item.chunkSize <= MAX_CHUNK_SIZE,
          `${at}: a chunkSize that is a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`,
          `chunkSize ${item.chunkSize}`,
        )
        const count = Math.ceil(item.size / item.chunkSize)
        check(item.chunks.length === count, `${at}: ${count} chunk digests (ceil(size / chunkSize))`, `${item.chunks.length}`)
        check(DIGEST.test(item.digest), `${at}: digest sha256:<64 lower-case hex>`, item.digest)
        for (const digest of item.chunks) check(DIGEST.test(digest), `${at}: chunk digests sha256:<64 lower-case hex>`, digest)
      }
      for (const [index, grant] of received.chain.grants.entries()) {
        for (const digest of grant.evidence) check(DIGEST.test(digest), `grants[${index}].evidence: sha256:<64 lower-case hex>`, digest)
      }
    },
  },
  {
    id: 'sender.policy-filtering',
    title: 'The target leaves out do-not-disclose items, categories and case fields its effective policy excludes',
    group: 'sender',
    spec: ['CW-POL-002'],
    requires: ['control'],
    async run(ctx) {
      const known = (await baselineShare(ctx)).policy
      const allowedCategory = known.content.evidenceCategories[0]
      if (allowedCategory === undefined) ctx.skip("the target's policy for the harness allows no evidence category")
      const excludedCategory = ['video', 'audio', 'note', 'cw-conformance-excluded'].find((category) => !known.content.evidenceCategories.includes(category))!
      const excludedField = ['suspectName', 'cwConformanceExcluded'].find((field) => !known.content.caseFields.includes(field))!
      const allowedField = known.content.caseFields[0]
      // Distinct sizes tell the items apart whatever the target names them.
      const sizes = { shared: 1111, doNotDisclose: 1222, excludedCategory: 1333, attachment: 1444 }
      const received = await shareFromTarget(
        ctx,
        {
          fields: { ...(allowedField === undefined ? {} : { [allowedField]: 'Conformance filtering case' }), [excludedField]: 'Must not be shared' },
          items: [
            { size: sizes.shared, category: allowedCategory },
            { size: sizes.doNotDisclose, category: allowedCategory, doNotDisclose: true },
            { size: sizes.excludedCategory, category: excludedCategory },
            { size: sizes.attachment, category: allowedCategory, attachmentOf: 0 },
          ],
        },
        `control: share a case with a do-not-disclose item, a ${excludedCategory} item, an attachment and field ${excludedField}`,
      )
      const { manifest, policy } = received
      const evidence = manifest.evidence
        .map((item) => `${item.name} (${item.size} bytes, ${item.category}${item.doNotDisclose ? ', do-not-disclose' : ''})`)
        .join('; ')
      const fields = Object.keys(manifest.case.fields)
      // Judged against the policy this very share travels under.
      check(!manifest.evidence.some((item) => item.doNotDisclose !== false), 'no item marked do-not-disclose in the manifest', evidence)
      check(!manifest.evidence.some((item) => item.size === sizes.doNotDisclose), `the do-not-disclose item (${sizes.doNotDisclose} bytes) left out`, evidence)
      if (!policy.content.evidenceCategories.includes(excludedCategory)) {
        check(
          !manifest.evidence.some((item) => item.size === sizes.excludedCategory),
          `the ${excludedCategory} item (${sizes.excludedCategory} bytes) left out: the policy allows ${policy.content.evidenceCategories.join(', ')}`,
          evidence,
        )
      }
      if (!policy.content.attachments) {
        check(
          !manifest.evidence.some((item) => item.attachmentOf !== undefined || item.size === sizes.attachment),
          'no attachment: the policy allows none',
          evidence,
        )
      }
      if (!policy.content.caseFields.includes(excludedField)) {
        check(
          !fields.includes(excludedField),
          `case field ${excludedField} left out: the policy allows ${policy.content.caseFields.join(', ')}`,
          `fields ${fields.join(', ')}`,
        )
      }
      try {
        enforceManifestPolicy(manifest, policy)
      } catch (error) {
        fail('a manifest within its effective policy', `${(error as { code?: string }).code} at ${(error as { at?: string }).at}: ${(error as Error).message}`)
      }
      ctx.note(`shared: ${evidence || 'no evidence'}; fields: ${fields.join(', ') || 'none'}`)
      // Not a share of nothing: what the policy allows is there.
      if (policy.content.evidenceCategories.includes(allowedCategory)) {
        check(
          manifest.evidence.some((item) => item.size === sizes.shared),
          `the ${allowedCategory} item (${sizes.shared} bytes) the policy allows shared`,
          evidence || 'no evidence',
        )
      }
    },
  },
  {
    id: 'sender.chunks-served',
    title: 'Every listed chunk is served 200 as application/octet-stream with its size, hashing to its digest and to the item digest',
    group: 'sender',
    spec: ['CW-FED-005', 'CW-FED-006', 'CW-FMT-003'],
    requires: ['control'],
    async run(ctx) {
      const received = await baselineShare(ctx)
      for (const item of requireEvidence(ctx, received)) {
        const pieces: Buffer[] = []
        for (const [index, digest] of item.chunks.entries()) {
          const answer = await pullWhole(ctx, received.share, digest)
          checkWholeChunk(answer, digest, chunkLength(item, index))
          pieces.push(answer.body)
        }
        const whole = Buffer.concat(pieces)
        check(whole.length === item.size, `${item.name}: ${item.size} bytes in all`, `${whole.length}`)
        check(digestBytes(whole) === item.digest, `${item.name}: the chunks together hash to the item digest ${item.digest}`, digestBytes(whole))
      }
    },
  },
  {
    id: 'sender.chunk-ranges',
    title: 'A single byte range is answered 206 with Content-Range; an unsatisfiable one 416 CW_ERR_RANGE_INVALID',
    group: 'sender',
    spec: ['CW-FED-006'],
    requires: ['control'],
    async run(ctx) {
      const received = await baselineShare(ctx)
      const { digest, length } = chunkOfAtLeast(ctx, received, 200)
      const whole = (await pullWhole(ctx, received.share, digest)).body
      const ranged = async (range: string, first: number, last: number) => {
        const answer = expectStatus(await pull(ctx, received.share, digest, { range }), [206], `for Range: ${range}`)
        const expected = `bytes ${first}-${last}/${length}`
        check(answer.headers['content-range'] === expected, `Content-Range: ${expected}`, `Content-Range: ${answer.headers['content-range']}`, answer.request)
        check(answer.body.equals(whole.subarray(first, last + 1)), `bytes ${first}..${last} of the chunk`, `${answer.body.length} other bytes`, answer.request)
      }
      await ranged('bytes=0-99', 0, 99)
      await ranged('bytes=100-', 100, length - 1)
      expectProblem(await pull(ctx, received.share, digest, { range: `bytes=${length}-` }), 'CW_ERR_RANGE_INVALID')
      expectProblem(await pull(ctx, received.share, digest, { range: `bytes=${length + 1000}-${length + 2000}` }), 'CW_ERR_RANGE_INVALID')
    },
  },
  {
    id: 'sender.chunk-not-listed',
    title: "An unknown digest, an unknown share and another share's digest are answered 404 CW_ERR_NOT_FOUND alike",
    group: 'sender',
    spec: ['CW-FED-005'],
    requires: ['control'],
    async run(ctx) {
      const received = await baselineShare(ctx)
      const [item] = requireEvidence(ctx, received)
      const unknownChunk = await expectPullRefused(ctx, received.share, unknownDigest(), 'CW_ERR_NOT_FOUND', 'a digest the share does not list')
      const unknownShare = await expectPullRefused(
        ctx,
        `share-${randomUUID()}`,
        item!.chunks[0]!,
        'CW_ERR_NOT_FOUND',
        'a listed digest under a share id the target never made',
      )
      check(
        unknownChunk.title === unknownShare.title && unknownChunk.detail === unknownShare.detail,
        'the same problem for an unknown share and an unknown chunk (CW-FED-005: it does not reveal which exists)',
        `"${unknownShare.detail}" for the share, "${unknownChunk.detail}" for the chunk`,
      )
      // A second share of the harness: its chunks are served through its own URL only.
      const category = received.policy.content.evidenceCategories[0]!
      const other = await shareFromTarget(ctx, { fields: {}, items: [{ size: 1500, category }] }, 'control: a second share with one small item')
      const [otherItem] = requireEvidence(ctx, other)
      const digest = otherItem!.chunks[0]!
      check(
        !received.manifest.evidence.some((one) => one.chunks.includes(digest)),
        'a digest the first share does not list',
        'both list it (random content collided)',
      )
      checkWholeChunk(await pullWhole(ctx, other.share, digest), digest, chunkLength(otherItem!, 0))
      await expectPullRefused(ctx, received.share, digest, 'CW_ERR_NOT_FOUND', `a digest of share ${other.share} through share ${received.share}`)
    },
  },
  {
    id: 'sender.receipt-refusals',
    title: 'A receipt with a bad signature, from another org, to another audience, for an unknown share or for a manifest never sent is refused',
    group: 'sender',
    spec: ['CW-REC-003', 'CW-FED-009', 'CW-SIG-008', 'CW-SIG-010'],
    requires: ['control'],
    async run(ctx) {
      const received = await shareFromTarget(ctx, undefined, 'control: a share to answer with receipts')
      const { main } = ctx.harness
      const aux = ctx.harness.aux[0]!
      // Refused receipts say "rejected": were one recorded, the valid "delivered" one below would conflict.
      const sign = (receipt: DeliveryReceipt, signer: Signer = main.signer) => signReceipt(receipt, signer)
      const rejected = () => receiptFor(ctx, received, 'rejected')

      expectProblem(await postReceipt(ctx, breakSignature(await sign(rejected())), 'receipt with one signature bit flipped'), 'CW_ERR_SIGNATURE_INVALID')
      expectProblem(
        await postReceipt(ctx, await sign({ ...rejected(), iss: aux.org }, aux.signer), `receipt signed by ${aux.org} (pinned trust-only), not the peer`),
        'CW_ERR_PEER_MISMATCH',
      )
      expectProblem(await postReceipt(ctx, await sign({ ...rejected(), aud: aux.org }), `receipt addressed to ${aux.org}`), 'CW_ERR_AUDIENCE_MISMATCH')
      expectProblem(
        await postReceipt(ctx, await sign({ ...rejected(), share: `share-${randomUUID()}` }), 'receipt for a share the target never made'),
        'CW_ERR_NOT_FOUND',
      )
      expectProblem(
        await postReceipt(ctx, await sign({ ...rejected(), manifest: unknownDigest() }), 'receipt naming a manifest digest the target never sent'),
        ['CW_ERR_STALE_REVISION', 'CW_ERR_NOT_FOUND'],
      )
      expectProblem(await postReceipt(ctx, await sign({ ...rejected(), revision: 2 }), 'receipt for revision 2, never sent'), [
        'CW_ERR_STALE_REVISION',
        'CW_ERR_NOT_FOUND',
      ])
      // None of them was recorded: the valid delivered receipt is the first answer of revision 1.
      const answer = expectStatus(await postReceipt(ctx, await sign(receiptFor(ctx, received)), 'the valid delivered receipt after the refused ones'), [200])
      const body = expectShape(jsonOf(answer), assertReceiptAnswer, 'a receipt answer', answer.request)
      check(body.status === 'delivered', 'status delivered (no refused rejected receipt was recorded)', body.status, answer.request)
    },
  },
  {
    id: 'sender.receipt-recorded',
    title: 'A valid receipt is recorded 200, the same again 200, and a receipt of the other status then 409 CW_ERR_CONFLICT',
    group: 'sender',
    spec: ['CW-FED-009', 'CW-REC-003'],
    requires: ['control'],
    async run(ctx) {
      const received = await shareFromTarget(ctx, undefined, 'control: a share to answer with receipts')
      const jws = await signReceipt(receiptFor(ctx, received), ctx.harness.main.signer)
      for (const note of ['the delivered receipt', 'the same delivered receipt again']) {
        const answer = expectStatus(await postReceipt(ctx, jws, note), [200], `(${note})`)
        const body = expectShape(jsonOf(answer), assertReceiptAnswer, 'a receipt answer', answer.request)
        check(
          body.share === received.share && body.revision === received.manifest.share.revision && body.status === 'delivered',
          `{share: ${received.share}, revision: ${received.manifest.share.revision}, status: delivered}`,
          JSON.stringify(body),
          answer.request,
        )
      }
      const other = await signReceipt({ ...receiptFor(ctx, received), jti: `receipt-${randomUUID()}` }, ctx.harness.main.signer)
      expectStatus(await postReceipt(ctx, other, 'another delivered receipt (new jti) for the same revision'), [200], '(same status: changes nothing)')
      expectProblem(
        await postReceipt(ctx, await signReceipt(receiptFor(ctx, received, 'rejected'), ctx.harness.main.signer), 'a rejected receipt after the delivered one'),
        'CW_ERR_CONFLICT',
      )
    },
  },
  {
    id: 'sender.revision',
    title: 'Evidence added to a shared case comes as revision 2 whose previous is the digest of revision 1, within the policy',
    group: 'sender',
    spec: ['CW-MAN-001', 'CW-POL-002'],
    requires: ['control'],
    async run(ctx) {
      const first = await shareFromTarget(ctx, undefined, 'control: a share that gets more evidence')
      const category = first.policy.content.evidenceCategories[0]
      if (category === undefined) ctx.skip("the target's policy for the harness allows no evidence category")
      const sizes = { added: 1777, doNotDisclose: 1888 }
      const answer = await addEvidence(ctx.client, first.share, [
        { size: sizes.added, category },
        { size: sizes.doNotDisclose, category, doNotDisclose: true },
      ])
      check(answer.share === first.share && answer.revision === 2, `EP-8 answering {share: ${first.share}, revision: 2}`, JSON.stringify(answer))
      const second = await waitForRevision(ctx, first.share, 2)
      const { manifest } = second
      check(manifest.share.previous === first.digest, `share.previous ${first.digest} (digest of revision 1)`, `share.previous ${manifest.share.previous}`)
      check(
        manifest.iss === ctx.target.org && manifest.aud === ctx.harness.main.org,
        `from ${ctx.target.org} to ${ctx.harness.main.org}`,
        `from ${manifest.iss} to ${manifest.aud}`,
      )
      const digests = new Set(manifest.evidence.map((item) => item.digest))
      for (const item of first.manifest.evidence)
        check(digests.has(item.digest), `revision 2 still carrying ${item.name} (${item.digest})`, [...digests].join(', '))
      check(
        manifest.evidence.some((item) => item.size === sizes.added),
        `the added item (${sizes.added} bytes) in revision 2`,
        manifest.evidence.map((item) => `${item.name} ${item.size}`).join(', '),
      )
      check(
        !manifest.evidence.some((item) => item.size === sizes.doNotDisclose || item.doNotDisclose !== false),
        'the added do-not-disclose item left out',
        manifest.evidence.map((item) => `${item.name} ${item.size}`).join(', '),
      )
      try {
        enforceManifestPolicy(manifest, second.policy)
      } catch (error) {
        fail('revision 2 within its effective policy', `${(error as { code?: string }).code} at ${(error as { at?: string }).at}`)
      }
    },
  },
  {
    id: 'sender.stale-revision-reoffered-in-order',
    title: 'After the harness refuses revision 2 as stale, the target offers again, in order, revision 1 (never receipted) and then revision 2',
    group: 'sender',
    spec: ['CW-REVN-004'],
    requires: ['control'],
    async run(ctx) {
      const first = await shareFromTarget(ctx, undefined, 'control: a share whose revision 2 the harness refuses as stale')
      const category = first.policy.content.evidenceCategories[0]
      if (category === undefined) ctx.skip("the target's policy for the harness allows no evidence category")
      const { listener } = ctx
      const ofShare = (event: { manifest?: { share: { id: string } } }) => event.manifest?.share.id === first.share
      let refusal: object | undefined
      listener.answerOffer = (event) => {
        if (refusal !== undefined || !ofShare(event) || event.manifest?.share.revision !== 2) return undefined
        refusal = event
        return problemAnswer('CW_ERR_STALE_REVISION', 'the harness holds no revision 1 (test of CW-REVN-004)')
      }
      try {
        await addEvidence(ctx.client, first.share, [{ size: 1555, category }])
        const refused = await listener.waitFor(
          'offer',
          (event) => event === refusal,
          ctx.settings.waitMs,
          `revision 2 of share ${first.share} offered (answered ${PROBLEMS.CW_ERR_STALE_REVISION.status} CW_ERR_STALE_REVISION)`,
        )
        const after = (event: object) => listener.events.indexOf(event as never) > listener.events.indexOf(refused)
        const again = await listener.waitFor(
          'offer',
          (event) => after(event) && ofShare(event),
          ctx.settings.waitMs,
          'the share offered again after the stale refusal',
        )
        check(
          again.manifest?.share.revision === 1 && again.digest === first.digest,
          'revision 1 (the same manifest) offered again first: the harness never answered it with a receipt',
          `revision ${again.manifest?.share.revision} (${again.digest})`,
        )
        const next = await listener.waitFor(
          'offer',
          (event) => after(event) && event !== again && ofShare(event),
          ctx.settings.waitMs,
          'revision 2 offered after revision 1',
        )
        check(
          next.manifest?.share.revision === 2 && next.digest === refused.digest,
          'then revision 2 (the same manifest)',
          `revision ${next.manifest?.share.revision} (${next.digest})`,
        )
      } finally {
        listener.answerOffer = undefined
      }
    },
  },
  {
    id: 'sender.revocation',
    title: "Revoking a share sends the harness a verified revocation, and the share's chunks are then refused 410 CW_ERR_SHARE_REVOKED",
    group: 'sender',
    spec: ['CW-REV-001', 'CW-REV-002', 'CW-REV-004', 'CW-FED-005'],
    requires: ['control'],
    async run(ctx) {
      const received = await shareFromTarget(ctx, undefined, 'control: a share to revoke')
      const [item] = requireEvidence(ctx, received)
      const digest = item!.chunks[0]!
      checkWholeChunk(await pullWhole(ctx, received.share, digest), digest, chunkLength(item!, 0))
      await revokeShare(ctx.client, received.share)
      // Revoked at once (CW-REV-005: marked revoked in the same step that keeps the revocation to send).
      await expectPullRefused(ctx, received.share, digest, 'CW_ERR_SHARE_REVOKED', 'a listed chunk right after EP-7 revoked the share')
      const event = await ctx.listener.waitFor(
        'revocation',
        (one) => (one.revocation?.share ?? unverifiedPayload(one.jws)?.share) === received.share,
        ctx.settings.waitMs,
        `the target's revocation of share ${received.share} on the harness's EP-5`,
      )
      if (event.revocation === undefined)
        fail('a revocation that verifies (§8, type revocation) addressed to the harness', `the harness's verification refused it with ${event.code}`)
      const { revocation } = event
      check(
        revocation.iss === ctx.target.org && revocation.aud === ctx.harness.main.org,
        `a revocation from ${ctx.target.org} to ${ctx.harness.main.org}`,
        `from ${revocation.iss} to ${revocation.aud}`,
      )
      check(
        revocation.revokedAt <= now() + 60 && revocation.revokedAt >= received.manifest.iat - 60,
        'revokedAt between the share and now',
        String(revocation.revokedAt),
      )
      await expectPullRefused(ctx, received.share, digest, 'CW_ERR_SHARE_REVOKED', 'a listed chunk of the revoked share')
      await expectPullRefused(ctx, received.share, item!.chunks.at(-1)!, 'CW_ERR_SHARE_REVOKED', 'another listed chunk of the revoked share')
    },
  },
  {
    id: 'sender.revocation-retried',
    title: 'A revocation the harness answers 503 is sent again until the harness accepts it',
    group: 'sender',
    spec: ['CW-REV-005'],
    requires: ['control'],
    async run(ctx) {
      const received = await shareFromTarget(ctx, undefined, 'control: a share whose revocation the harness first refuses')
      let refused = 0
      ctx.listener.answerRevocation = (event) => {
        if ((event.revocation?.share ?? unverifiedPayload(event.jws)?.share) !== received.share || refused > 0) return undefined
        refused += 1
        return problemAnswer('CW_ERR_UNAVAILABLE', 'conformance harness: briefly unavailable (CW-REV-005 retry test)', { 'retry-after': '1' })
      }
      try {
        await revokeShare(ctx.client, received.share)
        const first = await ctx.listener.waitFor(
          'revocation',
          (event) => (event.revocation?.share ?? unverifiedPayload(event.jws)?.share) === received.share && event.status === 503,
          ctx.settings.waitMs,
          `the target's revocation of share ${received.share} (answered 503)`,
        )
        const second = await waitForRevocation(
          ctx,
          received.share,
          `the target's revocation of share ${received.share} sent again after the harness answered 503`,
        )
        ctx.note(`sent again ${((second.at - first.at) / 1000).toFixed(1)} s after the 503`)
        if (second.revocation === undefined) fail('a retried revocation that verifies', `refused with ${second.code}`)
        if (first.revocation !== undefined) {
          check(
            second.revocation.revokedAt === first.revocation.revokedAt,
            `the same revokedAt (${first.revocation.revokedAt}) in the retried revocation`,
            String(second.revocation.revokedAt),
          )
        }
      } finally {
        ctx.listener.answerRevocation = undefined
      }
    },
  },
  {
    id: 'sender.expired-share',
    title: 'Once a share has expired its chunks are refused 410 CW_ERR_SHARE_EXPIRED',
    group: 'sender',
    spec: ['CW-FED-005'],
    requires: ['control'],
    async run(ctx) {
      const category = (await baselineShare(ctx)).policy.content.evidenceCategories[0]
      if (category === undefined) ctx.skip("the target's policy for the harness allows no evidence category")
      const asked = Date.now()
      const answer = await requestShare(
        ctx.client,
        { fields: {}, items: [{ size: 1024, category }], expiresInSeconds: 3 },
        'control: a share that expires in 3 s',
      )
      const received = { share: answer.share, caseId: answer.case, ...(await waitForRevision(ctx, answer.share, 1)) }
      const [item] = requireEvidence(ctx, received)
      const digest = item!.chunks[0]!
      const expiry = Math.max(received.manifest.exp, received.chain.grants.at(-1)!.exp)
      if (expiry - now() > 60) {
        ctx.skip(`the target made the share last until ${new Date(expiry * 1000).toISOString()} although EP-6 asked for 3 s: too long to wait for`)
      }
      if (Date.now() < expiry * 1000 - 1000) checkWholeChunk(await pullWhole(ctx, received.share, digest), digest, chunkLength(item!, 0))
      else ctx.note('the offer arrived too late to pull a chunk before the share expired')
      await sleep(Math.max(asked + 4000, expiry * 1000 + 1500) - Date.now())
      await expectPullRefused(ctx, received.share, digest, 'CW_ERR_SHARE_EXPIRED', `a listed chunk after the share expired (exp ${expiry})`)
    },
  },
  {
    id: 'sender.revocation-expiry-within-share',
    title: "The revocation of a share that expires in 10 minutes expires no later than the share (the last grant's exp)",
    group: 'sender',
    spec: ['CW-SIG-014', 'CW-REV-001'],
    requires: ['control'],
    async run(ctx) {
      const category = (await baselineShare(ctx)).policy.content.evidenceCategories[0]
      if (category === undefined) ctx.skip("the target's policy for the harness allows no evidence category")
      const answer = await requestShare(
        ctx.client,
        { fields: {}, items: [{ size: 1024, category }], expiresInSeconds: 600 },
        'control: a share that expires in 10 minutes',
      )
      const received = await waitForRevision(ctx, answer.share, 1)
      const expiry = received.chain.grants.at(-1)!.exp
      check(received.manifest.exp <= expiry, `manifest exp no later than the share's expiry ${expiry} (CW-SIG-014)`, `manifest exp ${received.manifest.exp}`)
      await revokeShare(ctx.client, answer.share)
      const event = await waitForRevocation(ctx, answer.share, `the target's revocation of share ${answer.share}`)
      if (event.revocation === undefined) fail('a revocation that verifies (§8, type revocation)', `the harness's verification refused it with ${event.code}`)
      check(
        event.revocation.exp <= expiry,
        `revocation "exp" no later than the share's expiry ${expiry} (the last grant's exp, CW-SIG-014)`,
        `exp ${event.revocation.exp} (${event.revocation.exp - expiry} s later)`,
      )
      ctx.note(`share expiry ${expiry}, revocation exp ${event.revocation.exp}`)
    },
  },
  {
    id: 'sender.onward-refused-when-policy-forbids',
    title:
      'EP-9 on a share whose policy forbids onward sharing (allowed false, or maxDepth 0) is refused 403 CW_ERR_CHAIN_DEPTH_EXCEEDED and nothing is offered',
    group: 'sender',
    spec: ['CW-PROV-004', 'CW-PROV-012', 'CW-CTL-003'],
    requires: ['control'],
    async run(ctx) {
      for (const [what, shareOnward] of [
        ['forbids onward sharing', { allowed: false, maxDepth: 0 }],
        ['allows onward sharing with maxDepth 0', { allowed: true, maxDepth: 0 }],
      ] as const) {
        const { shareId, answer, askedAt } = await onwardOfHarnessShare(ctx, openPolicy({ permissions: { shareOnward } }), what)
        expectProblem(answer, 'CW_ERR_CHAIN_DEPTH_EXCEEDED')
        await sleep(quietMs(ctx))
        const offers = onwardOffersOf(ctx, shareId, askedAt)
        check(
          offers.length === 0,
          `no onward offer of a share whose policy ${what}`,
          `${offers.length} offers (revision ${offers.map((event) => event.manifest?.share.revision).join(', ')})`,
        )
      }
    },
  },
  {
    id: 'sender.onward-refused-to-unlisted-partner',
    title: 'EP-9 on a share whose policy lists onward partners without the harness is refused 403 CW_ERR_PARTNER_NOT_ALLOWED and nothing is offered',
    group: 'sender',
    spec: ['CW-PROV-004', 'CW-PROV-012', 'CW-CTL-003'],
    requires: ['control'],
    async run(ctx) {
      const partners = [`${ctx.harness.main.org.slice(0, 50)}-elsewhere`]
      const { shareId, answer, askedAt } = await onwardOfHarnessShare(
        ctx,
        openPolicy({ permissions: { shareOnward: { allowed: true, maxDepth: 2, partners } } }),
        `allows onward sharing to ${partners[0]} only`,
      )
      expectProblem(answer, 'CW_ERR_PARTNER_NOT_ALLOWED')
      await sleep(quietMs(ctx))
      const offers = onwardOffersOf(ctx, shareId, askedAt)
      check(offers.length === 0, 'no onward offer to a partner the policy does not list', `${offers.length} offers`)
    },
  },
  {
    id: 'sender.unchanged-revision-not-offered',
    title:
      'Evidence the policy leaves out entirely makes no new revision: EP-8 answers the same revision and nothing is offered; the next real change is revision 2',
    group: 'sender',
    spec: ['CW-REVN-008', 'CW-CTL-003', 'CW-MAN-001'],
    requires: ['control'],
    async run(ctx) {
      const first = await shareFromTarget(ctx, undefined, 'control: a share that gets evidence the policy leaves out')
      const category = first.policy.content.evidenceCategories[0]
      if (category === undefined) ctx.skip("the target's policy for the harness allows no evidence category")
      const excluded = ['video', 'audio', 'note', 'cw-conformance-excluded'].find((one) => !first.policy.content.evidenceCategories.includes(one))!
      const askedAt = Date.now()
      const unchanged = await addEvidence(ctx.client, first.share, [
        { size: 1919, category, doNotDisclose: true },
        { size: 1929, category: excluded },
      ])
      check(
        unchanged.share === first.share && unchanged.revision === 1,
        `EP-8 answering {share: ${first.share}, revision: 1} (nothing shared changed)`,
        JSON.stringify(unchanged),
      )
      await sleep(quietMs(ctx))
      const offers = ctx.listener.seen(
        'offer',
        (event) =>
          event.at >= askedAt &&
          (event.manifest?.share.id ?? (unverifiedPayload(event.jws)?.share as { id?: string } | undefined)?.id) === first.share &&
          event.digest !== first.digest,
      )
      check(
        offers.length === 0,
        'no new revision offered when nothing shared changed (CW-REVN-008)',
        `${offers.length} offers: revision ${offers.map((event) => event.manifest?.share.revision).join(', ')}`,
      )
      const added = await addEvidence(ctx.client, first.share, [{ size: 1939, category }])
      check(added.revision === 2, 'EP-8 answering revision 2 for the first real change', JSON.stringify(added))
      const second = await waitForRevision(ctx, first.share, 2)
      check(second.manifest.share.previous === first.digest, `revision 2's previous = ${first.digest} (revision 1)`, String(second.manifest.share.previous))
    },
  },
]
