/**
 * A property-based fuzzer on the federation listener (issue 11, reliability campaign): a real
 * node (SQLite, filesystem blobs, its federation listener on 127.0.0.1 with mutual TLS) gets
 * hostile offers, grants, receipts and revocations from a paired partner — valid objects
 * mutated and re-signed with the partner's real key (so they pass the signature and reach the
 * rules behind it), wrong JSON types, huge numbers, deep nesting, bad JWS segments, wrong
 * content types and truncated bodies. Whatever arrives, the node answers: never a 5xx, never a
 * crash (the listener still answers a valid offer at the end), every refusal a problem document
 * whose code is in the catalogue (protocol/src/errors.ts), and its memory stays bounded.
 *
 * The run count is fixed (`numRuns`), and the seed is printed by fast-check on a failure so the
 * counterexample can be replayed with `seed` and `path`.
 */
import { randomUUID } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import t from 'tap'
import { FEDERATION_PATHS, JOSE_MEDIA_TYPE, PROBLEMS, PROTOCOL_VERSION, signObject, signRevocation, type SignedType } from '#protocol'
import { evidence, nowSeconds, signedManifest, signedReceipt, type SignedManifest } from '../../../testkit/fixtures/manifests.ts'
import { createTestOrgs, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { startTestNode } from '../support/federation_node.ts'
import { mtlsRequest, type Answer, type ClientTls } from '../support/mtls.ts'
import { storeOutbound } from '../support/outbound.ts'

const [alpha, bravo] = (await createTestOrgs(['alpha', 'bravo'])) as [TestOrg, TestOrg]
const RUNS = Number(process.env['CASEWAY_FUZZ_RUNS'] ?? 150)
const MiB = 1 << 20
/**
 * How much the node's live memory (JavaScript heap and buffers after a full collection) may grow
 * over the measured runs: a leak of a few hundred KiB per request would show far above it.
 * Resident memory is not the measure: verification workers, code caches and the allocator's
 * free lists grow it once, and by how much depends on the machine's load.
 */
const LIVE_GROWTH_LIMIT = 64 * MiB
/** Requests sent before measuring, so workers, caches and JIT are warm. */
const WARM_UP_RUNS = 30
/** A full garbage collection, without starting the test with `--expose-gc`. */
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

function liveMemory(): number {
  collectGarbage()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external + usage.arrayBuffers
}

const ENDPOINTS = {
  offer: FEDERATION_PATHS.offers,
  receipt: FEDERATION_PATHS.receipts,
  revocation: FEDERATION_PATHS.revocations,
} as const
type Endpoint = keyof typeof ENDPOINTS

/** A hostile request: where it goes, its content type and its body. */
interface HostileRequest {
  endpoint: Endpoint
  contentType: string | undefined
  body: string | Buffer
  /** How it was made, for the failure message. */
  label: string
}

function decode(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>
}
function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/** A JSON value nested `depth` levels deep (arrays or objects). */
function nested(depth: number, asObject: boolean): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value]
  return value
}

/** Values of the wrong kind, or the right kind at the edges. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    true,
    -1,
    0,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 64,
    1.5,
    '',
    '\u0000',
    '\u202e',
    '../../etc/passwd',
    'x'.repeat(70_000),
    [],
    {},
    { __proto__: { polluted: true } },
    { constructor: { prototype: { polluted: true } } },
  ),
  fc.integer({ min: 1, max: 400 }).map((depth) => nested(depth, depth % 2 === 0)),
  fc.bigInt({ min: 10n ** 20n, max: 10n ** 400n }).map((n) => JSON.parse(n.toString()) as number),
)

/** A path into a JSON object: keys the objects actually have, or new ones. */
function mutateAt(payload: Record<string, unknown>, keys: readonly string[], value: unknown, remove: boolean): Record<string, unknown> {
  const copy = structuredClone(payload)
  let target: Record<string, unknown> = copy
  for (let i = 0; i < keys.length - 1; i++) {
    const next = target[keys[i]!]
    if (typeof next !== 'object' || next === null) break
    target = next as Record<string, unknown>
  }
  const last = keys[keys.length - 1]!
  if (remove) delete target[last]
  else target[last] = value
  return copy
}

interface Valid {
  endpoint: Endpoint
  type: SignedType
  jws: string
}

async function signedAnyway(type: SignedType, payload: Record<string, unknown>, jws: string): Promise<string> {
  try {
    return await signObject(type, payload, alpha.signer)
  } catch {
    // signObject refuses what cannot be canonicalized: send it with the old signature instead.
    const [header, , signature] = jws.split('.') as [string, string, string]
    return `${header}.${encode(payload)}.${signature}`
  }
}

