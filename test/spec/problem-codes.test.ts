/**
 * SPEC.md and the code must agree: the problem-code table lists exactly the catalogue in
 * protocol/src/errors.ts, with the same status and family (fastify's errors-doc test, both ways).
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { PROBLEMS, problemType, toProblem, VerificationError, PolicyError, CasewayError, type ProblemCode } from '#protocol'

const spec = readFileSync(new URL('../../SPEC.md', import.meta.url), 'utf8')
const table = new Map<string, { status: number; family: string }>()
for (const match of spec.matchAll(/^\| `(CW_ERR_[A-Z0-9_]+)` \| (\d{3}) \| (\w+) \|/gm)) {
  table.set(match[1]!, { status: Number(match[2]), family: match[3]! })
}

// spec: CW-ERR-002
t.test('every catalogued code is in the SPEC table with its status and family', async (t) => {
  for (const [code, definition] of Object.entries(PROBLEMS)) {
    t.same(table.get(code), { status: definition.status, family: definition.family }, code)
  }
})

// spec: CW-ERR-002
t.test('every code in the SPEC table is catalogued', async (t) => {
  for (const code of table.keys()) t.ok(code in PROBLEMS, `${code} is in protocol/src/errors.ts`)
  t.ok(table.size > 0, 'the table was found')
})

// spec: CW-ERR-001
t.test('a problem document has type, title, status, detail and code, and no stack', async (t) => {
  const error = new VerificationError('CW_ERR_SIGNATURE_INVALID', 'signature does not verify', { at: 'signature' })
  const problem = toProblem(error, '/federation/offers')
  t.same(problem, {
    type: 'urn:caseway:problem:signature-invalid',
    title: 'Signature does not verify',
    status: 422,
    detail: 'signature does not verify',
    code: 'CW_ERR_SIGNATURE_INVALID',
    at: 'signature',
    instance: '/federation/offers',
  })
  t.notMatch(JSON.stringify(problem), /at .*\.ts:\d+/, 'no stack frames')
})

// spec: CW-ERR-001
t.test('problem types are derived from the code', async (t) => {
  const codes = Object.keys(PROBLEMS) as ProblemCode[]
  const types = new Set(codes.map(problemType))
  t.equal(types.size, codes.length, 'one type per code')
  t.equal(problemType('CW_ERR_CHAIN_DEPTH_EXCEEDED'), 'urn:caseway:problem:chain-depth-exceeded')
})

t.test('the two error families are told apart by code, across module copies', async (t) => {
  const verification = new VerificationError('CW_ERR_EXPIRED', 'expired')
  const policy = new PolicyError('CW_ERR_POLICY_WIDENED', 'widened')
  t.ok(verification instanceof CasewayError)
  t.ok(verification instanceof VerificationError)
  t.notOk(verification instanceof PolicyError)
  t.ok(policy instanceof PolicyError)
  t.notOk(policy instanceof VerificationError)
  t.notOk(new Error('x') instanceof CasewayError)
})
