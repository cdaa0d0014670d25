/**
 * The refusals group stays in step with the protocol vectors: every negative manifest vector
 * has exactly one recipe (so a new vector without a conformance test fails the build), every
 * recipe names an existing vector, and each test takes its IDs and code from its vector.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createOrgCa } from '#certs'
import { CasewayError, enforceManifest, PROBLEMS, verifyManifest, type ProblemCode } from '#protocol'
import { initHarness } from '../src/harness_dir.ts'
import { HarnessShare } from '../src/shares.ts'
import type { TestContext } from '../src/suite.ts'
import {
  buildRefusal,
  GRANT_CHAIN_RECIPES,
  ISSUER_NOT_PEER,
  MANIFEST_RECIPES,
  ORDER_CASES,
  OVERSIZED_BYTES,
  REFUSAL_TESTS,
  VARIANT_GROUPS,
  variantRecipe,
  vectorTests,
  type Recipe,
} from '../src/tests/refusals.ts'
import { loadVectors, negativeManifestVectors, type ProtocolVector } from '../src/vectors.ts'

const vectors = loadVectors()
const spec = readFileSync(new URL('../../SPEC.md', import.meta.url), 'utf8')
const specIds = new Set([...spec.matchAll(/\*\*(CW-[A-Z]+-\d{3})\*\*/g)].map((match) => match[1]!))

t.test('the vector files load, with problem codes from the catalogue', async (t) => {
  t.ok(vectors.length > 0)
  for (const vector of vectors) t.ok(vector.expected === 'accept' || Object.hasOwn(PROBLEMS, vector.expected), `${vector.id} expects a known code`)
})

t.test('every negative manifest vector has exactly one recipe', async (t) => {
  const negative = negativeManifestVectors(vectors)
  t.ok(negative.length >= 50, `${negative.length} negative manifest vectors`)
  for (const vector of negative) {
    t.ok(Object.hasOwn(MANIFEST_RECIPES, vector.id), `${vector.id} has a manifest recipe`)
    t.notOk(Object.hasOwn(GRANT_CHAIN_RECIPES, vector.id), `${vector.id} has no second recipe`)
  }
})

t.test('every recipe names an existing negative vector of its kind', async (t) => {
  const byId = new Map(vectors.map((vector) => [vector.id, vector]))
  for (const id of Object.keys(MANIFEST_RECIPES)) {
    const vector = byId.get(id)
    t.ok(vector !== undefined && vector.kind === 'manifest' && vector.expected !== 'accept', `${id} is a negative manifest vector`)
  }
  for (const id of Object.keys(GRANT_CHAIN_RECIPES)) {
    const vector = byId.get(id)
    t.ok(vector !== undefined && vector.kind === 'grant-chain' && vector.expected !== 'accept', `${id} is a negative grant-chain vector`)
  }
})

t.test('a vector without a recipe, or a recipe without its vector, fails the build', async (t) => {
  const extra: ProtocolVector = {
    id: 'cw::sig::brand-new-fault',
    name: 'brand-new-fault',
    file: 'sig',
    description: 'new',
    spec: ['CW-SIG-001'],
    kind: 'manifest',
    expected: 'CW_ERR_MALFORMED',
  }
  t.throws(() => vectorTests([...vectors, extra]), /no refusal recipe for cw::sig::brand-new-fault/)
  const withoutOne = vectors.filter((vector) => vector.id !== 'cw::sig::alg-none')
  t.throws(() => vectorTests(withoutOne), /recipe cw::sig::alg-none names no vector/)
})

t.test('vector tests take their IDs and code from the vector file', async (t) => {
  const tests = new Map(REFUSAL_TESTS.map((test) => [test.id, test]))
  for (const vector of vectors) {
    if (!Object.hasOwn(MANIFEST_RECIPES, vector.id) && !Object.hasOwn(GRANT_CHAIN_RECIPES, vector.id)) continue
    const test = tests.get(`refusals.${vector.name}`)
    if (test === undefined) {
      t.fail(`no test refusals.${vector.name}`)
      continue
    }
    for (const id of [...vector.spec, 'CW-FED-001']) t.ok(test.spec.includes(id), `${test.id} cites ${id}`)
    t.match(test.title, vector.expected, `${test.id} names ${vector.expected}`)
  }
})

