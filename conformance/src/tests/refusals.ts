/**
 * Refusals (SPEC.md §7, §8, §9, §11, §14, §16 EP-1): every invalid manifest the harness offers
 * is refused with the problem code SPEC.md requires, and leaves no trace (CW-FED-001,
 * CW-FED-004): after the refusal the valid manifest with the same share id and `jti` is a
 * fresh acceptance (`202`).
 *
 * One test per negative manifest vector of `protocol/vectors/`: the vectors are signed for
 * other organizations at a fixed time, so each is re-created here as a *recipe* — the same
 * single fault applied to a valid manifest from the harness to the target. The test takes its
 * requirement IDs and its expected code from the vector file, so the library's unit tests and
 * the conformance tests share them (a vector without a recipe fails
 * `conformance/test/refusals.test.ts`). A few grant-chain vectors are re-created inside
 * manifests the same way. Then refusals the vectors cannot show: they need the receiver's
 * state or the connection (issuer ≠ peer, replayed `jti`, media type), the order of checks,
 * the problem document, and hostile serializations.
 *
 * @module
 */
import { createPublicKey, randomBytes } from 'node:crypto'
import {
  assertOfferAnswer,
  assertProblemDocument,
  canonicalJson,
  digestBytes,
  digestJson,
  FEDERATION_PATHS,
  originGrant,
  TYP,
  type CaseManifest,
  type Grant,
  type ProblemCode,
  type Signer,
} from '#protocol'
import { check, expectProblem, expectShape, expectStatus, jsonOf } from '../check.ts'
import type { Exchange, TransportFailure } from '../exchange.ts'
import { b64u, corruptSignature, craft, eddsa, es256, hs256, manifestHeader, replacePayload, rs256, segments, x5cOf } from '../forge.ts'
import { DAY, signRaw, TEST_CHUNK_SIZE, type HarnessShare, type ItemSpec, type NewShareOptions } from '../shares.ts'
import type { ConformanceTest, TestContext } from '../suite.ts'
import { sendOversized } from '../oversized.ts'
import { loadVectors, type ProtocolVector } from '../vectors.ts'
import { wrongSigners, type WrongSigners } from '../wrong_signers.ts'

// ---------------------------------------------------------------------------------------------
// What a recipe works with

/** A body too large to build as one string: sent in pieces. */
export interface StreamedBody {
  bytes: number
  /** The first bytes; the rest of the body is `A`s. */
  prefix: Buffer
  stream(): AsyncIterable<Uint8Array>
}

/** What a recipe makes: a JWS (or any text) sent as `application/jose`, or a streamed body. */
export type BrokenOffer = string | StreamedBody

/** Handed to a recipe: the share, its valid manifest, and ways to derive a broken one. */
export interface RefusalKit {
  ctx: TestContext
  share: HarnessShare
  /** The valid manifest; recipes derive from {@link clone}, never change it. */
  valid: CaseManifest
  /** Seconds since the epoch. */
  now: number
  /** A deep copy of the valid manifest (same share id and `jti`). */
  clone(): CaseManifest
  /** Signs a manifest payload as the harness (or as `signer`), without checks. */
  sign(manifest: CaseManifest, signer?: Signer): Promise<string>
  /** Deep copies (no shared objects) of the valid manifest's grant payloads, originator first. */
  grantPayloads(): Grant[]
  /** Signs grant payloads, each with its hop's signer unless `signers` says otherwise. */
  signGrants(grants: readonly Grant[], signers?: readonly Signer[]): Promise<string[]>
  /** A clone of the valid manifest whose grants are edited by `edit` and signed again. */
  withGrants(edit: (grants: Grant[]) => void, signers?: readonly Signer[]): Promise<CaseManifest>
  /** The hop signers of the share, originator first (the harness last). */
  hopSigners(): Signer[]
  wrong(): Promise<WrongSigners>
}

/** How one vector's fault is re-created on a manifest from the harness to the target. */
export interface Recipe {
  /** The broken manifest, as a noun phrase ("a manifest signed with alg none"). */
  note: string
  /** The share to start from (default: two small items, a direct share). */
  share?: NewShareOptions
  /** Changes the valid manifest before anything is derived from it (it stays valid). */
  prepare?: (manifest: CaseManifest) => void
  broken(kit: RefusalKit): Promise<BrokenOffer>
}

/** Small items (one chunk each): a refusal test never needs more. */
export const SMALL_ITEMS: readonly ItemSpec[] = [
  { size: 1500, category: 'document' },
  { size: 1024, category: 'photo' },
]

/** SPEC CW-FMT-005: a manifest limit is at most 64 MiB, so this is over every target's limit. */
export const OVERSIZED_BYTES = 64 * 1024 * 1024 + 1

/** Recomputes every `parent` from the (edited) previous grant, so only the intended rule breaks. */
export function relink(grants: Grant[]): Grant[] {
  for (let index = 1; index < grants.length; index++) grants[index]!.parent = digestJson(grants[index - 1])
  return grants
}

const last = <T>(list: T[]): T => list[list.length - 1]!
const record = (value: unknown) => value as Record<string, unknown>

/** `header.AAAA….signature`, `bytes` long, streamed 1 MiB at a time (never built as a string). */
function oversized(header: string, bytes: number): StreamedBody {
  return {
    bytes,
    prefix: Buffer.from(`${header}.`),
    async *stream() {
      const prefix = Buffer.from(`${header}.`)
      const suffix = Buffer.from(`.${'A'.repeat(86)}`)
      const block = Buffer.alloc(1024 * 1024, 'A')
      yield prefix
      let left = bytes - prefix.length - suffix.length
      while (left > 0) {
        const size = Math.min(left, block.length)
        yield size === block.length ? block : block.subarray(0, size)
        left -= size
      }
      yield suffix
    },
  }
}

/** An item of the same size with other content: a new digest and chunk list. */
function alteredItem(manifest: CaseManifest, index: number): void {
  const item = manifest.evidence[index]!
  const content = randomBytes(item.size)
  item.digest = digestBytes(content)
  item.chunks = []
  for (let offset = 0; offset < content.length; offset += item.chunkSize) item.chunks.push(digestBytes(content.subarray(offset, offset + item.chunkSize)))
}

// ---------------------------------------------------------------------------------------------
// Recipes, by vector id

const ONWARD_2: NewShareOptions = { hops: 2, items: SMALL_ITEMS }
const WITH_VIDEO: readonly ItemSpec[] = [
  { size: 1500, category: 'document' },
  { size: 1024, category: 'video' },
]
const WITH_ATTACHMENT: readonly ItemSpec[] = [
  { size: 1500, category: 'photo' },
  { size: 300, category: 'document', attachmentOf: 0 },
]

