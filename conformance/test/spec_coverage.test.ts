/**
 * The coverage tool (`npm run spec:coverage`) on SPEC.md and on small samples: what counts as
 * a MUST, which tests cite what, and that the conformance suite cites only IDs SPEC.md defines.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ALL_TESTS } from '../src/all_tests.ts'
import type { ConformanceTest } from '../src/suite.ts'
import { coverage, coverageReport, mustsOf, parseRequirements, REPO_ROOT, unitCitations } from '../tools/spec_coverage.ts'

const SPEC = readFileSync(join(REPO_ROOT, 'SPEC.md'), 'utf8')

/** Sample IDs, built so that no literal made-up ID appears in this file (test/spec/requirement-ids.test.ts). */
const id = (n: number) => ['CW', 'AAA', String(n).padStart(3, '0')].join('-')

const SAMPLE = `## 1. Sample

- **${id(1)}** (*wire*) A node MUST answer. It
  continues on this line.
- **${id(2)}** (*local*) A node SHOULD log; it MAY rotate.
- **${id(3)}** (*wire*) *withdrawn* A node MUST NOT do this any more.
- **${id(4)}** (*local*) Keys SHALL NOT leave the node.

Not part of an item: MUST.
- **${id(5)}** (*wire*) The header is REQUIRED.
| ${id(6)} | a table row MUST not count |
`

function fakeTest(id: string, spec: string[]): ConformanceTest {
  return { id, title: id, group: 'transport', spec, run: async () => {} }
}

t.test('items run to the next item or blank line; MUST, SHALL NOT and REQUIRED are normative', async (t) => {
  const requirements = parseRequirements(SAMPLE)
  t.same(
    requirements.map((r) => r.id),
    [id(1), id(2), id(3), id(4), id(5)],
  )
  t.match(requirements[0]!.text, /continues on this line/, 'a continuation line belongs to its item')
  t.notMatch(requirements[3]!.text, /Not part of an item/, 'a blank line ends the item')
  t.same(
    requirements.map((r) => r.must),
    [true, false, true, true, true],
  )
  t.same(
    requirements.map((r) => r.tag),
    ['wire', 'local', 'wire', 'local', 'wire'],
  )
  t.same(
    mustsOf(requirements).map((r) => r.id),
    [id(1), id(4), id(5)],
    'withdrawn and SHOULD-only items are not MUSTs',
  )
})

t.test('only conformance tests cover a wire MUST; unit tests are listed but do not count for it', async (t) => {
  const requirements = parseRequirements(SAMPLE)
  const result = coverage(requirements, [fakeTest('transport.a', [id(1)]), fakeTest('transport.b', [id(1), id(4)])], new Map([[id(5), ['x/test/a.test.ts']]]))
  t.same(result.summary, { musts: 3, wire_observable: 2, untested_wire_observable: 1 })
  t.same(result.entries[0]!.conformance, ['transport.a', 'transport.b'])
  t.same(result.entries[2]!.unit, ['x/test/a.test.ts'])
  const lines = coverageReport(result).split('\n')
  t.same(JSON.parse(lines.at(-1)!), result.summary, 'the last line is the summary JSON')
  t.ok(
    lines.some((line) => line.startsWith(`  ${id(5)}`)),
    'the wire MUST with unit tests only is listed as lacking a conformance test',
  )
})

t.test('SPEC.md parses into the requirements the ID test knows', async (t) => {
  const requirements = parseRequirements(SPEC)
  const defined = [...SPEC.matchAll(/^- \*\*(CW-[A-Z]+-\d{3})\*\*/gm)].map((m) => m[1]!)
  t.same(
    requirements.map((r) => r.id),
    defined,
    'every ID’d item, in order',
  )
  const musts = mustsOf(requirements)
  t.ok(musts.length > 50, `${musts.length} MUSTs`)
  t.ok(
    musts.some((r) => r.id === 'CW-SIG-002' && r.tag === 'wire'),
    'CW-SIG-002 is a wire MUST',
  )
  t.ok(
    musts.some((r) => r.id === 'CW-ID-005' && r.tag === 'local'),
    'CW-ID-005 is a local MUST',
  )
})

t.test('every ID a conformance test cites is defined in SPEC.md', async (t) => {
  const known = new Set(parseRequirements(SPEC).map((r) => r.id))
  t.ok(ALL_TESTS.length > 0, 'the suite has tests')
  for (const test of ALL_TESTS) {
    t.ok(test.spec.length > 0, `${test.id} cites at least one requirement`)
    for (const id of test.spec) t.ok(known.has(id), `${test.id} cites ${id}`)
  }
})

t.test('test ids are unique and name their group, so --only and reports are unambiguous', async (t) => {
  const ids = ALL_TESTS.map((test) => test.id)
  t.equal(new Set(ids).size, ids.length, 'no id twice')
  for (const test of ALL_TESTS) t.ok(test.id.startsWith(`${test.group}.`), `${test.id} is in group ${test.group}`)
})

t.test('every wire-observable MUST of SPEC.md is checked by a conformance test', async (t) => {
  const result = coverage(parseRequirements(SPEC), ALL_TESTS, unitCitations())
  const untested = result.entries.filter((entry) => entry.requirement.tag === 'wire' && entry.conformance.length === 0).map((entry) => entry.requirement.id)
  t.same(untested, [], 'wire MUSTs without a conformance test')
  t.equal(result.summary.untested_wire_observable, 0)
})

t.test('unit test citations are read from // spec: comments', async (t) => {
  const cited = unitCitations()
  t.ok(
    (cited.get('CW-SIG-002') ?? []).some((file) => file.startsWith('protocol/test/')),
    'CW-SIG-002 is cited by a protocol unit test',
  )
})
