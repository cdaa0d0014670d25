/**
 * Checks used by the conformance tests. A failed check throws {@link CheckFailure} with the
 * request, the expected and the observed result; the runner reports it against the test's
 * requirement IDs.
 *
 * @module
 */
import { PROBLEMS, problemType, type ProblemCode, type ProblemDocument } from '#protocol'
import { describeExchange, type Exchange, type RequestRecord, type TransportFailure } from './exchange.ts'

export class CheckFailure extends Error {
  readonly expected: string
  readonly observed: string
  readonly request: RequestRecord | undefined
  constructor(expected: string, observed: string, request?: RequestRecord) {
    super(`expected ${expected}; observed ${observed}`)
    this.name = 'CheckFailure'
    this.expected = expected
    this.observed = observed
    this.request = request
  }
}

/** Fails the running test. */
export function fail(expected: string, observed: string, request?: RequestRecord): never {
  throw new CheckFailure(expected, observed, request)
}

/** Fails unless `condition` holds. */
export function check(condition: boolean, expected: string, observed: string, request?: RequestRecord): asserts condition {
  if (!condition) fail(expected, observed, request)
}

/** The answer must have been received (not a transport failure) with one of `statuses`. */
export function expectStatus(answer: Exchange | TransportFailure, statuses: readonly number[], what = ''): Exchange {
  if (!('status' in answer)) fail(`HTTP ${statuses.join(' or ')}${what ? ` ${what}` : ''}`, `no HTTP answer: ${answer.code} ${answer.message}`, answer.request)
  if (!statuses.includes(answer.status)) fail(`HTTP ${statuses.join(' or ')}${what ? ` ${what}` : ''}`, describeExchange(answer), answer.request)
  return answer
}

/** The answer's JSON body (fails when it is not JSON). */
export function jsonOf(answer: Exchange): unknown {
  try {
    return JSON.parse(answer.text)
  } catch {
    fail('a JSON body', describeExchange(answer), answer.request)
  }
}

/**
 * The answer must be the refusal `code`: the status the catalogue gives it, media type
 * `application/problem+json`, a problem document with every required member, the stable
 * `type` for the code, and no stack trace (CW-ERR-001, CW-ERR-002).
 */
export function expectProblem(answer: Exchange | TransportFailure, code: ProblemCode | readonly ProblemCode[]): ProblemDocument {
  const codes = typeof code === 'string' ? [code] : code
  const expected = codes.map((one) => `${PROBLEMS[one].status} ${one}`).join(' or ')
  if (!('status' in answer)) fail(expected, `no HTTP answer: ${answer.code} ${answer.message}`, answer.request)
  const observed = describeExchange(answer)
  const type = answer.headers['content-type'] ?? ''
  check(type.startsWith('application/problem+json'), `${expected} as application/problem+json`, observed, answer.request)
  const body = jsonOf(answer) as Partial<ProblemDocument> & Record<string, unknown>
  check(typeof body === 'object' && body !== null, `${expected} (a problem document)`, observed, answer.request)
  check(typeof body.code === 'string' && (codes as readonly string[]).includes(body.code), expected, observed, answer.request)
  const actual = body.code as ProblemCode
  check(
    answer.status === PROBLEMS[actual].status && body.status === answer.status,
    `${expected} (status ${PROBLEMS[actual].status} in the answer and the document)`,
    observed,
    answer.request,
  )
  check(body.type === problemType(actual), `type ${problemType(actual)}`, observed, answer.request)
  for (const member of ['title', 'detail'] as const) {
    check(typeof body[member] === 'string', `a problem document with "${member}"`, observed, answer.request)
  }
  check(!/\n\s+at .+\(.*:\d+:\d+\)|node:internal|\.ts:\d+:\d+/.test(answer.text), 'no stack trace in a problem document', observed, answer.request)
  return body as ProblemDocument
}

/** Fails unless `value` validates with `assert` (a protocol schema assertion). */
export function expectShape<T>(value: unknown, assert: (value: unknown) => asserts value is T, what: string, request?: RequestRecord): T {
  try {
    assert(value)
  } catch (error) {
    fail(what, `${JSON.stringify(value)?.slice(0, 300)} (${error instanceof Error ? error.message : String(error)})`, request)
  }
  return value as T
}
