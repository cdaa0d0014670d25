/**
 * Receiver role (SPEC.md §12, §16): the harness offers valid shares to the target and watches
 * it accept them (CW-FED-003), pull exactly the chunks it needs, verify them (CW-FED-007),
 * retry what failed, and return a signed receipt (CW-FED-008, CW-REC-001, CW-REC-002). It also
 * checks that the target verifies the harness's server certificate when it pulls (CW-TLS-004).
 *
 * The refusals of invalid manifests are in `refusals.ts`; revisions, chains and revocations
 * have their own groups.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { randomBytes, randomUUID } from 'node:crypto'
import { digestBytes, digestJson, FEDERATION_PATHS } from '#protocol'
import { issueNodeCertificate, privateKeyToPem } from '#certs'
import { check, expectStatus, fail } from '../check.ts'
import {
  chunksOf,
  deliver,
  expectAllPulledBefore,
  expectOfferAnswer,
  expectOnlyListedPulls,
  expectReceipt,
  goodPulls,
  offerAccepted,
  quietMs,
} from '../receiving.ts'
import { TEST_CHUNK_SIZE } from '../shares.ts'
import type { ConformanceTest } from '../suite.ts'
import { wrongSigners } from '../wrong_signers.ts'
import { unverifiedHeader } from '../raw_jws.ts'

export const RECEIVER_TESTS: ConformanceTest[] = [
  {
    id: 'receiver.valid-share-delivered',
    title: 'A valid share is accepted with the chunks needed, pulled completely, and answered by a signed delivered receipt',
    group: 'receiver',
    spec: ['CW-FED-003', 'CW-FED-008', 'CW-REC-001', 'CW-REC-002'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3 * TEST_CHUNK_SIZE + 1000 }, { size: 2048, category: 'photo' }] })
      // A third item with the same content as the second: its chunks are needed once (CW-FED-003).
      const copy = share.items[1]!
      share.items.push({ item: { ...structuredClone(copy.item), id: `ev-${randomUUID()}`, name: 'item-2-copy.bin' }, bytes: copy.bytes })
      const delivered = await deliver(ctx, share)
      check(
        delivered.answer.status === 'receiving',
        '"status": "receiving" while chunks are needed (CW-FED-003)',
        JSON.stringify(delivered.answer),
        delivered.exchange.request,
      )
      expectAllPulledBefore(ctx, share, delivered.manifest, delivered.receiptAt)
      expectOnlyListedPulls(ctx, share, [delivered.manifest])
      ctx.note(`${chunksOf(delivered.manifest).length} chunks needed; ${goodPulls(ctx, share.id).length} successful pulls before the receipt`)
    },
  },
  {
    id: 'receiver.identical-offer-is-a-retry',
    title: 'Offering again the identical manifest of a delivered share is answered 200 "complete" and nothing is pulled again',
    group: 'receiver',
    spec: ['CW-FED-004'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: TEST_CHUNK_SIZE + 10 }] })
      const delivered = await deliver(ctx, share)
      await sleep(500)
      const pullsBefore = ctx.listener.seen('pull', (event) => event.shareId === share.id).length
      const again = expectStatus(await ctx.offer(delivered.jws, 'the identical manifest again'), [200], '(identical re-offer, CW-FED-004)')
      const answer = expectOfferAnswer(again, delivered.manifest)
      check(
        answer.status === 'complete' && answer.needed.length === 0,
        '"status": "complete" with nothing needed (the revision is held completely)',
        again.text,
        again.request,
      )
      await sleep(quietMs(ctx))
      const pullsAfter = ctx.listener.seen('pull', (event) => event.shareId === share.id).length
      check(pullsAfter === pullsBefore, 'no chunk pulled again after the identical offer (nothing changes)', `${pullsAfter - pullsBefore} more pulls`)
    },
  },
  {
    id: 'receiver.identical-offers-at-once',
    title: 'The same manifest offered twice at once is accepted once (202) and answered as a retry (200), never refused',
    group: 'receiver',
    spec: ['CW-FED-004'],
    async run(ctx) {
      // A manifest of over a megabyte, which takes a while to verify: the second offer arrives
      // meanwhile, before the first is stored, and is a retry found only as it is stored.
      const share = ctx.newShare({ items: [{ size: 32 }] })
      // Copies of one item: 3,000 items, one chunk to pull.
      const original = share.items[0]!
      for (let copy = 1; copy < 3000; copy++) {
        share.items.push({ item: { ...structuredClone(original.item), id: `ev-${randomUUID()}`, name: `copy-${copy}.bin` }, bytes: original.bytes })
      }
      const manifest = await share.manifest()
      const jws = await share.sign(manifest)
      // Two connections open first, so that neither offer waits for a handshake.
      await Promise.all([ctx.client.send(FEDERATION_PATHS.healthz), ctx.client.send(FEDERATION_PATHS.healthz)])
      const offers = await Promise.all([ctx.offer(jws, 'the manifest'), ctx.offer(jws, 'the identical manifest, at the same time')])
      const answers = offers.map((offer) => expectStatus(offer, [200, 202], '(an identical offer is accepted or a retry, CW-FED-004)'))
      const statuses = answers.map((answer) => answer.status).sort()
      check(
        statuses[0] === 200 && statuses[1] === 202,
        'one 202 (accepted) and one 200 (the identical offer is a retry, CW-FED-004)',
        answers.map((answer) => `${answer.status} ${answer.text}`).join('\n'),
        answers[0]!.request,
      )
      for (const answer of answers) expectOfferAnswer(answer, manifest)
      share.offered(manifest)
      // Received once, and receipted.
      await expectReceipt(ctx, { manifest, digest: digestJson(manifest) }, 'delivered')
    },
  },
  {
    id: 'receiver.corrupt-chunk-refetched',
    title: 'A chunk served with wrong bytes is discarded and fetched again; the receipt is still delivered',
    group: 'receiver',
    spec: ['CW-FED-007', 'CW-REC-002'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 2 * TEST_CHUNK_SIZE + 500 }] })
      const target = share.items[0]!.item.chunks[1]!
      ctx.listener.serve({ id: share.id, chunks: share.chunks(), corruptOnce: new Set([target]) })
      const delivered = await deliver(ctx, share)
      const pulls = ctx.listener.seen('pull', (event) => event.shareId === share.id && event.digest === target)
      const corrupted = pulls.find((event) => event.corrupted)
      if (corrupted === undefined) fail('the corrupted chunk pulled (once with wrong bytes)', `${pulls.length} pulls of it, none corrupted`)
      check(
        pulls.some(
          (event) => !event.corrupted && (event.status === 200 || event.status === 206) && event.at >= corrupted.at && event.at <= delivered.receiptAt,
        ),
        'the chunk fetched again after the wrong bytes, before the receipt (CW-FED-007)',
        `pulls: ${JSON.stringify(pulls.map(({ status, corrupted: bad, range }) => ({ status, corrupted: bad, range })))}`,
      )
      expectAllPulledBefore(ctx, share, delivered.manifest, delivered.receiptAt)
    },
  },
  {
    id: 'receiver.throttled-chunk-retried',
    title: 'A chunk answered 429 with Retry-After is retried and the transfer completes',
    group: 'receiver',
    spec: ['CW-FED-012'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: TEST_CHUNK_SIZE + 700 }] })
      const target = share.items[0]!.item.chunks[0]!
      ctx.listener.serve({ id: share.id, chunks: share.chunks(), throttleOnce: new Set([target]) })
      const delivered = await deliver(ctx, share)
      const pulls = ctx.listener.seen('pull', (event) => event.shareId === share.id && event.digest === target)
      const throttled = pulls.find((event) => event.status === 429)
      if (throttled === undefined) fail('the chunk pulled and answered 429 once', `${pulls.length} pulls of it, none answered 429`)
      const retry = pulls.find((event) => event.at >= throttled.at && (event.status === 200 || event.status === 206))
      if (retry === undefined) fail('the chunk retried after the 429 (CW-FED-012: temporary)', 'no successful pull after it')
      expectAllPulledBefore(ctx, share, delivered.manifest, delivered.receiptAt)
      const waited = retry.at - throttled.at
      ctx.note(`retried ${waited} ms after the 429 (Retry-After: 1)${waited < 1000 ? ' — sooner than Retry-After (a SHOULD of CW-FED-012)' : ''}`)
    },
  },
  {
    id: 'receiver.whole-file-digest-mismatch-rejected',
    title: 'An item whose chunks match but whose bytes do not match its whole-file digest is answered by a rejected receipt naming a problem',
    group: 'receiver',
    spec: ['CW-FED-008', 'CW-REC-001', 'CW-FED-004'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: TEST_CHUNK_SIZE + 300 }, { size: 1500 }] })
      // Every chunk digest is right; the item digest (and so the grant's evidence) is not.
      share.items[0]!.item.digest = digestBytes(randomBytes(32))
      const offered = await offerAccepted(ctx, share, undefined, { note: 'manifest whose first item digest does not match its bytes (chunk digests do)' })
      const { receipt } = await expectReceipt(ctx, offered, 'rejected')
      ctx.note(`rejected with ${receipt.problem?.code}`)
      const again = expectStatus(await ctx.offer(offered.jws, 'the rejected manifest again'), [200], '(identical re-offer of a rejected revision, CW-FED-004)')
      const answer = expectOfferAnswer(again, offered.manifest)
      check(answer.status === 'complete', '"status": "complete" for a rejected revision (CW-FED-004: nothing more will be fetched)', again.text, again.request)
    },
  },
  {
    id: 'receiver.empty-and-multi-chunk-items',
    title: 'An empty item (no chunks), an item of exactly one chunk and one with a short last chunk are all received',
    group: 'receiver',
    spec: ['CW-FMT-003', 'CW-FED-003', 'CW-REC-002'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 0 }, { size: TEST_CHUNK_SIZE }, { size: 2 * TEST_CHUNK_SIZE + 1 }] })
      check(share.items[0]!.item.chunks.length === 0 && share.items[2]!.item.chunks.length === 3, 'harness: 0 and 3 chunks', 'other counts')
      const delivered = await deliver(ctx, share)
      expectAllPulledBefore(ctx, share, delivered.manifest, delivered.receiptAt)
      expectOnlyListedPulls(ctx, share, [delivered.manifest])
    },
  },
  {
    id: 'receiver.server-certificate-checked',
    title: "The target pulls nothing from a listener whose certificate names another organization, and completes once the harness's certificate is back",
    group: 'receiver',
    spec: ['CW-TLS-004'],
    async run(ctx) {
      const { main } = ctx.harness
      const aux = ctx.harness.aux[0]!
      const host = new URL(ctx.harness.file.endpoint).hostname.replace(/^\[|\]$/g, '')
      // Issued by the CA the target pinned for the harness, but naming another organization.
      const wrong = await issueNodeCertificate(main.ca, { org: aux.org, name: aux.name, hosts: [host] })
      const share = ctx.newShare({ items: [{ size: 4096 }] })
      // Connections the target opened before keep the old certificate: let them go idle and close
      // (the listener closes idle keep-alive connections after 5 s).
      const last = Math.max(0, ...ctx.listener.events.map((event) => event.at))
      await sleep(Math.max(0, last + 6_000 - Date.now()))
      const tlsErrorsBefore = ctx.listener.seen('tls-error').length
      ctx.listener.useCertificate(`${wrong.certificate.toString('pem')}\n${main.caPem}`, await privateKeyToPem(wrong.privateKey))
      let offered: Awaited<ReturnType<typeof offerAccepted>>
      try {
        offered = await offerAccepted(ctx, share, undefined, { note: `valid manifest; the harness listener presents a certificate naming ${aux.org}` })
        await sleep(Math.max(quietMs(ctx), 4_000))
        const pulled = goodPulls(ctx, share.id)
        check(
          pulled.length === 0,
          `no chunk pulled from a server whose certificate names ${aux.org}, not ${main.org} (CW-TLS-004)`,
          `${pulled.length} chunks pulled`,
        )
        const receipts = ctx.listener.seen('receipt', (event) => event.receipt?.share === share.id)
        check(receipts.length === 0, 'no receipt sent to that server', `${receipts.length} receipts`)
      } finally {
        ctx.listener.restoreCertificate()
      }
      ctx.note(`${ctx.listener.seen('tls-error').length - tlsErrorsBefore} failed TLS handshakes while the wrong certificate was in place`)
      const { event } = await expectReceipt(ctx, offered, 'delivered')
      expectAllPulledBefore(ctx, share, offered.manifest, event.at)
    },
  },
  {
    id: 'receiver.eddsa-share-delivered',
    title: 'A share whose manifest and grant are signed with EdDSA (Ed25519) is accepted and delivered like an ES256 one',
    group: 'receiver',
    spec: ['CW-SIG-002', 'CW-SIG-015', 'CW-FED-003', 'CW-FED-008'],
    async run(ctx) {
      const { eddsa } = await wrongSigners(ctx.harness)
      const share = ctx.newShare({ items: [{ size: TEST_CHUNK_SIZE + 333 }] })
      const manifest = await share.manifest()
      manifest.grants = await share.signGrants(share.grants, [eddsa])
      const jws = await share.sign(manifest, eddsa)
      check(unverifiedHeader(jws)?.alg === 'EdDSA', 'harness: an EdDSA manifest', JSON.stringify(unverifiedHeader(jws)))
      const exchange = expectStatus(
        await ctx.offer(jws, 'a valid manifest and grant signed with EdDSA by an Ed25519 signing certificate of the harness'),
        [202],
        '(EdDSA accepted like ES256, CW-SIG-015)',
      )
      const answer = expectOfferAnswer(exchange, manifest)
      share.offered(manifest)
      ctx.note(`${answer.needed.length} chunks needed`)
      const { event } = await expectReceipt(ctx, { manifest, digest: digestJson(manifest) }, 'delivered')
      expectAllPulledBefore(ctx, share, manifest, event.at)
    },
  },
  {
    id: 'receiver.receipt-expiry-within-share',
    title: "The receipt for a share that expires in 15 minutes expires no later than the share (the last grant's exp)",
    group: 'receiver',
    spec: ['CW-SIG-014', 'CW-REC-001'],
    async run(ctx) {
      const share = ctx.newShare({ items: [{ size: 3000 }], lifetimeSeconds: 900 })
      const delivered = await deliver(ctx, share)
      // expectReceipt checked exp ≤ the share's expiry; say by how much.
      ctx.note(`receipt exp ${delivered.receipt.exp}, share expiry ${delivered.manifest.exp} (${delivered.manifest.exp - delivered.receipt.exp} s before)`)
    },
  },
]