/** Every negative manifest vector → how the harness re-creates it. */
export const MANIFEST_RECIPES: Readonly<Record<string, Recipe>> = {
  // --- sig
  'cw::sig::alg-none': {
    note: 'a manifest with alg "none" and an empty signature',
    async broken(k) {
      return craft({ ...manifestHeader(k.ctx.harness.main.signer), alg: 'none' }, k.valid)
    },
  },
  'cw::sig::alg-hs256-public-key': {
    note: "a manifest with alg HS256 keyed with the harness's signing public key (DER SPKI)",
    async broken(k) {
      const { main } = k.ctx.harness
      return craft({ ...manifestHeader(main.signer), alg: 'HS256' }, k.valid, hs256(Buffer.from(main.signing.certificate.publicKey.rawData)))
    },
  },
  'cw::sig::alg-rs256': {
    note: 'a manifest signed RS256 with an RSA key (x5c: the P-256 signing certificate)',
    async broken(k) {
      return craft({ ...manifestHeader(k.ctx.harness.main.signer), alg: 'RS256' }, k.valid, rs256((await k.wrong()).rsa))
    },
  },
  'cw::sig::alg-es256-ed25519-key': {
    note: 'a manifest with alg ES256 signed with EdDSA by an Ed25519 signing certificate',
    async broken(k) {
      const { ed25519 } = await k.wrong()
      return craft({ alg: 'ES256', typ: TYP.manifest, x5c: x5cOf(ed25519) }, k.valid, eddsa(ed25519.privateKey))
    },
  },
  'cw::sig::crit-unknown': {
    note: 'a correctly signed manifest with crit ["exp"]',
    async broken(k) {
      const { signer } = k.ctx.harness.main
      return craft({ ...manifestHeader(signer), crit: ['exp'], exp: k.now + DAY }, k.valid, es256(signer.privateKey))
    },
  },
  'cw::sig::b64-false': {
    note: 'a correctly signed manifest with b64 false, crit ["b64"]',
    async broken(k) {
      const { signer } = k.ctx.harness.main
      return craft({ ...manifestHeader(signer), b64: false, crit: ['b64'] }, k.valid, es256(signer.privateKey))
    },
  },
  'cw::sig::jwk-header': {
    note: 'a correctly signed manifest with a jwk header carrying the signing key',
    async broken(k) {
      const { main } = k.ctx.harness
      const jwk = createPublicKey({ key: Buffer.from(main.signing.certificate.publicKey.rawData), format: 'der', type: 'spki' }).export({ format: 'jwk' })
      return craft({ ...manifestHeader(main.signer), jwk }, k.valid, es256(main.signer.privateKey))
    },
  },
  'cw::sig::x5c-missing': {
    note: 'a correctly signed manifest without x5c',
    async broken(k) {
      const { signer } = k.ctx.harness.main
      return craft({ alg: 'ES256', typ: TYP.manifest }, k.valid, es256(signer.privateKey))
    },
  },
  'cw::sig::x5c-other-key': {
    note: 'a manifest whose x5c is another valid signing certificate of the harness, signed with the usual key',
    async broken(k) {
      return craft({ alg: 'ES256', typ: TYP.manifest, x5c: x5cOf((await k.wrong()).second) }, k.valid, es256(k.ctx.harness.main.signer.privateKey))
    },
  },
  'cw::sig::typ-receipt-as-manifest': {
    note: 'the manifest payload correctly signed with typ caseway-receipt+jws',
    async broken(k) {
      return signRaw('receipt', k.valid, k.ctx.harness.main.signer)
    },
  },
  'cw::sig::typ-missing': {
    note: 'a correctly signed manifest without typ',
    async broken(k) {
      const { signer } = k.ctx.harness.main
      return craft({ alg: 'ES256', x5c: x5cOf(...signer.chain) }, k.valid, es256(signer.privateKey))
    },
  },
  'cw::sig::header-unknown-parameter': {
    note: 'a correctly signed manifest with a kid header next to alg, typ and x5c',
    async broken(k) {
      const { signer } = k.ctx.harness.main
      return craft({ ...manifestHeader(signer), kid: 'signing-2026' }, k.valid, es256(signer.privateKey))
    },
  },
  'cw::sig::payload-tampered': {
    note: 'a signed manifest whose title was changed after signing (header and signature kept)',
    async broken(k) {
      const tampered = k.clone()
      tampered.case.fields['title'] = 'Nothing happened'
      return replacePayload(await k.sign(k.valid), tampered)
    },
  },
  'cw::sig::not-compact': {
    note: 'the signed manifest in flattened JSON serialization',
    async broken(k) {
      const [header, payload, signature] = segments(await k.sign(k.valid))
      return JSON.stringify({ protected: header, payload, signature })
    },
  },
  'cw::sig::payload-not-object': {
    note: 'a correctly signed JSON array (holding the manifest) as payload',
    async broken(k) {
      const { signer } = k.ctx.harness.main
      return craft(manifestHeader(signer), [k.valid], es256(signer.privateKey))
    },
  },
  'cw::sig::oversized': {
    note: `a manifest body of 64 MiB + 1 byte (over every allowed limit), sent chunked`,
    async broken(k) {
      return oversized(b64u(JSON.stringify(manifestHeader(k.ctx.harness.main.signer))), OVERSIZED_BYTES)
    },
  },

  // --- cert
  'cw::cert::untrusted-ca': {
    note: "a manifest signed by a certificate naming the harness's org from a CA the target never pinned (x5c includes that CA)",
    async broken(k) {
      return k.sign(k.valid, (await k.wrong()).unpinned)
    },
  },
  'cw::cert::signing-cert-expired': {
    note: 'a manifest signed by a signing certificate of the pinned CA that expired yesterday',
    async broken(k) {
      return k.sign(k.valid, (await k.wrong()).expired)
    },
  },
  'cw::cert::signing-cert-not-yet-valid': {
    note: 'a manifest signed by a signing certificate of the pinned CA valid only from tomorrow',
    async broken(k) {
      return k.sign(k.valid, (await k.wrong()).notYetValid)
    },
  },
  'cw::cert::tls-cert-signs': {
    note: "a manifest signed with a TLS certificate (serverAuth, clientAuth) of the harness's pinned CA",
    async broken(k) {
      return k.sign(k.valid, (await k.wrong()).tls)
    },
  },
  'cw::cert::ca-cert-signs': {
    note: "a manifest signed with the harness's pinned CA key, x5c = the CA certificate",
    async broken(k) {
      return k.sign(k.valid, (await k.wrong()).ca)
    },
  },

  // --- claims
  'cw::claims::iss-not-signer-org': {
    note: "a manifest with iss = the harness (the peer) signed by another org's valid signing certificate",
    async broken(k) {
      return k.sign(k.valid, k.ctx.harness.aux[0]!.signer)
    },
  },
  'cw::claims::wrong-audience': {
    note: 'a manifest (and its grant) addressed to another organization',
    async broken(k) {
      const other = k.ctx.harness.aux[2]!.org
      const manifest = await k.withGrants((grants) => {
        last(grants).aud = other
      })
      manifest.aud = other
      return k.sign(manifest)
    },
  },
  'cw::claims::expired': {
    note: 'a manifest whose exp passed an hour ago',
    async broken(k) {
      const manifest = k.clone()
      manifest.iat = k.now - 2 * DAY
      manifest.exp = k.now - 3_600
      return k.sign(manifest)
    },
  },
  'cw::claims::issued-in-future': {
    note: 'a manifest issued 10 minutes in the future (beyond the 60 s allowance)',
    async broken(k) {
      const manifest = k.clone()
      manifest.iat = k.now + 600
      return k.sign(manifest)
    },
  },
  'cw::claims::cwv-unsupported': {
    note: 'a manifest with cwv "0.3"',
    async broken(k) {
      const manifest = k.clone()
      record(manifest)['cwv'] = '0.3'
      return k.sign(manifest)
    },
  },

  // --- schema
  'cw::schema::extra-property': {
    note: 'a manifest with an unknown top-level property "priority"',
    async broken(k) {
      const manifest = k.clone()
      record(manifest)['priority'] = 'high'
      return k.sign(manifest)
    },
  },
  'cw::schema::wrong-type': {
    note: 'a manifest with an evidence size given as a string',
    async broken(k) {
      const manifest = k.clone()
      record(manifest.evidence[1])['size'] = String(manifest.evidence[1]!.size)
      return k.sign(manifest)
    },
  },
  'cw::schema::recipients-over-max-items': {
    note: 'a manifest with 1001 recipients (the schema allows 1000)',
    async broken(k) {
      const manifest = k.clone()
      manifest.share.recipients = Array.from({ length: 1001 }, (_, index) => ({ kind: 'badge' as const, id: String(1000 + index) }))
      return k.sign(manifest)
    },
  },
  'cw::schema::recipient-email-not-plain': {
    note: 'an e-mail recipient smuggling a Bcc header into the address (CR LF)',
    async broken(k) {
      const manifest = k.clone()
      manifest.share.recipients = [{ kind: 'email', id: 'ada@county-da.example\r\nBcc: evil@elsewhere.example' }]
      return k.sign(manifest)
    },
  },
  'cw::schema::revision-2-without-previous': {
    note: 'a manifest of revision 2 without share.previous',
    async broken(k) {
      const manifest = k.clone()
      manifest.share.revision = 2
      return k.sign(manifest)
    },
  },
  'cw::schema::revision-1-with-previous': {
    note: 'a manifest of revision 1 with a share.previous',
    async broken(k) {
      const manifest = k.clone()
      manifest.share.previous = digestBytes('an earlier revision that never was')
      return k.sign(manifest)
    },
  },
  'cw::schema::chunk-count-inconsistent': {
    note: 'a manifest whose two-chunk item lists one chunk digest',
    share: {
      items: [
        { size: TEST_CHUNK_SIZE + 1000, category: 'document' },
        { size: 1024, category: 'photo' },
      ],
    },
    async broken(k) {
      const manifest = k.clone()
      manifest.evidence[0]!.chunks.pop()
      return k.sign(manifest)
    },
  },
  'cw::schema::duplicate-evidence-id': {
    note: 'a manifest with two evidence items of the same id',
    async broken(k) {
      const manifest = k.clone()
      manifest.evidence[1]!.id = manifest.evidence[0]!.id
      return k.sign(manifest)
    },
  },
  'cw::schema::attachment-of-unknown-item': {
    note: 'a manifest with an attachmentOf naming an item it does not have',
    async broken(k) {
      const manifest = k.clone()
      manifest.evidence[1]!.attachmentOf = 'ev-missing'
      return k.sign(manifest)
    },
  },
  'cw::schema::folder-cycle': {
    note: "a manifest with two folders that are each other's parent",
    prepare(manifest) {
      manifest.case.folders = [
        { id: 'f-scene', name: 'Scene' },
        { id: 'f-photos', name: 'Photos', parent: 'f-scene' },
      ]
    },
    async broken(k) {
      const manifest = k.clone()
      manifest.case.folders[0]!.parent = 'f-photos'
      return k.sign(manifest)
    },
  },
  'cw::schema::grant-extra-property': {
    note: 'a manifest whose one grant has an unknown property "note"',
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          record(grants[0])['note'] = 'x'
        }),
      )
    },
  },
  'cw::schema::manifest-0-1-with-shared-by': {
    note: 'a manifest of version 0.1 naming who shared (share.sharedBy, a 0.2 member)',
    async broken(k) {
      const manifest = k.clone()
      manifest.cwv = '0.1'
      manifest.share.sharedBy = { id: `u.${randomBytes(32).toString('base64url').slice(0, 43)}`, name: 'Det. Conformance' }
      return k.sign(manifest)
    },
  },

  // --- policy
  'cw::policy::category-not-allowed': {
    note: 'a manifest with a video under a grant whose policy allows only document and photo',
    share: { items: WITH_VIDEO },
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          last(grants).policy.content.evidenceCategories = ['document', 'photo']
        }),
      )
    },
  },
  'cw::policy::case-field-not-allowed': {
    note: 'a manifest with the case fields title and summary under a grant whose policy allows only title',
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          last(grants).policy.content.caseFields = ['title']
        }),
      )
    },
  },
  'cw::policy::attachment-not-allowed': {
    note: 'a manifest with an attachment under a grant whose policy allows no attachments',
    share: { items: WITH_ATTACHMENT },
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          last(grants).policy.content.attachments = false
        }),
      )
    },
  },
  'cw::policy::do-not-disclose': {
    note: 'a manifest with an item marked doNotDisclose under a policy that allows everything else',
    async broken(k) {
      const manifest = k.clone()
      manifest.evidence[1]!.doNotDisclose = true
      return k.sign(manifest)
    },
  },
  'cw::policy::grant-duration-exceeded': {
    note: 'a manifest whose grant lasts a day under a policy allowing one hour',
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          last(grants).policy.maxDurationSeconds = 3_600
        }),
      )
    },
  },
  'cw::policy::effective-policy-is-the-last': {
    note: "an onward manifest with a video: the originator's grant allows video, the harness's (last) grant does not",
    share: { hops: 1, items: WITH_VIDEO },
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          last(grants).policy.content.evidenceCategories = ['document', 'photo']
        }),
      )
    },
  },

  // --- prov (chain aux1 → aux2 → harness → target)
  'cw::prov::widened-permission': {
    note: 'an onward chain whose middle grant forbids applyUpdates and whose last grant allows it',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[1]!.policy.permissions.applyUpdates = false
          relink(grants)
        }),
      )
    },
  },
  'cw::prov::widened-category': {
    note: 'an onward chain whose last grant allows an evidence category (audio) the middle grant does not',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[1]!.policy.content.evidenceCategories = grants[1]!.policy.content.evidenceCategories.filter((category) => category !== 'audio')
          relink(grants)
        }),
      )
    },
  },
  'cw::prov::widened-max-depth': {
    note: "an onward chain whose middle grant keeps the originator's maxDepth instead of one less",
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[1]!.policy.permissions.shareOnward.maxDepth = grants[0]!.policy.permissions.shareOnward.maxDepth
          relink(grants)
        }),
      )
    },
  },
  'cw::prov::widened-exp': {
    note: 'an onward chain whose last grant expires a day after its parent',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[2]!.exp = grants[1]!.exp + DAY
        }),
      )
    },
  },
  'cw::prov::link-parent-digest': {
    note: "an onward chain whose last grant names the originator's grant as its parent",
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[2]!.parent = digestJson(grants[0])
        }),
      )
    },
  },
  'cw::prov::link-issuer': {
    note: 'an onward chain whose middle grant goes to the target while the harness issues the next one',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[1]!.aud = k.ctx.target.org
          relink(grants)
        }),
      )
    },
  },
  'cw::prov::first-grant-has-parent': {
    note: 'an onward chain whose first grant has depth 1 and a parent',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[0]!.depth = 1
          grants[0]!.parent = digestBytes('a grant before the originator')
          relink(grants)
        }),
      )
    },
  },
  'cw::prov::last-grant-audience': {
    note: 'an onward manifest to the target whose last grant (links intact) is addressed to another org',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[2]!.aud = k.ctx.harness.aux[1]!.org
        }),
      )
    },
  },
  'cw::prov::evidence-added-onward': {
    note: "an onward chain whose last grant adds an evidence digest its parent's does not have",
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[2]!.evidence = [...grants[2]!.evidence, digestBytes('planted')].sort()
        }),
      )
    },
  },
  'cw::prov::evidence-not-granted': {
    note: 'an onward manifest with an item whose digest (and chunks) the last grant does not list',
    share: ONWARD_2,
    async broken(k) {
      const manifest = k.clone()
      alteredItem(manifest, 1)
      return k.sign(manifest)
    },
  },
  'cw::prov::depth-exceeded': {
    note: 'an onward chain whose middle grant allows no onward sharing, and the harness shares onward anyway',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[1]!.policy.permissions.shareOnward = { allowed: false, maxDepth: 0 }
          grants[2]!.policy.permissions.shareOnward = { allowed: false, maxDepth: 0 }
          relink(grants)
        }),
      )
    },
  },
  'cw::prov::partner-not-allowed': {
    note: 'an onward chain whose middle grant lets the harness share onward only to another org',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          grants[1]!.policy.permissions.shareOnward.partners = [k.ctx.harness.aux[0]!.org]
          grants[2]!.policy.permissions.shareOnward.partners = []
          relink(grants)
        }),
      )
    },
  },
  'cw::prov::untrusted-link': {
    note: 'an onward chain whose middle link is signed by an org the target has no anchor for',
    share: ONWARD_2,
    async broken(k) {
      const { stranger } = await k.wrong()
      const signers = k.hopSigners()
      signers[1] = stranger.signer
      return k.sign(
        await k.withGrants((grants) => {
          grants[0]!.aud = stranger.org
          grants[1]!.iss = stranger.org
          relink(grants)
        }, signers),
      )
    },
  },
  'cw::prov::grant-signed-by-other-org': {
    note: 'an onward chain whose middle grant is signed by the harness (trusted, but not its issuer)',
    share: ONWARD_2,
    async broken(k) {
      const signers = k.hopSigners()
      signers[1] = k.ctx.harness.main.signer
      return k.sign(await k.withGrants(() => {}, signers))
    },
  },
  'cw::prov::grant-expired': {
    note: 'an onward chain whose middle grant (and so the last) expired an hour ago',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          for (const grant of grants.slice(1)) {
            grant.iat = k.now - 2 * DAY
            grant.exp = k.now - 3_600
          }
          relink(grants)
        }),
      )
    },
  },
  // The manifest keeps the harness's version: the chain rule holds whatever version it carries.
  'cw::prov::widened-add-recipients': {
    note: 'an onward chain whose middle grant leaves addRecipients out (false) and whose last grant permits it',
    share: ONWARD_2,
    async broken(k) {
      return k.sign(
        await k.withGrants((grants) => {
          delete grants[1]!.policy.permissions.addRecipients
          grants[2]!.policy.permissions.addRecipients = true
          relink(grants)
        }),
      )
    },
  },
}