function hostileRequests(valid: readonly Valid[]): fc.Arbitrary<() => Promise<HostileRequest>> {
  const base = fc.constantFrom(...valid)
  const keyName = fc.oneof(
    fc.constantFrom('cwv', 'iss', 'aud', 'iat', 'exp', 'jti', 'share', 'revision', 'manifest', 'status', 'revokedAt', 'evidence', 'grants', 'case'),
    fc.constantFrom('id', 'revision', 'scope', 'live', 'recipients', 'previous', 'fields', 'folders', 'chunks', 'size', 'digest', 'chunkSize'),
    fc.string({ maxLength: 8 }),
  )
  const reSigned = fc
    .record({ base, keys: fc.array(keyName, { minLength: 1, maxLength: 3 }), value: hostileValue, remove: fc.boolean() })
    .map(({ base, keys, value, remove }) => async (): Promise<HostileRequest> => {
      const payload = decode(base.jws.split('.')[1]!)
      const mutated = mutateAt(payload, keys, value, remove)
      return {
        endpoint: base.endpoint,
        contentType: JOSE_MEDIA_TYPE,
        body: await signedAnyway(base.type, mutated, base.jws),
        label: `re-signed ${base.type} ${keys.join('.')}`,
      }
    })
  // A grant in the manifest's chain, mutated and re-signed: the manifest around it is signed too.
  const hostileGrant = fc
    .record({
      keys: fc.array(keyName, { minLength: 1, maxLength: 2 }),
      value: hostileValue,
      remove: fc.boolean(),
      raw: fc.option(fc.string({ maxLength: 200 })),
    })
    .map(({ keys, value, remove, raw }) => async (): Promise<HostileRequest> => {
      const offer = valid.find((v) => v.endpoint === 'offer')!
      const manifest = decode(offer.jws.split('.')[1]!)
      const grant = (manifest['grants'] as string[])[0]!
      const grantJws = raw ?? (await signedAnyway('grant', mutateAt(decode(grant.split('.')[1]!), keys, value, remove), grant))
      const body = await signedAnyway('manifest', { ...manifest, grants: [grantJws] }, offer.jws)
      return { endpoint: 'offer', contentType: JOSE_MEDIA_TYPE, body, label: `grant ${raw === null ? keys.join('.') : 'raw'}` }
    })
  // The JWS itself broken: segments replaced, added, dropped, headers changed.
  const badSegments = fc
    .record({
      base,
      segment: fc.integer({ min: 0, max: 2 }),
      replacement: fc.oneof(
        fc.string({ maxLength: 64 }),
        fc.base64String({ maxLength: 64 }),
        hostileValue.map((v) => encode(v)),
        fc.constantFrom(
          '',
          '=',
          '====',
          '!!',
          'eyJ',
          encode({ alg: 'none', typ: 'caseway-manifest+jwt' }),
          encode({ alg: 'HS256' }),
          encode({ alg: 'ES256', crit: ['x'] }),
        ),
      ),
      extra: fc.constantFrom(0, 1, -1),
    })
    .map(({ base, segment, replacement, extra }) => async (): Promise<HostileRequest> => {
      const parts = base.jws.split('.')
      parts[segment] = replacement
      if (extra === 1) parts.push('AAAA')
      if (extra === -1) parts.pop()
      return { endpoint: base.endpoint, contentType: JOSE_MEDIA_TYPE, body: parts.join('.'), label: `segment ${segment} (${extra})` }
    })
  const wrongContentType = fc
    .record({
      base,
      contentType: fc.constantFrom(
        undefined,
        'application/json',
        'text/plain',
        'application/jose; charset=utf-16',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
        '',
        'application/jose+json',
      ),
    })
    .map(({ base, contentType }) => async (): Promise<HostileRequest> => ({
      endpoint: base.endpoint,
      contentType,
      body: base.jws,
      label: `content type ${String(contentType)}`,
    }))
  const truncated = fc.record({ base, at: fc.nat() }).map(({ base, at }) => async (): Promise<HostileRequest> => ({
    endpoint: base.endpoint,
    contentType: JOSE_MEDIA_TYPE,
    body: base.jws.slice(0, at % base.jws.length),
    label: `truncated at ${at % base.jws.length}`,
  }))
  const garbage = fc
    .record({ endpoint: fc.constantFrom<Endpoint>('offer', 'receipt', 'revocation'), bytes: fc.uint8Array({ maxLength: 512 }) })
    .map(({ endpoint, bytes }) => async (): Promise<HostileRequest> => ({
      endpoint,
      contentType: JOSE_MEDIA_TYPE,
      body: Buffer.from(bytes),
      label: 'random bytes',
    }))
  return fc.oneof(
    { arbitrary: reSigned, weight: 5 },
    { arbitrary: hostileGrant, weight: 2 },
    { arbitrary: badSegments, weight: 3 },
    { arbitrary: wrongContentType, weight: 1 },
    { arbitrary: truncated, weight: 2 },
    { arbitrary: garbage, weight: 1 },
  )
}

