/**
 * Case packages carried to a partner's users (SPEC.md §22, "Carrying a package to a partner",
 * EP-10..EP-13). Sender role: the target offers the harness a package through EP-13, signed as
 * CW-PKG-011 says, serves it on EP-11 only to the harness — the package the offer names, whole
 * and by ranges — and, revoked through EP-7, sends the revocation on EP-12 and answers its pull
 * `410`. Receiver role: the target verifies the harness's package offers in the order CW-PKG-012
 * fixes, pulls an accepted package, makes it visible only if it verifies against the harness's
 * pinned CA (a tampered package, or one carrying another CA, is refused), and takes revocations.
 *
 * Every test needs the control endpoints: EP-13 names the user of the target that the harness
 * may offer packages to.
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import { certificateFingerprint, FEDERATION_PATHS, type PackageOffer } from '#protocol'
import { packageManifestDigest, verifyPackage } from '#packaging'
import { check, expectProblem, expectStatus, fail } from '../check.ts'
import type { Exchange } from '../exchange.ts'
import {
  buildHarnessPackage,
  offerPackage,
  packageOfferAnswerOf,
  packageOfferOf,
  reofferPackage,
  requestPackage,
  revokePackage,
  type HarnessPackage,
} from '../packages.ts'
import { signRaw } from '../shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'

/** The harness's user a package of the target is for. */
const HARNESS_RECIPIENT = 'cw-records-clerk'

/** EP-13, then the target's offer on the harness's EP-10 (verified by the listener). */
async function offeredByTarget(ctx: TestContext): Promise<{ offer: PackageOffer; localRecipient: string }> {
  const { package: packageId, localRecipient } = await requestPackage(ctx.client, {
    items: [{ size: 3000, category: 'document' }],
    recipient: { kind: 'user', id: HARNESS_RECIPIENT },
  })
  const event = await ctx.listener.waitFor(
    'package-offer',
    (seen) => seen.offer?.package === packageId || seen.code !== undefined,
    ctx.settings.waitMs,
    `the target's offer of package ${packageId} on EP-10`,
  )
  if (event.offer === undefined)
    fail('a package offer that verifies (§8, typ caseway-package-offer+jws, aud = the harness, iss = the target)', `refused by the harness: ${event.code}`)
  return { offer: event.offer, localRecipient }
}

function pullPackage(ctx: TestContext, packageId: string, range?: string, note = 'EP-11: pull the package'): Promise<Exchange> {
  return ctx.client
    .send(FEDERATION_PATHS.package(packageId), { ...(range === undefined ? {} : { headers: { range } }), note })
    .then((answer) => ('status' in answer ? answer : fail('an HTTP answer', `${answer.code} ${answer.message}`, answer.request)))
}

/** A user of the target the harness may offer packages to (EP-13's answer). */
async function targetRecipient(ctx: TestContext): Promise<string> {
  return (await offeredByTarget(ctx)).localRecipient
}

/** Offers `pkg` (served by the listener) and checks the `202`; the signed offer is returned for retries. */
async function offerAccepted(ctx: TestContext, pkg: HarnessPackage, recipient: string): Promise<string> {
  ctx.listener.servePackage(pkg.id, pkg.bytes)
  const jws = await signRaw('package-offer', packageOfferOf(pkg, ctx.target.org, recipient), ctx.harness.main.signer)
  const answer = packageOfferAnswerOf(await reofferPackage(ctx.client, jws, 'EP-10: a valid package offer'), [202])
  check(answer.package === pkg.id && answer.status === 'receiving', `{"package": "${pkg.id}", "status": "receiving"}`, JSON.stringify(answer))
  return jws
}