/**
 * Grant-chain vectors (a chain verified on its own) re-created inside a manifest from the
 * harness: the receiver verifies the chain of every manifest the same way (§11).
 * `grant-chain-too-long` is not here: inside a manifest the schema bounds the chain (CW-PROV-009,
 * `CW_ERR_SCHEMA_INVALID`), another code than the vector's; the chains group tests it.
 */
export const GRANT_CHAIN_RECIPES: Readonly<Record<string, Recipe>> = {
  'cw::prov::grant-typ-manifest': {
    note: 'an onward manifest whose middle grant is signed with typ caseway-manifest+jws',
    share: ONWARD_2,
    async broken(k) {
      const grants = k.grantPayloads()
      const signed = await k.signGrants(grants)
      signed[1] = await signRaw('manifest', grants[1]!, k.hopSigners()[1]!)
      return k.sign({ ...k.clone(), grants: signed })
    },
  },
  'cw::prov::grant-chain-reordered': {
    note: 'an onward manifest whose first two grants are swapped',
    share: ONWARD_2,
    async broken(k) {
      const [first, second, third] = await k.signGrants(k.grantPayloads())
      return k.sign({ ...k.clone(), grants: [second!, first!, third!] })
    },
  },
  'cw::prov::grant-chain-middle-dropped': {
    note: 'an onward manifest whose middle grant is removed',
    share: ONWARD_2,
    async broken(k) {
      const [first, , third] = await k.signGrants(k.grantPayloads())
      return k.sign({ ...k.clone(), grants: [first!, third!] })
    },
  },
  'cw::prov::signatures-before-policy': {
    note: 'an onward chain whose last grant widens download and carries a corrupt signature',
    share: ONWARD_2,
    async broken(k) {
      const grants = k.grantPayloads()
      grants[1]!.policy.permissions.download = false
      relink(grants)
      const signed = await k.signGrants(grants)
      signed[2] = corruptSignature(signed[2]!)
      return k.sign({ ...k.clone(), grants: signed })
    },
  },
  'cw::prov::links-before-policy': {
    note: "an onward chain widened at its last grant, whose last grant (links intact) is issued by another org than the manifest's",
    share: ONWARD_2,
    async broken(k) {
      const third = k.ctx.harness.aux[2]!
      const signers = k.hopSigners()
      signers[2] = third.signer
      return k.sign(
        await k.withGrants((grants) => {
          grants[1]!.policy.permissions.download = false
          grants[1]!.aud = third.org
          grants[2]!.iss = third.org
          relink(grants)
        }, signers),
      )
    },
  },
}