t.test('refusal tests have unique ids in the group and cite existing requirements', async (t) => {
  const ids = REFUSAL_TESTS.map((test) => test.id)
  t.equal(new Set(ids).size, ids.length, 'ids are unique')
  for (const test of REFUSAL_TESTS) {
    t.equal(test.group, 'refusals')
    t.match(test.id, /^refusals\.[a-z0-9-]+$/)
    t.ok(test.spec.length > 0, `${test.id} cites requirements`)
    for (const id of test.spec) t.ok(specIds.has(id), `${test.id}: ${id} is in SPEC.md`)
  }
})

/**
 * The harness's own check of its recipes: each broken manifest, verified by this repository's
 * protocol library as a receiver would (§8 steps 1–16, then the policy step), fails with the
 * code the test expects, and the valid manifest it was derived from is accepted. So a recipe
 * cannot pass against a target for another reason than its own fault.
 */
t.test('each recipe re-creates its fault: the reference library refuses it with the expected code', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-refusals-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const harness = await initHarness({ dir, endpoint: 'https://127.0.0.1:9443' })
  const targetOrg = 'cw-unit-target'
  const targetCa = await createOrgCa({ org: targetOrg, name: 'Unit target' })
  const targetPem = targetCa.certificate.toString('pem')
  const ctx = {
    harness,
    target: { org: targetOrg, name: 'Unit target', url: 'https://127.0.0.1:1', caPem: targetPem, anchor: { certificate: targetPem, org: targetOrg } },
    listener: { url: 'https://127.0.0.1:9443' },
    newShare: (options?: ConstructorParameters<typeof HarnessShare>[2]) => new HarnessShare(harness, targetOrg, options),
  } as unknown as TestContext
  // What the target pins: the harness (partner) and the auxiliary orgs (trust-only).
  const trustAnchors = [harness.main, ...harness.aux].map((party) => party.anchor)

  async function outcome(jws: string): Promise<string> {
    try {
      enforceManifest(await verifyManifest(jws, { trustAnchors, audience: targetOrg }))
      return 'accept'
    } catch (error) {
      if (error instanceof CasewayError) return error.code
      throw error
    }
  }
  async function expectRefused(label: string, recipe: Recipe, code: ProblemCode | readonly ProblemCode[]): Promise<void> {
    const { share, valid, broken } = await buildRefusal(ctx, recipe)
    t.equal(await outcome(await share.sign(valid)), 'accept', `${label}: the valid manifest is accepted`)
    if (typeof broken !== 'string') {
      t.equal(broken.bytes, OVERSIZED_BYTES, `${label}: streams ${OVERSIZED_BYTES} bytes`)
      return
    }
    const codes: readonly string[] = typeof code === 'string' ? [code] : code
    const result = await outcome(broken)
    t.ok(codes.includes(result), `${label}: ${codes.join(' or ')}`, { found: result })
  }

  const byId = new Map(vectors.map((vector) => [vector.id, vector]))
  for (const [id, recipe] of [...Object.entries(MANIFEST_RECIPES), ...Object.entries(GRANT_CHAIN_RECIPES)]) {
    await expectRefused(id, recipe, byId.get(id)!.expected as ProblemCode)
  }
  for (const [index, { code, recipe }] of ORDER_CASES.entries()) await expectRefused(`order case ${index + 1} (${recipe.note})`, recipe, code)
  for (const group of VARIANT_GROUPS) {
    for (const [note, variant] of Object.entries(group.variants)) await expectRefused(`${group.id}: ${note}`, variantRecipe(note, variant), group.code)
  }
  // Correct as an object: only the receiver's peer check (CW-FED-001) refuses it.
  const peer = await buildRefusal(ctx, ISSUER_NOT_PEER)
  t.equal(await outcome(peer.broken as string), 'accept', 'issuer-not-peer: a valid object; only the connection is wrong')
})