/** Offers `jws` again until the answer's status is `until` (the pull and the verification take a while). */
async function offerSettles(ctx: TestContext, jws: string, until: 'received' | 'refused'): Promise<void> {
  let last = ''
  for (const deadline = Date.now() + ctx.settings.waitMs; Date.now() < deadline; await sleep(500)) {
    const answer = packageOfferAnswerOf(await reofferPackage(ctx.client, jws), [200])
    last = answer.status
    if (answer.status === until) return
    if (answer.status !== 'receiving') break
  }
  fail(`the re-offer answered 200 with status "${until}" within ${Math.round(ctx.settings.waitMs / 1000)} s`, `status "${last}"`)
}

export const PACKAGE_TESTS: ConformanceTest[] = [
  {
    id: 'sender.package-offer',
    title: 'The target offers a package as a signed package offer and serves exactly that package on EP-11, verifiable against its CA',
    group: 'sender',
    spec: ['CW-PKG-011', 'CW-PKG-013'],
    requires: ['control'],
    async run(ctx) {
      const { offer } = await offeredByTarget(ctx)
      check(offer.cwv === '0.2' && offer.aud === ctx.harness.main.org, 'cwv "0.2", aud = the harness', `cwv ${offer.cwv}, aud ${offer.aud}`)
      check(
        offer.recipients.length === 1 && offer.recipients[0]!.kind === 'user' && offer.recipients[0]!.id === HARNESS_RECIPIENT,
        `recipients [{"kind": "user", "id": "${HARNESS_RECIPIENT}"}]`,
        JSON.stringify(offer.recipients),
      )
      const whole = expectStatus(await pullPackage(ctx, offer.package), [200], '(EP-11, whole package)')
      check(
        (whole.headers['content-type'] ?? '').startsWith('application/octet-stream'),
        'Content-Type application/octet-stream',
        whole.headers['content-type'] ?? 'none',
      )
      check(
        whole.body.length === offer.size && whole.headers['content-length'] === String(offer.size),
        `${offer.size} bytes (the offer's size)`,
        `${whole.body.length} bytes`,
      )
      const dir = await mkdtemp(join(tmpdir(), 'cw-conformance-package-'))
      try {
        const file = join(dir, `package.${offer.format}`)
        await writeFile(file, whole.body)
        const verified = await verifyPackage(file, { caFingerprint: certificateFingerprint(ctx.target.caPem) }).catch((error: Error) =>
          fail("a package that verifies against the target's CA (CW-PKG-007, CW-PKG-008)", error.message),
        )
        check(
          verified.manifest.jti === offer.package && verified.manifest.iss === ctx.target.org,
          `package ${offer.package} from ${ctx.target.org}`,
          `${verified.manifest.jti} from ${verified.manifest.iss}`,
        )
        const digest = await packageManifestDigest(file)
        check(digest === offer.manifest, `the signed package manifest of digest ${offer.manifest}`, String(digest))
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  },
  {
    id: 'sender.package-ranges',
    title: 'EP-11 answers a range 206 with Content-Range and the same bytes, an unsatisfiable range 416, and an unknown package 404',
    group: 'sender',
    spec: ['CW-PKG-013'],
    requires: ['control'],
    async run(ctx) {
      const { offer } = await offeredByTarget(ctx)
      const whole = expectStatus(await pullPackage(ctx, offer.package), [200])
      const part = expectStatus(await pullPackage(ctx, offer.package, 'bytes=10-109', 'EP-11: bytes 10-109'), [206], '(EP-11, a range)')
      check(part.headers['content-range'] === `bytes 10-109/${offer.size}`, `Content-Range bytes 10-109/${offer.size}`, part.headers['content-range'] ?? 'none')
      check(part.body.equals(whole.body.subarray(10, 110)), 'bytes 10-109 of the whole package', 'other bytes')
      const rest = expectStatus(await pullPackage(ctx, offer.package, `bytes=${offer.size - 50}-`, 'EP-11: the last 50 bytes (a resumed pull)'), [206])
      check(rest.body.equals(whole.body.subarray(offer.size - 50)), 'the last 50 bytes', 'other bytes')
      expectProblem(await pullPackage(ctx, offer.package, `bytes=${offer.size}-`, 'EP-11: a range past the end'), 'CW_ERR_RANGE_INVALID')
      expectProblem(await pullPackage(ctx, `cw-no-such-package-${randomUUID()}`, undefined, 'EP-11: a package never offered'), 'CW_ERR_NOT_FOUND')
    },
  },
  {
    id: 'revocation.package-revoked-by-target',
    title: 'A package the target revokes (EP-7) is revoked on the harness’s EP-12 with a revocation naming it, and its pull then answers 410',
    group: 'revocation',
    spec: ['CW-PKG-015', 'CW-PKG-013'],
    requires: ['control'],
    async run(ctx) {
      const { offer } = await offeredByTarget(ctx)
      expectStatus(
        await ctx.client.send(FEDERATION_PATHS.controlRevoke(offer.package), {
          method: 'POST',
          body: '{}',
          contentType: 'application/json',
          note: 'control: revoke the package',
        }),
        [200],
        '(control endpoint EP-7 with a package id)',
      )
      const event = await ctx.listener.waitFor(
        'package-revocation',
        (seen) => seen.revocation?.share === offer.package,
        ctx.settings.waitMs,
        `the revocation of package ${offer.package} on EP-12`,
      )
      check(event.status === 200, 'a revocation the harness accepts', `refused ${event.code ?? event.status}`)
      expectProblem(await pullPackage(ctx, offer.package, undefined, 'EP-11: a revoked package'), 'CW_ERR_SHARE_REVOKED')
    },
  },
  {
    id: 'receiver.package-accepted',
    title: 'A valid package offer is answered 202, the package pulled on EP-11, and the offer then answers 200 "received"',
    group: 'receiver',
    spec: ['CW-PKG-012', 'CW-PKG-014'],
    requires: ['control'],
    async run(ctx) {
      const recipient = await targetRecipient(ctx)
      const pkg = await buildHarnessPackage(ctx.harness.main)
      const jws = await offerAccepted(ctx, pkg, recipient)
      await ctx.listener.waitFor(
        'package-pull',
        (seen) => seen.packageId === pkg.id && seen.status < 300,
        ctx.settings.waitMs,
        `a pull of package ${pkg.id} on the harness's EP-11`,
      )
      await offerSettles(ctx, jws, 'received')
    },
  },
  {
    id: 'receiver.package-refusals',
    title:
      'Package offers are refused in the order CW-PKG-012 fixes: typ, audience, expiry, issuer ≠ peer, replay, another offer of a package, unknown recipient',
    group: 'receiver',
    spec: ['CW-PKG-012'],
    requires: ['control'],
    async run(ctx) {
      const recipient = await targetRecipient(ctx)
      const main = ctx.harness.main
      const pkg = await buildHarnessPackage(main)
      ctx.listener.servePackage(pkg.id, pkg.bytes)
      const valid = (overrides: Partial<PackageOffer> = {}) => packageOfferOf(pkg, ctx.target.org, recipient, overrides)
      const now = Math.floor(Date.now() / 1000)
      expectProblem(
        await offerPackage(ctx.client, valid(), { signer: main.signer, type: 'package', note: 'EP-10: typ caseway-package+jws' }),
        'CW_ERR_TYP_INVALID',
      )
      expectProblem(
        await offerPackage(ctx.client, valid({ aud: main.org }), { signer: main.signer, note: 'EP-10: aud is not the target' }),
        'CW_ERR_AUDIENCE_MISMATCH',
      )
      expectProblem(
        await offerPackage(ctx.client, valid({ iat: now - 7200, exp: now - 3600 }), { signer: main.signer, note: 'EP-10: expired' }),
        'CW_ERR_EXPIRED',
      )
      const other = ctx.harness.aux[0]!
      expectProblem(
        await offerPackage(ctx.client, valid({ iss: other.org }), {
          signer: other.signer,
          note: "EP-10: signed by another trusted org over the harness's connection",
        }),
        'CW_ERR_PEER_MISMATCH',
      )
      const unknown = expectProblem(
        await offerPackage(ctx.client, valid({ recipients: [{ kind: 'user', id: `cw-nobody-${randomUUID().slice(0, 8)}` }] }), {
          signer: main.signer,
          note: 'EP-10: a recipient the target does not have',
        }),
        'CW_ERR_CONFLICT',
      )
      check(unknown.at === '/recipients/0', 'at "/recipients/0"', String(unknown.at))
      const accepted = valid()
      packageOfferAnswerOf(await offerPackage(ctx.client, accepted, { signer: main.signer, note: 'EP-10: a valid offer' }), [202])
      const second = await buildHarnessPackage(main)
      expectProblem(
        await offerPackage(ctx.client, packageOfferOf(second, ctx.target.org, recipient, { jti: accepted.jti }), {
          signer: main.signer,
          note: 'EP-10: another offer reusing the jti',
        }),
        'CW_ERR_REPLAY',
      )
      expectProblem(
        await offerPackage(ctx.client, valid({ message: 'changed' }), { signer: main.signer, note: 'EP-10: another offer of the same package' }),
        'CW_ERR_CONFLICT',
      )
    },
  },
  {
    id: 'receiver.package-tampered',
    title: 'A package whose bytes were changed after signing, or that carries another CA than the sender’s, is refused after its pull and never received',
    group: 'receiver',
    spec: ['CW-PKG-014'],
    requires: ['control'],
    async run(ctx) {
      const recipient = await targetRecipient(ctx)
      const tampered = await offerAccepted(ctx, await buildHarnessPackage(ctx.harness.main, { tamper: true }), recipient)
      await offerSettles(ctx, tampered, 'refused')
      // Signed with a valid certificate of another org, whose CA it carries: not the CA pinned for the harness.
      const foreign = await buildHarnessPackage(ctx.harness.aux[0]!)
      ctx.listener.servePackage(foreign.id, foreign.bytes)
      const jws = await signRaw('package-offer', { ...packageOfferOf(foreign, ctx.target.org, recipient), iss: ctx.harness.main.org }, ctx.harness.main.signer)
      packageOfferAnswerOf(await reofferPackage(ctx.client, jws, "EP-10: a package signed under another org's CA"), [202])
      await offerSettles(ctx, jws, 'refused')
    },
  },
  {
    id: 'revocation.package-revoked-by-harness',
    title: 'A package revocation on EP-12 is answered 200 {"share", "status": "revoked"}; the package, and one revoked before its offer, are then refused 410',
    group: 'revocation',
    spec: ['CW-PKG-015'],
    requires: ['control'],
    async run(ctx) {
      const recipient = await targetRecipient(ctx)
      const pkg = await buildHarnessPackage(ctx.harness.main)
      const jws = await offerAccepted(ctx, pkg, recipient)
      const answer = expectStatus(await revokePackage(ctx.client, ctx.harness.main, ctx.target.org, pkg.id), [200], '(EP-12)')
      check(answer.text.includes(`"${pkg.id}"`) && answer.text.includes('"revoked"'), `{"share": "${pkg.id}", "status": "revoked"}`, answer.text)
      expectProblem(await reofferPackage(ctx.client, jws, 'EP-10: the offer of a revoked package again'), 'CW_ERR_SHARE_REVOKED')
      const early = await buildHarnessPackage(ctx.harness.main)
      expectStatus(await revokePackage(ctx.client, ctx.harness.main, ctx.target.org, early.id), [200], '(EP-12, a package never offered)')
      ctx.listener.servePackage(early.id, early.bytes)
      expectProblem(
        await offerPackage(ctx.client, packageOfferOf(early, ctx.target.org, recipient), {
          signer: ctx.harness.main.signer,
          note: 'EP-10: a package revoked before its offer',
        }),
        'CW_ERR_SHARE_REVOKED',
      )
    },
  },
]