// ---------------------------------------------------------------------------------------------
// Running a recipe

function makeKit(ctx: TestContext, share: HarnessShare, valid: CaseManifest): RefusalKit {
  const hopSigners = () => share.signers.map((party) => party.signer)
  const grantPayloads = () => JSON.parse(JSON.stringify(share.grants)) as Grant[]
  const kit: RefusalKit = {
    ctx,
    share,
    valid,
    now: Math.floor(Date.now() / 1000),
    clone: () => structuredClone(valid),
    sign: (manifest, signer) => share.sign(manifest, signer),
    grantPayloads,
    signGrants: (grants, signers = hopSigners()) => share.signGrants(grants, signers),
    async withGrants(edit, signers = hopSigners()) {
      const grants = grantPayloads()
      edit(grants)
      const manifest = structuredClone(valid)
      manifest.grants = await share.signGrants(grants, signers)
      return manifest
    },
    hopSigners,
    wrong: () => wrongSigners(ctx.harness),
  }
  return kit
}

/**
 * POSTs a broken offer to EP-1; a streamed body goes the way of every oversized body
 * (CW-FED-013): chunked on a raw connection, read while sent, stopped at the answer.
 */
async function sendOffer(ctx: TestContext, offer: BrokenOffer, note: string): Promise<Exchange | TransportFailure> {
  if (typeof offer === 'string') return ctx.offer(offer, note)
  return (await sendOversized(ctx, { path: FEDERATION_PATHS.offers, size: offer.bytes, mode: 'chunked', prefix: offer.prefix, note })).answer
}

/** A new share from the harness and its valid revision-1 manifest. */
async function validShare(
  ctx: TestContext,
  options: NewShareOptions = { items: SMALL_ITEMS },
  prepare?: (manifest: CaseManifest) => void,
): Promise<{ share: HarnessShare; valid: CaseManifest }> {
  const share = ctx.newShare({ items: SMALL_ITEMS, ...options })
  const valid = await share.manifest()
  prepare?.(valid)
  return { share, valid }
}

/**
 * The no-trace check (CW-FED-001, CW-FED-004): the valid manifest with the refused one's share
 * id and `jti` must be a fresh acceptance, `202` — not `200` (something was stored), not
 * `409` (the `jti` was remembered or a revision stored).
 */
export async function expectNoTrace(ctx: TestContext, share: HarnessShare, valid: CaseManifest): Promise<void> {
  const answer = await ctx.offer(await share.sign(valid), 'the valid manifest with the same share id and jti, after the refusal')
  expectStatus(answer, [202], 'for the valid manifest with the same share id and jti (the refused offer must leave no trace)')
  share.offered(valid)
}

/** Makes a recipe's share, its valid manifest and the broken offer (nothing is sent). */
export async function buildRefusal(ctx: TestContext, recipe: Recipe): Promise<{ share: HarnessShare; valid: CaseManifest; broken: BrokenOffer }> {
  const { share, valid } = await validShare(ctx, recipe.share, recipe.prepare)
  return { share, valid, broken: await recipe.broken(makeKit(ctx, share, valid)) }
}