const CATALOGUE = new Set(Object.keys(PROBLEMS))

/** The property every answer must have: not a 5xx; a refusal is a problem document with a catalogue code. */
function checkAnswer(request: HostileRequest, answer: Answer): void {
  const where = `${request.endpoint} (${request.label}): ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`
  if (answer.status >= 500) throw new Error(`5xx for ${where}`)
  if (answer.status < 400) return
  if (!String(answer.headers['content-type']).startsWith('application/problem+json')) throw new Error(`not a problem document: ${where}`)
  const problem = answer.json()
  if (typeof problem['code'] !== 'string' || !CATALOGUE.has(problem['code'])) throw new Error(`code not in the catalogue: ${where}`)
  if (problem['status'] !== answer.status) throw new Error(`problem status differs from the HTTP status: ${where}`)
}

// spec: CW-FED-002, CW-FED-011, CW-ERR-001, CW-ERR-002
t.test('hostile offers, grants, receipts and revocations: never a 5xx, always a catalogued problem, memory bounded', { timeout: 600_000 }, async (t) => {
  const node = await startTestNode(t, bravo, { limits: { rateLimit: { federationPerMinute: 0, federationPerSecond: 0, localPerMinute: 0 } } })
  await node.addPartner(alpha)
  const tls: ClientTls = { ca: bravo.caPem, cert: alpha.identity.tls.cert, key: alpha.identity.tls.key }
  const send = (request: HostileRequest): Promise<Answer> =>
    mtlsRequest(`${node.url}${ENDPOINTS[request.endpoint]}`, tls, {
      method: 'POST',
      headers: request.contentType === undefined ? {} : { 'content-type': request.contentType },
      body: request.body,
    })

  // Valid objects of each kind, with a share of bravo's for the receipt and the revocation to name.
  const item = await evidence('e1', 5000)
  const offer = await signedManifest(alpha, 'bravo', { items: [item.item] })
  const outbound: SignedManifest = await signedManifest(bravo, 'alpha', { items: [item.item] })
  await storeOutbound(node.store, node.blobs, outbound, [item])
  const receipt = await signedReceipt(alpha, outbound)
  const iat = nowSeconds()
  const revocation = await signRevocation(
    { cwv: PROTOCOL_VERSION, iss: 'alpha', aud: 'bravo', iat, exp: iat + 3600, jti: randomUUID(), share: offer.manifest.share.id, revokedAt: iat },
    alpha.signer,
  )
  const valid: Valid[] = [
    { endpoint: 'offer', type: 'manifest', jws: offer.jws },
    { endpoint: 'receipt', type: 'receipt', jws: receipt },
    { endpoint: 'revocation', type: 'revocation', jws: revocation },
  ]

  const answered = new Map<number, number>()
  const hostileRuns = (numRuns: number) =>
    fc.assert(
      fc.asyncProperty(hostileRequests(valid), async (make) => {
        const request = await make()
        const answer = await send(request)
        answered.set(answer.status, (answered.get(answer.status) ?? 0) + 1)
        checkAnswer(request, answer)
      }),
      { numRuns },
    )
  await hostileRuns(WARM_UP_RUNS)
  const liveBefore = liveMemory()
  await hostileRuns(RUNS)
  const liveAfter = liveMemory()
  t.comment(
    `answers by status: ${JSON.stringify(Object.fromEntries(answered))}; live memory ${Math.round(liveBefore / MiB)} → ${Math.round(liveAfter / MiB)} MiB`,
  )
  t.ok(liveAfter - liveBefore < LIVE_GROWTH_LIMIT, `live memory grew by less than ${LIVE_GROWTH_LIMIT / MiB} MiB over ${RUNS} hostile requests`)

  // Still alive and still right: a valid offer is accepted after all that.
  const fresh = await signedManifest(alpha, 'bravo', { items: [item.item] })
  const accepted = await send({ endpoint: 'offer', contentType: JOSE_MEDIA_TYPE, body: fresh.jws, label: 'valid' })
  t.equal(accepted.status, 202, 'the listener still accepts a valid offer')
  t.ok(await node.store.inboundShares.find('alpha', fresh.manifest.share.id), 'and stored it')
})
