/**
 * Property-based fuzzing of the verifiers of everything that reaches the federation listener
 * signed: manifests (offers), grant chains, receipts, revocations; and of the JSON parser
 * under them.
 *
 * The property, for every input: the verifier resolves, or rejects with a `CasewayError`
 * whose code is in the catalogue (`PROBLEMS`), within {@link HANG_MS}. A `TypeError`, a
 * `RangeError`, a jose or WebCrypto error, or anything else escaping is a failure (the node
 * would answer 500 where the SPEC asks for a problem code: "bad input gets a clear error").
 *
 * Inputs: valid objects mutated (characters, segments, bits, JSON re-encoding), correctly
 * signed random headers and payloads (so fuzzing reaches the claims and the schemas, past the
 * signature), random strings, random base64url triples and random non-strings.
 * Run counts are fixed so the file runs in well under 30 s; fast-check prints the seed
 * and the shrunk counterexample of a failure.
 */
import fc from 'fast-check'
import t from 'tap'
import { canonicalJson } from '../../src/canonical/canonicalize.ts'
import { parseCanonicalJson, parseJson } from '../../src/canonical/parse.ts'
import { CasewayError, PROBLEMS } from '../../src/errors.ts'
import { TYP, type SignedType } from '../../src/jws/types.ts'
import { verifySigned } from '../../src/jws/verify.ts'
import { signManifest } from '../../src/manifest/sign.ts'
import { verifyManifest } from '../../src/manifest/verify.ts'
import { verifyGrantChain } from '../../src/provenance/verify_chain.ts'
import { signReceipt } from '../../src/receipt/sign.ts'
import { verifyReceipt } from '../../src/receipt/verify.ts'
import { signRevocation } from '../../src/revocation/sign.ts'
import { verifyRevocation } from '../../src/revocation/verify.ts'
import { b64u, craft } from '../helpers/jws_craft.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { sampleManifest } from '../../../testkit/fixtures/manifests.ts'
import { buildChain, NOW, NOW_SECONDS } from '../helpers/orgs.ts'
import { der64 } from '../helpers/pki.ts'

/** A verification slower than this counts as a hang. */
const HANG_MS = 5_000
const RUNS = { mutated: 100, signedRandom: 60, strings: 250, json: 500 } as const

const orgs = await createTestOrgs(['pd', 'da', 'court'], { now: NOW })
const [pd, da, court] = orgs as [TestOrg, TestOrg, TestOrg]
const trustAnchors = orgs.map((org) => org.anchor)
const clock = { trustAnchors, currentDate: NOW }

const chain = await buildChain([pd, da, court], {
  evidence: sampleManifest({ iss: 'pd', aud: 'da', iat: 0, exp: 1, grants: [] }).evidence.map((item) => item.digest),
})
const manifest = sampleManifest({ iss: 'pd', aud: 'da', iat: NOW_SECONDS, exp: NOW_SECONDS + 3_600, grants: chain.jws.slice(0, 1) })
const claims = (iss: string, aud: string, jti: string) => ({ cwv: '0.1' as const, iss, aud, iat: NOW_SECONDS, exp: NOW_SECONDS + 3_600, jti })
const receipt = { ...claims('da', 'pd', 'r-1'), share: manifest.share.id, revision: 1, manifest: 'sha256:' + 'a'.repeat(64), status: 'delivered' as const }
const revocation = { ...claims('pd', 'da', 'v-1'), share: manifest.share.id, revokedAt: NOW_SECONDS, reason: 'case sealed' }

interface Target {
  name: string
  type: SignedType
  /** The signer's organization, whose key signs the random payloads. */
  signer: TestOrg
  valid: string
  verify: (jws: unknown) => Promise<unknown>
}

const targets: Target[] = [
  {
    name: 'manifest (offer)',
    type: 'manifest',
    signer: pd,
    valid: await signManifest(manifest, pd.signer),
    verify: (jws) => verifyManifest(jws, { ...clock, audience: 'da' }),
  },
  {
    name: 'grant (last link of a chain)',
    type: 'grant',
    signer: da,
    valid: chain.jws[1]!,
    verify: (jws) => verifyGrantChain([chain.jws[0]!, jws as string], { ...clock, issuer: 'da', audience: 'court' }),
  },
  {
    name: 'receipt',
    type: 'receipt',
    signer: da,
    valid: await signReceipt(receipt, da.signer),
    verify: (jws) => verifyReceipt(jws, { ...clock, audience: 'pd' }),
  },
  {
    name: 'revocation',
    type: 'revocation',
    signer: pd,
    valid: await signRevocation(revocation, pd.signer),
    verify: (jws) => verifyRevocation(jws, { ...clock, audience: 'da' }),
  },
]