/** Offers what `recipe` makes, expects `code`, then checks that nothing was kept. */
async function refuseAndCheck(ctx: TestContext, recipe: Recipe, code: ProblemCode | readonly ProblemCode[], label: string): Promise<void> {
  const { share, valid, broken } = await buildRefusal(ctx, recipe)
  expectProblem(await sendOffer(ctx, broken, `${label}: ${recipe.note}`), code)
  await expectNoTrace(ctx, share, valid)
}

/** Vectors whose test also cites the problem-document requirements. */
const CITES_PROBLEM_DOCUMENT = new Set(['cw::sig::alg-none', 'cw::schema::extra-property', 'cw::policy::category-not-allowed'])

function vectorTest(vector: ProtocolVector, recipe: Recipe): ConformanceTest {
  const code = vector.expected as ProblemCode
  const spec = [
    ...new Set([
      ...vector.spec,
      'CW-FED-001',
      ...(CITES_PROBLEM_DOCUMENT.has(vector.id) ? ['CW-ERR-001', 'CW-ERR-002'] : []),
      ...(vector.id === 'cw::sig::oversized' ? ['CW-FED-013'] : []),
    ]),
  ]
  return {
    id: `refusals.${vector.name}`,
    title: `Refuses ${recipe.note} with ${code} and keeps no trace of it (${vector.id})`,
    group: 'refusals',
    spec,
    run: (ctx) => refuseAndCheck(ctx, recipe, code, vector.id),
  }
}

/** Tests made from vectors and recipes; throws when a vector has no recipe or a recipe no vector. */
export function vectorTests(vectors: readonly ProtocolVector[] = loadVectors()): ConformanceTest[] {
  const byId = new Map(vectors.map((vector) => [vector.id, vector]))
  const tests: ConformanceTest[] = []
  for (const vector of vectors) {
    if (vector.kind !== 'manifest' || vector.expected === 'accept') continue
    const recipe = MANIFEST_RECIPES[vector.id]
    if (recipe === undefined) throw new Error(`no refusal recipe for ${vector.id}`)
    tests.push(vectorTest(vector, recipe))
  }
  for (const [id, recipe] of Object.entries(GRANT_CHAIN_RECIPES)) {
    const vector = byId.get(id)
    if (vector === undefined || vector.kind !== 'grant-chain' || vector.expected === 'accept')
      throw new Error(`recipe ${id} names no negative grant-chain vector`)
    tests.push(vectorTest(vector, recipe))
  }
  for (const id of Object.keys(MANIFEST_RECIPES)) {
    if (!byId.has(id)) throw new Error(`recipe ${id} names no vector`)
  }
  return tests
}

// ---------------------------------------------------------------------------------------------
// Refusals the vectors cannot show

/** A hand-made manifest signed as the harness: any header changes, any payload bytes. */
async function forged(ctx: TestContext, header: Record<string, unknown>, payload: unknown): Promise<string> {
  const { signer } = ctx.harness.main
  return craft({ ...manifestHeader(signer), ...header }, payload, es256(signer.privateKey))
}

/**
 * A manifest signed as the harness whose payload segment `rewrite` re-encodes, signed over the
 * input as sent, so that only the encoding is wrong. The title grows until `rewrite` changes
 * the segment (it returns `undefined` while it cannot).
 */
async function signedSegments(k: RefusalKit, rewrite: (payload: string) => string | undefined): Promise<string> {
  const { signer } = k.ctx.harness.main
  const header = b64u(JSON.stringify(manifestHeader(signer)))
  const manifest = k.clone()
  for (let extra = 1; extra <= 64; extra++) {
    const payload = rewrite(b64u(canonicalJson(manifest)))
    if (payload !== undefined) {
      const input = `${header}.${payload}`
      return `${input}.${b64u(es256(signer.privateKey)(Buffer.from(input)))}`
    }
    // "?" encodes to "_" in base64url when it falls on the third byte of a group.
    manifest.case.fields['title'] = `Conformance case ${'?'.repeat(extra)}`
  }
  throw new Error('could not re-encode the payload segment')
}

/** The canonical payload text with `replace` applied (must change it). */
function editedText(valid: CaseManifest, from: string, to: string): string {
  const text = canonicalJson(valid)
  if (!text.includes(from)) throw new Error(`the canonical manifest does not contain ${from}`)
  return text.replace(from, to)
}

/**
 * Refusals that are a pure function of the object (like the vectors, but faults the vectors do
 * not have): each variant, on a fresh share, must be refused with `code` and leave no trace.
 */
export interface VariantGroup {
  id: string
  title: string
  spec: readonly string[]
  code: ProblemCode | readonly ProblemCode[]
  /** By note: how to break a manifest of a default share, or of the share given. */
  variants: Readonly<Record<string, Recipe['broken'] | { share: NewShareOptions; broken: Recipe['broken'] }>>
  /** Checks after every variant was refused. */
  after?: (ctx: TestContext) => Promise<void>
}

/** Where the jku and x5u headers point: the harness listener, which records any request. */
export const CANARY_PATH = '/canary/refusals'

