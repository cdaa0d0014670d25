/**
 * The committed test vectors (`protocol/vectors/`): every file matches `vectors.schema.json`,
 * ids are unique and namespaced by file, codes and requirement IDs exist, and this library
 * gives every vector its expected result.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { PROBLEMS } from '../src/errors.ts'
import { mismatch, readVectorFile, runVector, VECTOR_DIR, vectorFiles, type VectorFile } from '../tools/run-vectors.ts'

// ajv-formats is CommonJS; its function is the default export or the module itself.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020
const ajv = addFormats(new Ajv2020({ strict: true, strictRequired: false, allErrors: true }))
const validate = ajv.compile(JSON.parse(await readFile(new URL('vectors.schema.json', VECTOR_DIR), 'utf8')) as object)
const spec = await readFile(new URL('../../SPEC.md', import.meta.url), 'utf8')
const names = await vectorFiles()
const files = new Map<string, VectorFile>()
for (const name of names) files.set(name, await readVectorFile(name))

t.test('every vector file matches vectors.schema.json and is named after its namespace', async (t) => {
  t.ok(names.length >= 5, `${names.length} vector files`)
  for (const [name, file] of files) {
    t.ok(validate(file), `${name} is valid`, { errors: validate.errors })
    t.equal(`${file.name}.json`, name, `${name}: name matches the file`)
    for (const vector of file.vectors) t.ok(vector.id.startsWith(`cw::${file.name}::`), `${vector.id} is in namespace ${file.name}`)
  }
})

t.test('the schema refuses a malformed vector', async (t) => {
  const file = structuredClone(files.values().next().value!)
  const vector = file.vectors[0]!
  t.notOk(validate({ ...file, vectors: [{ ...vector, expected: 'nope' }] }), 'an expected value that is neither accept nor a code')
  t.notOk(validate({ ...file, vectors: [{ ...vector, kind: 'grant-chain', input: 'a.b.c' }] }), 'a grant chain without issuer and array input')
  t.notOk(validate({ ...file, vectors: [{ ...vector, validationTime: 'yesterday' }] }), 'a validation time that is not a date-time')
  t.notOk(validate({ ...file, vectors: [{ ...vector, extra: 1 }] }), 'an unknown property')
})

t.test('vector ids are unique across files', async (t) => {
  const ids = [...files.values()].flatMap((file) => file.vectors.map((vector) => vector.id))
  t.equal(new Set(ids).size, ids.length)
})

t.test('expected codes are in the catalogue and requirement IDs are in SPEC.md', async (t) => {
  for (const file of files.values()) {
    for (const vector of file.vectors) {
      if (vector.expected !== 'accept') t.ok(Object.hasOwn(PROBLEMS, vector.expected), `${vector.id}: ${vector.expected} is a problem code`)
      for (const id of vector.spec) t.ok(spec.includes(`**${id}**`), `${vector.id}: ${id} is defined in SPEC.md`)
    }
  }
})

t.test('the required cases are covered', async (t) => {
  const ids = new Set([...files.values()].flatMap((file) => file.vectors.map((vector) => vector.id)))
  const required = [
    'cw::valid::manifest-direct',
    'cw::valid::manifest-onward-depth-3',
    'cw::valid::receipt-delivered',
    'cw::valid::receipt-rejected',
    'cw::valid::revocation',
    'cw::sig::alg-none',
    'cw::sig::alg-hs256-public-key',
    'cw::sig::alg-rs256',
    'cw::sig::x5c-missing',
    'cw::sig::x5c-other-key',
    'cw::cert::untrusted-ca',
    'cw::cert::signing-cert-expired',
    'cw::cert::signing-cert-not-yet-valid',
    'cw::cert::tls-cert-signs',
    'cw::claims::iss-not-signer-org',
    'cw::claims::wrong-audience',
    'cw::claims::expired',
    'cw::sig::payload-tampered',
    'cw::sig::crit-unknown',
    'cw::sig::typ-receipt-as-manifest',
    'cw::claims::cwv-unsupported',
    'cw::schema::extra-property',
    'cw::schema::wrong-type',
    'cw::schema::recipients-over-max-items',
    'cw::sig::oversized',
    'cw::policy::category-not-allowed',
    'cw::policy::do-not-disclose',
    'cw::prov::widened-permission',
    'cw::prov::link-parent-digest',
    'cw::prov::evidence-added-onward',
    'cw::prov::depth-exceeded',
    'cw::prov::partner-not-allowed',
    'cw::valid::manifest-0-2-shared-by',
    'cw::schema::manifest-0-1-with-shared-by',
    'cw::prov::widened-add-recipients',
    'cw::valid::manifest-onward-add-recipients-kept',
    'cw::valid::manifest-0-2-with-0-1-grants',
    'cw::valid::manifest-onward-mixed-grant-versions',
  ]
  for (const id of required) t.ok(ids.has(id), id)
})

// spec: CW-SIG-001, CW-SIG-002, CW-SIG-003, CW-SIG-004, CW-SIG-005, CW-SIG-006, CW-SIG-007, CW-SIG-008, CW-SIG-009, CW-SIG-010, CW-SIG-011, CW-SIG-013, CW-VER-001, CW-FMT-004, CW-FMT-005, CW-MAN-001, CW-MAN-002, CW-POL-003, CW-POL-004, CW-POL-005, CW-PROV-001, CW-PROV-002, CW-PROV-003, CW-PROV-004, CW-PROV-005, CW-PROV-006, CW-PROV-007, CW-PROV-008, CW-PROV-009, CW-REC-001, CW-REV-001, CW-MAN-005, CW-POL-008, CW-POL-009, CW-VER-005
t.test('the library gives every vector its expected result', async (t) => {
  for (const [name, file] of files) {
    await t.test(name, async (t) => {
      for (const vector of file.vectors) {
        const problem = mismatch(vector, await runVector(vector))
        t.equal(problem, '', `${vector.id} → ${vector.expected}`)
      }
    })
  }
})