/** 'accepted', or the catalogued code; throws on any other error or a hang. */
async function outcomeOf(run: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS)
  })
  try {
    await Promise.race([run(), hang])
    return 'accepted'
  } catch (error) {
    if (error instanceof CasewayError && Object.hasOwn(PROBLEMS, error.code)) return error.code
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/** Same, for a synchronous parser. */
function parseOutcome(parse: () => unknown): string {
  try {
    parse()
    return 'accepted'
  } catch (error) {
    if (error instanceof CasewayError && error.code === 'CW_ERR_MALFORMED') return error.code
    throw error
  }
}

const tally = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)
const summary = (counts: Map<string, number>) => JSON.stringify(Object.fromEntries([...counts].sort()))

// Mutations of a compact JWS.
const CHARS = [...'AZaz09-_.=+/ ', '\u0000', 'é', '\ud800', '😀']
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(...CHARS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 8, unit: 'binary' }) }),
  fc.record({ kind: fc.constant('bytes' as const), segment: fc.integer({ min: 0, max: 2 }), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('bitflip' as const), segment: fc.integer({ min: 0, max: 2 }), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('json' as const), segment: fc.integer({ min: 0, max: 1 }), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({
    kind: fc.constant('member' as const),
    segment: fc.integer({ min: 0, max: 1 }),
    name: fc.constantFrom('alg', 'typ', 'x5c', 'crit', 'b64', 'jwk', 'iss', 'aud', 'iat', 'exp', 'jti', 'cwv', 'share', 'grants', 'evidence', 'revision'),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({ kind: fc.constant('segments' as const), order: fc.shuffledSubarray([0, 1, 2, 0, 1, 2], { minLength: 0, maxLength: 6 }) }),
)
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never

function mutate(jws: string, step: Mutation): string {
  const segments = jws.split('.')
  const at = (n: number, length: number) => (length === 0 ? 0 : n % length)
  switch (step.kind) {
    case 'replace': {
      const i = at(step.at, jws.length)
      return jws.slice(0, i) + step.text + jws.slice(i + 1)
    }
    case 'delete': {
      const i = at(step.at, jws.length)
      return jws.slice(0, i) + jws.slice(i + step.length)
    }
    case 'insert': {
      const i = at(step.at, jws.length + 1)
      return jws.slice(0, i) + step.text + jws.slice(i)
    }
    case 'bytes':
      segments[step.segment] = b64u(step.bytes)
      return segments.join('.')
    case 'bitflip': {
      const bytes = Buffer.from(segments[step.segment] ?? '', 'base64url')
      if (bytes.length > 0) bytes[at(step.at, bytes.length)]! ^= 1 << step.bit
      segments[step.segment] = b64u(bytes)
      return segments.join('.')
    }
    case 'json':
      segments[step.segment] = b64u(JSON.stringify(step.value) ?? 'null')
      return segments.join('.')
    case 'member': {
      // Re-encode header or payload with one member changed: signature now stale.
      let decoded: unknown
      try {
        decoded = JSON.parse(Buffer.from(segments[step.segment] ?? '', 'base64url').toString('utf8'))
      } catch {
        return jws
      }
      if (typeof decoded !== 'object' || decoded === null) return jws
      segments[step.segment] = b64u(JSON.stringify({ ...decoded, [step.name]: step.value }))
      return segments.join('.')
    }
    case 'segments':
      return step.order.map((index) => segments[index] ?? '').join('.')
  }
}

for (const target of targets) {
  // spec: CW-SIG-001, CW-SIG-008, CW-SIG-013
  t.test(`${target.name}: mutated JWS → result or catalogued code`, async (t) => {
    t.equal(await outcomeOf(() => target.verify(target.valid)), 'accepted', 'control: the valid object')
    const counts = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (steps) => {
        const jws = steps.reduce(mutate, target.valid)
        tally(counts, await outcomeOf(() => target.verify(jws)))
      }),
      { numRuns: RUNS.mutated },
    )
    t.comment(summary(counts))
    t.pass(`${RUNS.mutated} mutated inputs answered`)
  })

  // spec: CW-SIG-001, CW-SIG-014, CW-FMT-004
  t.test(`${target.name}: correctly signed random headers and payloads → result or catalogued code`, async (t) => {
    const key = target.signer.signing.privateKey
    const x5c = [der64(target.signer.signing), der64(target.signer.ca)]
    const validPayload = JSON.parse(Buffer.from(target.valid.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
    const header = fc.oneof(
      { weight: 3, arbitrary: fc.constant({ alg: 'ES256', typ: TYP[target.type], x5c }) },
      fc
        .dictionary(fc.constantFrom('alg', 'typ', 'x5c', 'crit', 'b64', 'kid', 'x5t', 'zip'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
        .map((extra) => ({ alg: 'ES256', typ: TYP[target.type], x5c, ...extra })),
    )
    const payload = fc.oneof(
      // The valid payload with members replaced, removed or added: reaches the claims and the schema.
      fc
        .record({
          drop: fc.subarray(Object.keys(validPayload)),
          add: fc.dictionary(fc.oneof(fc.constantFrom(...Object.keys(validPayload)), fc.string({ maxLength: 6 })), fc.jsonValue({ maxDepth: 3 }), {
            maxKeys: 3,
          }),
        })
        .map(({ drop, add }) => {
          const changed: Record<string, unknown> = { ...validPayload, ...add }
          for (const name of drop) delete changed[name]
          return changed
        }),
      fc.jsonValue({ maxDepth: 4 }),
      fc.string({ maxLength: 64, unit: 'binary' }),
    )
    const counts = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(header, payload, async (protectedHeader, body) => {
        let text: string
        try {
          text = typeof body === 'string' ? body : canonicalJson(body)
        } catch {
          text = JSON.stringify(body) ?? 'null' // not JSON-serializable canonically: send it anyway
        }
        const jws = craft(protectedHeader, text, key)
        tally(counts, await outcomeOf(() => target.verify(jws)))
      }),
      { numRuns: RUNS.signedRandom },
    )
    t.comment(summary(counts))
    t.pass(`${RUNS.signedRandom} signed random inputs answered`)
  })
}

// spec: CW-SIG-003
t.test('found by this fuzzer: an x5c leaf whose public key OpenSSL cannot decode is CW_ERR_X5C_INVALID', async (t) => {
  // A byte of the leaf's EC point changed: the certificate still parses, but the point is off
  // the curve, and node threw a plain "ERR_OSSL_EVP_DECODE_ERROR" from `publicKey` (a 500).
  const header = JSON.parse(Buffer.from(targets[2]!.valid.split('.')[0]!, 'base64url').toString('utf8')) as { x5c: string[] }
  const leaf = Buffer.from(header.x5c[0]!, 'base64')
  const point = leaf.indexOf(Buffer.of(0x03, 0x42, 0x00, 0x04))
  t.ok(point > 0, 'found the uncompressed P-256 point')
  leaf[point + 10]! ^= 0x01
  const x5c = [leaf.toString('base64'), ...header.x5c.slice(1)]
  const jws = craft({ alg: 'ES256', typ: TYP.receipt, x5c }, receipt, da.signing.privateKey)
  await t.rejects(verifyReceipt(jws, { ...clock, audience: 'pd' }), { code: 'CW_ERR_X5C_INVALID', at: 'header.x5c[0]' })
  await t.rejects(verifySigned('receipt', jws, clock), { code: 'CW_ERR_X5C_INVALID', at: 'header.x5c[0]' })
})

// spec: CW-SIG-001, CW-FMT-005
t.test('random strings, base64url triples and non-strings → CW_ERR_MALFORMED or another catalogued code', async (t) => {
  const input = fc.oneof(
    fc.string({ maxLength: 200, unit: 'binary' }),
    fc.stringMatching(/^[A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,90}$/),
    fc
      .tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.uint8Array({ maxLength: 80 }))
      .map(([h, p, s]) => `${b64u(JSON.stringify(h) ?? '')}.${b64u(JSON.stringify(p) ?? '')}.${b64u(s)}`),
    fc.anything(),
  )
  const counts = new Map<string, number>()
  await fc.assert(
    fc.asyncProperty(input, fc.constantFrom(...targets), async (value, target) => {
      const code = await outcomeOf(() => target.verify(value))
      if (code === 'accepted') throw new Error('a random input verified')
      tally(counts, code)
      tally(counts, `verifySigned:${await outcomeOf(() => verifySigned(target.type, value, clock))}`)
    }),
    { numRuns: RUNS.strings },
  )
  t.comment(summary(counts))
  t.pass(`${RUNS.strings} random inputs refused with catalogued codes`)
})

// spec: CW-SIG-014
t.test('the JSON parser: random and mutated bytes → a value or CW_ERR_MALFORMED; JSON round-trips', async (t) => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.json({ maxDepth: 4 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([text, at, noise]) => {
      const encoded = Buffer.from(text, 'utf8')
      const i = encoded.length === 0 ? 0 : at % encoded.length
      return Buffer.concat([encoded.subarray(0, i), noise, encoded.subarray(i + 1)])
    }),
  )
  fc.assert(
    fc.property(bytes, (input) => {
      parseOutcome(() => parseJson(input))
      parseOutcome(() => parseCanonicalJson(input))
    }),
    { numRuns: RUNS.json },
  )
  // Every JSON text JSON.stringify writes (unique names by construction) is read back unchanged.
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      const text = JSON.stringify(value)
      if (JSON.stringify(parseJson(Buffer.from(text, 'utf8'))) !== text) throw new Error(`round trip changed ${text}`)
    }),
    { numRuns: RUNS.json },
  )
  t.pass(`${2 * RUNS.json} byte strings and JSON values`)
})