export const VARIANT_GROUPS: readonly VariantGroup[] = [
  {
    id: 'refusals.not-a-jws',
    title: 'Bodies that are not a compact JWS of base64url segments with a JSON payload are refused with CW_ERR_MALFORMED',
    spec: ['CW-SIG-001', 'CW-FED-001'],
    code: 'CW_ERR_MALFORMED',
    variants: {
      'an empty body': async () => '',
      'a body that is not a JWS': async () => 'hello, this is not a JWS',
      'two segments (no signature)': async (k) =>
        segments(await k.sign(k.valid))
          .slice(0, 2)
          .join('.'),
      'five segments (a JWE shape)': async (k) => {
        const [header, payload, signature] = segments(await k.sign(k.valid))
        return [header, payload, signature, payload, signature].join('.')
      },
      'a protected header that is not JSON': async (k) => {
        const [, payload, signature] = segments(await k.sign(k.valid))
        return `${b64u('not json')}.${payload}.${signature}`
      },
      'a payload that is not JSON, correctly signed': async (k) => forged(k.ctx, {}, 'not json at all'),
      'base64 "+" and "/" instead of base64url in the payload, signed over the input as sent': async (k) =>
        signedSegments(k, (payload) => {
          const standard = payload.replaceAll('-', '+').replaceAll('_', '/')
          return standard === payload ? undefined : standard
        }),
      'a padded payload segment, signed over the input as sent': async (k) =>
        signedSegments(k, (payload) => (payload.length % 4 === 0 ? undefined : payload + '='.repeat(4 - (payload.length % 4)))),
    },
  },
  {
    id: 'refusals.alg-variants',
    title: 'alg "none" in other cases and algorithms outside the allow-list are refused with CW_ERR_ALG_NOT_ALLOWED',
    spec: ['CW-SIG-002', 'CW-FED-001'],
    code: 'CW_ERR_ALG_NOT_ALLOWED',
    variants: Object.fromEntries(
      ['None', 'NONE', 'nOnE', 'ES256K', 'ES384', 'PS256', 'es256'].map((alg) => [
        `alg "${alg}" with an empty signature`,
        async (k: RefusalKit) => craft({ ...manifestHeader(k.ctx.harness.main.signer), alg }, k.valid),
      ]),
    ),
  },
  {
    id: 'refusals.alg-missing',
    title: 'A manifest without an alg header is refused',
    spec: ['CW-SIG-002', 'CW-FED-001'],
    code: 'CW_ERR_ALG_NOT_ALLOWED',
    variants: {
      'no alg, otherwise correctly signed': async (k) => {
        const { signer } = k.ctx.harness.main
        return craft({ typ: TYP.manifest, x5c: x5cOf(...signer.chain) }, k.valid, es256(signer.privateKey))
      },
    },
  },
  {
    id: 'refusals.key-url-headers',
    title: 'jku and x5u headers are refused with CW_ERR_X5C_INVALID and never fetched',
    spec: ['CW-SIG-003', 'CW-FED-001'],
    code: 'CW_ERR_X5C_INVALID',
    variants: {
      'a correctly signed manifest with a jku header pointing at the harness': async (k) =>
        forged(k.ctx, { jku: `${k.ctx.listener.url}${CANARY_PATH}/jku` }, k.valid),
      'a correctly signed manifest with an x5u header pointing at the harness': async (k) =>
        forged(k.ctx, { x5u: `${k.ctx.listener.url}${CANARY_PATH}/x5u` }, k.valid),
      'a correctly signed manifest with both a jku and an x5u header': async (k) =>
        forged(k.ctx, { jku: `${k.ctx.listener.url}${CANARY_PATH}/jku`, x5u: `${k.ctx.listener.url}${CANARY_PATH}/x5u` }, k.valid),
    },
    async after(ctx) {
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const fetched = ctx.listener.seen('request', (event) => event.path.startsWith(CANARY_PATH))
      check(
        fetched.length === 0,
        'no request for the jku or x5u URL (keys are never fetched, CW-SIG-003)',
        fetched.map((event) => `${event.method} ${event.path}`).join(', '),
      )
    },
  },
  {
    id: 'refusals.anchor-speaks-for-its-org',
    title: "A pinned CA vouches only for its own organization: a signer certified by another org's CA is refused with CW_ERR_CHAIN_UNTRUSTED",
    spec: ['CW-TRUST-005', 'CW-SIG-006', 'CW-PROV-002', 'CW-FED-001'],
    code: 'CW_ERR_CHAIN_UNTRUSTED',
    variants: {
      "a manifest signed by a certificate naming the harness, issued by auxiliary org 1's CA (pinned trust-only)": async (k) =>
        k.sign(k.valid, (await k.wrong()).harnessByAux1Ca),
      "an onward chain whose middle grant (iss auxiliary org 2) is signed by a certificate naming that org, issued by the harness's CA": {
        share: ONWARD_2,
        async broken(k) {
          const signers = k.hopSigners()
          signers[1] = (await k.wrong()).aux2ByHarnessCa
          return k.sign(await k.withGrants(() => {}, signers))
        },
      },
    },
  },
  {
    id: 'refusals.x5c-path',
    title: "An x5c that is out of order, continues past the anchor, or exceeds the anchor's path length is refused with CW_ERR_CHAIN_UNTRUSTED",
    spec: ['CW-SIG-006', 'CW-FED-001'],
    code: 'CW_ERR_CHAIN_UNTRUSTED',
    variants: {
      "x5c = [signing certificate, auxiliary org 1's CA] (the second did not issue the first)": async (k) => {
        const { main, aux } = k.ctx.harness
        return k.sign(k.valid, { privateKey: main.signer.privateKey, chain: [...main.signer.chain, aux[0]!.caPem] })
      },
      'x5c = [signing certificate, pinned CA, pinned CA] (a certificate after the anchor)': async (k) => {
        const { main } = k.ctx.harness
        return k.sign(k.valid, { privateKey: main.signer.privateKey, chain: [...main.signer.chain, main.caPem, main.caPem] })
      },
      "x5c = [signing certificate, intermediate CA] under the harness's CA, whose pathLenConstraint is 0": async (k) =>
        k.sign(k.valid, (await k.wrong()).underIntermediate),
    },
  },
  {
    id: 'refusals.signer-org-invalid',
    title: 'A signing certificate naming no organization, two, or a malformed org id is refused with CW_ERR_CERT_ORG_INVALID',
    spec: ['CW-ID-006', 'CW-ID-002', 'CW-FED-001'],
    code: 'CW_ERR_CERT_ORG_INVALID',
    variants: {
      'a signing certificate of the pinned CA without an organization URI': async (k) => k.sign(k.valid, (await k.wrong()).noOrg),
      'a signing certificate of the pinned CA naming the harness and auxiliary org 1': async (k) => k.sign(k.valid, (await k.wrong()).twoOrgs),
      'a signing certificate of the pinned CA naming urn:caseway:org:Not_An_Org_Id': async (k) => k.sign(k.valid, (await k.wrong()).badOrgId),
    },
  },
  {
    id: 'refusals.signer-profile',
    title: 'A leaf without the signing profile (a TLS usage added, no or any extended key usage, a P-384 key) is refused with CW_ERR_CERT_USAGE',
    spec: ['CW-SIG-007', 'CW-ID-004', 'CW-FED-001'],
    code: 'CW_ERR_CERT_USAGE',
    variants: {
      'a signing certificate with documentSigning and clientAuth': async (k) => k.sign(k.valid, (await k.wrong()).signingAndClientAuth),
      'a certificate without extendedKeyUsage': async (k) => k.sign(k.valid, (await k.wrong()).noEku),
      'a certificate with anyExtendedKeyUsage only': async (k) => k.sign(k.valid, (await k.wrong()).anyEku),
      'a signing certificate with a P-384 key (alg ES256, signed with that key)': async (k) => {
        const { p384 } = await k.wrong()
        return craft({ alg: 'ES256', typ: TYP.manifest, x5c: x5cOf(p384) }, k.valid, es256(p384.privateKey))
      },
    },
  },
  {
    id: 'refusals.signer-unknown-critical-extension',
    title: 'A signing certificate carrying a critical extension the verifier does not know is refused',
    spec: ['CW-SIG-007', 'CW-FED-001'],
    code: 'CW_ERR_CERT_USAGE',
    variants: {
      'a signing certificate of the pinned CA with a critical private extension': async (k) => k.sign(k.valid, (await k.wrong()).unknownCritical),
    },
  },
  {
    id: 'refusals.crit-empty',
    title: 'Any crit header, even an empty one or one naming a registered header, is refused with CW_ERR_CRIT_UNSUPPORTED',
    spec: ['CW-SIG-004', 'CW-FED-001'],
    code: 'CW_ERR_CRIT_UNSUPPORTED',
    variants: {
      'a correctly signed manifest with crit []': async (k) => forged(k.ctx, { crit: [] }, k.valid),
      'a correctly signed manifest with crit ["typ"]': async (k) => forged(k.ctx, { crit: ['typ'] }, k.valid),
      'a correctly signed manifest with b64 true': async (k) => forged(k.ctx, { b64: true }, k.valid),
    },
  },
  {
    id: 'refusals.x5c-unusable',
    title: 'An x5c that is empty, too long, not DER or not a list is refused with CW_ERR_X5C_INVALID',
    spec: ['CW-SIG-003', 'CW-FED-001'],
    code: 'CW_ERR_X5C_INVALID',
    variants: {
      'x5c []': async (k) => forged(k.ctx, { x5c: [] }, k.valid),
      'x5c with 6 certificates (leaf and the pinned CA five times)': async (k) => {
        const { main } = k.ctx.harness
        return forged(k.ctx, { x5c: x5cOf(main.signing, main.ca, main.ca, main.ca, main.ca, main.ca) }, k.valid)
      },
      'x5c holding bytes that are not a certificate': async (k) => forged(k.ctx, { x5c: [Buffer.from('not a certificate').toString('base64')] }, k.valid),
      'x5c as a string instead of a list': async (k) => forged(k.ctx, { x5c: x5cOf(k.ctx.harness.main.signing)[0] }, k.valid),
    },
  },
  {
    id: 'refusals.signature-truncated',
    title: 'A truncated, empty or borrowed ES256 signature is refused with CW_ERR_SIGNATURE_INVALID',
    spec: ['CW-SIG-008', 'CW-FED-001'],
    code: 'CW_ERR_SIGNATURE_INVALID',
    variants: {
      'the signature cut to 60 bytes': async (k) => {
        const [header, payload, signature] = segments(await k.sign(k.valid))
        return `${header}.${payload}.${b64u(Buffer.from(signature, 'base64url').subarray(0, 60))}`
      },
      'an empty signature with alg ES256': async (k) => {
        const [header, payload] = segments(await k.sign(k.valid))
        return `${header}.${payload}.`
      },
      'the signature of another manifest': async (k) => {
        const other = k.clone()
        other.case.fields['title'] = 'Another title'
        const [header, payload] = segments(await k.sign(k.valid))
        return `${header}.${payload}.${segments(await k.sign(other))[2]}`
      },
    },
  },
  {
    id: 'refusals.exp-not-after-iat',
    title: 'A manifest whose exp is not after its iat is refused with CW_ERR_MALFORMED',
    spec: ['CW-SIG-011', 'CW-FED-001'],
    code: 'CW_ERR_MALFORMED',
    variants: {
      'exp equal to iat (both 30 s from now, within the allowance)': async (k) => {
        const manifest = k.clone()
        manifest.iat = k.now + 30
        manifest.exp = k.now + 30
        return k.sign(manifest)
      },
    },
  },
  {
    id: 'refusals.payload-duplicate-keys',
    title: 'A correctly signed payload with a duplicated member is refused with CW_ERR_MALFORMED',
    spec: ['CW-SIG-014', 'CW-FED-001'],
    code: 'CW_ERR_MALFORMED',
    variants: {
      'a payload with "aud" twice (another org first, the target last)': async (k) =>
        forged(
          k.ctx,
          {},
          editedText(
            k.valid,
            `{"aud":${JSON.stringify(k.valid.aud)}`,
            `{"aud":${JSON.stringify(k.ctx.harness.aux[0]!.org)},"aud":${JSON.stringify(k.valid.aud)}`,
          ),
        ),
      'a payload with "cwv" twice (same value)': async (k) => forged(k.ctx, {}, editedText(k.valid, '"cwv":"0.1"', '"cwv":"0.1","cwv":"0.1"')),
    },
  },
  {
    id: 'refusals.payload-not-canonical',
    title: 'A correctly signed payload that is not canonical JSON is refused with CW_ERR_MALFORMED',
    spec: ['CW-SIG-014', 'CW-FMT-001', 'CW-FED-001'],
    code: 'CW_ERR_MALFORMED',
    variants: {
      'a payload indented with whitespace': async (k) => forged(k.ctx, {}, JSON.stringify(JSON.parse(canonicalJson(k.valid)), null, 2)),
      'a payload with members not in canonical order': async (k) => {
        const { cwv, ...rest } = JSON.parse(canonicalJson(k.valid)) as Record<string, unknown>
        return forged(k.ctx, {}, JSON.stringify({ ...rest, cwv }))
      },
      'a payload starting with a UTF-8 byte-order mark': async (k) =>
        forged(k.ctx, {}, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(canonicalJson(k.valid))])),
      'a payload with a character canonical JSON writes literally escaped ("\\u0041")': async (k) => {
        const manifest = k.clone()
        manifest.case.fields['title'] = 'Case A'
        return forged(k.ctx, {}, editedText(manifest, '"Case A"', '"Case \\u0041"'))
      },
    },
  },
  {
    id: 'refusals.payload-big-number',
    title: 'A correctly signed payload with an integer beyond 2^53 is refused with CW_ERR_MALFORMED',
    spec: ['CW-SIG-014', 'CW-FED-001'],
    code: 'CW_ERR_MALFORMED',
    variants: {
      'exp 9007199254740993 (2^53 + 1)': async (k) => forged(k.ctx, {}, editedText(k.valid, `"exp":${k.valid.exp}`, '"exp":9007199254740993')),
    },
  },
  {
    id: 'refusals.payload-lone-surrogate',
    title: 'A correctly signed payload with a lone surrogate in a string is refused with CW_ERR_MALFORMED',
    spec: ['CW-SIG-014', 'CW-FED-001'],
    code: 'CW_ERR_MALFORMED',
    variants: {
      'a case title "\\ud800" (an escaped lone high surrogate)': async (k) => {
        const manifest = k.clone()
        manifest.case.fields['title'] = 'LONE-SURROGATE'
        return forged(k.ctx, {}, editedText(manifest, '"LONE-SURROGATE"', '"\\ud800"'))
      },
    },
  },
]

/**
 * Two faults at once (CW-SIG-013, CW-PROV-011, CW-VER-001): the code of the earlier check in
 * the verification order must win.
 */
export const ORDER_CASES: readonly { code: ProblemCode; recipe: Recipe }[] = [
  {
    code: 'CW_ERR_ALG_NOT_ALLOWED',
    recipe: {
      note: 'alg HS256 (header, step 3) and typ caseway-receipt+jws (header, step 6)',
      async broken(k) {
        return craft({ alg: 'HS256', typ: TYP.receipt, x5c: x5cOf(...k.ctx.harness.main.signer.chain) }, k.valid, hs256(Buffer.from('secret')))
      },
    },
  },
  {
    code: 'CW_ERR_CHAIN_UNTRUSTED',
    recipe: {
      note: 'signed from an unpinned CA (chain) and expired (claims)',
      async broken(k) {
        const manifest = k.clone()
        manifest.iat = k.now - 2 * DAY
        manifest.exp = k.now - 3_600
        return k.sign(manifest, (await k.wrong()).unpinned)
      },
    },
  },
  {
    code: 'CW_ERR_SIGNATURE_INVALID',
    recipe: {
      note: 'a corrupt signature (signature) over a manifest with a video its grant excludes (policy)',
      share: { items: WITH_VIDEO },
      async broken(k) {
        const manifest = await k.withGrants((grants) => {
          last(grants).policy.content.evidenceCategories = ['document', 'photo']
        })
        return corruptSignature(await k.sign(manifest))
      },
    },
  },
  {
    code: 'CW_ERR_VERSION_UNSUPPORTED',
    recipe: {
      note: 'cwv "0.3" (version) and an unknown property (schema)',
      async broken(k) {
        const manifest = k.clone()
        record(manifest)['cwv'] = '0.3'
        record(manifest)['priority'] = 'high'
        return k.sign(manifest)
      },
    },
  },
  {
    code: 'CW_ERR_ISSUER_MISMATCH',
    recipe: {
      note: 'signed by another org (claims) and an unknown property (schema)',
      async broken(k) {
        const manifest = k.clone()
        record(manifest)['priority'] = 'high'
        return k.sign(manifest, k.ctx.harness.aux[0]!.signer)
      },
    },
  },
  {
    code: 'CW_ERR_EXPIRED',
    recipe: {
      note: 'expired (claims) and an unknown property (schema)',
      async broken(k) {
        const manifest = k.clone()
        manifest.iat = k.now - 2 * DAY
        manifest.exp = k.now - 3_600
        record(manifest)['priority'] = 'high'
        return k.sign(manifest)
      },
    },
  },
  {
    code: 'CW_ERR_SCHEMA_INVALID',
    recipe: {
      note: 'an unknown property (schema) and a do-not-disclose item (policy)',
      async broken(k) {
        const manifest = k.clone()
        record(manifest)['priority'] = 'high'
        manifest.evidence[1]!.doNotDisclose = true
        return k.sign(manifest)
      },
    },
  },
  {
    code: 'CW_ERR_SIGNATURE_INVALID',
    recipe: {
      note: 'an onward chain whose last grant widens applyUpdates (policy rule) and carries a corrupt signature (grant signature pass)',
      share: ONWARD_2,
      async broken(k) {
        const grants = k.grantPayloads()
        grants[1]!.policy.permissions.applyUpdates = false
        relink(grants)
        const signed = await k.signGrants(grants)
        signed[2] = corruptSignature(signed[2]!)
        return k.sign({ ...k.clone(), grants: signed })
      },
    },
  },
  {
    code: 'CW_ERR_CHAIN_LINK_BROKEN',
    recipe: {
      note: "an onward chain whose last grant widens applyUpdates (policy rule) and names the originator's grant as parent (link rule)",
      share: ONWARD_2,
      async broken(k) {
        return k.sign(
          await k.withGrants((grants) => {
            grants[1]!.policy.permissions.applyUpdates = false
            relink(grants)
            grants[2]!.parent = digestJson(grants[0])
          }),
        )
      },
    },
  },
  {
    code: 'CW_ERR_EVIDENCE_ALTERED',
    recipe: {
      note: 'an onward manifest with an item its last grant does not list (link pass) whose category the last grant excludes (policy)',
      share: { hops: 2, items: WITH_VIDEO },
      async broken(k) {
        const manifest = await k.withGrants((grants) => {
          last(grants).policy.content.evidenceCategories = ['document', 'photo']
        })
        alteredItem(manifest, 1)
        return k.sign(manifest)
      },
    },
  },
]

/** The refusal a peer-bound check makes: a manifest correct in every way but its issuer is not the peer. */
export const ISSUER_NOT_PEER: Recipe = {
  note: 'a manifest and origin grant from an auxiliary org (pinned trust-only) to the target, correct in every way but the connection',
  async broken(k) {
    const other = k.ctx.harness.aux[0]!
    const grant = originGrant({
      iss: other.org,
      aud: k.ctx.target.org,
      share: k.share.id,
      policy: k.share.policy,
      evidence: k.valid.evidence.map((item) => item.digest),
      iat: k.share.iat,
      exp: k.share.exp,
    })
    const manifest = k.clone()
    manifest.iss = other.org
    manifest.grants = [await signRaw('grant', grant, other.signer)]
    return k.sign(manifest, other.signer)
  },
}

const STATEFUL_TESTS: ConformanceTest[] = [
  {
    id: 'refusals.issuer-not-peer',
    title: "A valid manifest signed by another trusted org (iss = that org) offered over the harness's connection is refused with CW_ERR_PEER_MISMATCH",
    group: 'refusals',
    spec: ['CW-FED-001', 'CW-TLS-003'],
    run: (ctx) => refuseAndCheck(ctx, ISSUER_NOT_PEER, 'CW_ERR_PEER_MISMATCH', 'refusals.issuer-not-peer'),
  },
  {
    id: 'refusals.replayed-jti',
    title:
      'The identical manifest again is a retry (200); a different manifest reusing an accepted (iss, jti) is refused with CW_ERR_REPLAY and stores nothing',
    group: 'refusals',
    spec: ['CW-SIG-012', 'CW-FED-004', 'CW-FED-001'],
    async run(ctx) {
      const first = await validShare(ctx)
      const jws = await first.share.sign(first.valid)
      expectStatus(await ctx.offer(jws, 'a valid manifest'), [202], 'for a valid manifest')
      first.share.offered(first.valid)
      const again = expectStatus(
        await ctx.offer(jws, 'the identical manifest again (a retry)'),
        [200],
        'for the identical manifest again (a retry, CW-FED-004)',
      )
      const answer = expectShape(jsonOf(again), assertOfferAnswer, 'an offer answer', again.request)
      check(
        answer.share === first.share.id && answer.revision === 1,
        `the answer for share ${first.share.id} revision 1`,
        `share ${answer.share} revision ${answer.revision}`,
        again.request,
      )

      // Another share (so no revision rule applies) whose manifest reuses the accepted jti.
      const second = await validShare(ctx)
      const reused = structuredClone(second.valid)
      reused.jti = first.valid.jti
      expectProblem(
        await ctx.offer(await second.share.sign(reused), `a manifest of another share reusing the accepted jti ${first.valid.jti}`),
        'CW_ERR_REPLAY',
      )
      // Nothing of the refused share was stored: with its own jti it is a fresh acceptance.
      await expectNoTrace(ctx, second.share, second.valid)
    },
  },
  {
    id: 'refusals.not-jose',
    title: 'A manifest sent as application/json or text/plain is refused with CW_ERR_UNSUPPORTED_MEDIA_TYPE and leaves no trace',
    group: 'refusals',
    spec: ['CW-FED-002', 'CW-FED-001'],
    async run(ctx) {
      const { share, valid } = await validShare(ctx)
      const jws = await share.sign(valid)
      for (const contentType of ['application/json', 'text/plain']) {
        const answer = await ctx.client.send(FEDERATION_PATHS.offers, {
          method: 'POST',
          body: jws,
          contentType,
          note: `a valid manifest sent as ${contentType}`,
        })
        expectProblem(answer, 'CW_ERR_UNSUPPORTED_MEDIA_TYPE')
      }
      await expectNoTrace(ctx, share, valid)
    },
  },
  {
    id: 'refusals.verification-order',
    title: 'With two faults at once, the code of the earlier check in the verification order wins',
    group: 'refusals',
    spec: ['CW-SIG-013', 'CW-PROV-011', 'CW-VER-001'],
    async run(ctx) {
      for (const { code, recipe } of ORDER_CASES) await refuseAndCheck(ctx, recipe, code, `two faults, ${code} first`)
    },
  },
  {
    id: 'refusals.problem-document',
    title: 'A refused offer is answered with a complete problem document: stable type, the code, no stack trace, no key material',
    group: 'refusals',
    spec: ['CW-ERR-001', 'CW-ERR-002'],
    async run(ctx) {
      const { share, valid } = await validShare(ctx)
      const broken = structuredClone(valid)
      record(broken)['priority'] = 'high'
      const refusals: [Exchange | TransportFailure, ProblemCode][] = [
        [await ctx.offer(await share.sign(broken), 'a manifest with an unknown property'), 'CW_ERR_SCHEMA_INVALID'],
        [await ctx.offer('this is not a JWS', 'a body that is not a JWS'), 'CW_ERR_MALFORMED'],
        [await ctx.offer(await share.sign(valid, (await wrongSigners(ctx.harness)).tls), 'a manifest signed with a TLS certificate'), 'CW_ERR_CERT_USAGE'],
      ]
      for (const [answer, code] of refusals) {
        const problem = expectProblem(answer, code)
        const exchange = answer as Exchange
        expectShape(problem, assertProblemDocument, 'a problem document (problem schema)', exchange.request)
        check(!/-----BEGIN|PRIVATE KEY|"d"\s*:/.test(exchange.text), 'no key material in a problem document', exchange.text.slice(0, 400), exchange.request)
        check(problem.at === undefined || typeof problem.at === 'string', '"at", when present, a string', JSON.stringify(problem.at), exchange.request)
      }
      await expectNoTrace(ctx, share, valid)
    },
  },
]

/** The recipe of one variant of a {@link VariantGroup}. */
export function variantRecipe(note: string, variant: VariantGroup['variants'][string]): Recipe {
  return typeof variant === 'function' ? { note, broken: variant } : { note, ...variant }
}

function variantTest(group: VariantGroup): ConformanceTest {
  return {
    id: group.id,
    title: group.title,
    group: 'refusals',
    spec: group.spec,
    async run(ctx) {
      for (const [note, variant] of Object.entries(group.variants)) await refuseAndCheck(ctx, variantRecipe(note, variant), group.code, group.id)
      await group.after?.(ctx)
    },
  }
}

// ---------------------------------------------------------------------------------------------

export const REFUSAL_TESTS: ConformanceTest[] = [...vectorTests(), ...STATEFUL_TESTS, ...VARIANT_GROUPS.map(variantTest)]
