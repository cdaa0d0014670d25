/**
 * The mutation check's machinery (conformance/mutation): the edit rules, the loader hook in a
 * real Node.js process, and the fault list against the current sources, SPEC.md and the suite.
 * Fast: no node is started (`npm run conformance:mutation` does that).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { editsOf, testsForFault } from './mutation/fault.ts'
import { FAULTS } from './mutation/faults.ts'
import { applyEdit, checkMutationOnDisk, MUTATION_ENV, parseMutation, REPO_ROOT } from './mutation/mutation.ts'
import { mutationEnv, REGISTER_FILE } from './mutation/run_mutations.ts'
import { parseRequirements } from '../../conformance/tools/spec_coverage.ts'

const AREAS = ['CW-TLS', 'CW-ID', 'CW-TRUST', 'CW-FMT', 'CW-SIG', 'CW-VER', 'CW-POL', 'CW-MAN', 'CW-PROV', 'CW-REC', 'CW-REV', 'CW-REVN', 'CW-ERR', 'CW-FED']

t.test('an edit applies only where its text occurs exactly once', async (t) => {
  const edit = { file: 'protocol/src/x.ts', find: 'a === b', replace: 'true' }
  t.equal(applyEdit('if (a === b) go()', edit), 'if (true) go()')
  t.throws(() => applyEdit('if (a !== b) go()', edit), /occurs 0 times/)
  t.throws(() => applyEdit('a === b && a === b', edit), /occurs 2 times/)
})

t.test('a mutation names files under node/src or protocol/src only', async (t) => {
  t.same(parseMutation('{"file":"node/src/a.ts","find":"x","replace":"y"}'), { edits: [{ file: 'node/src/a.ts', find: 'x', replace: 'y' }] })
  const two = parseMutation(
    JSON.stringify({
      edits: [
        { file: 'protocol/src/a.ts', find: 'x', replace: 'y' },
        { file: 'node/src/b.ts', find: 'p', replace: '' },
      ],
      marker: '/tmp/m',
    }),
  )
  t.equal(two.edits.length, 2)
  t.equal(two.marker, '/tmp/m')
  for (const file of ['cli/main.ts', '/work/main/node/src/a.ts', 'node/src/../../cli/main.ts', 'node/src/a.js', 'conformance/src/run.ts']) {
    t.throws(() => parseMutation(JSON.stringify({ file, find: 'x', replace: 'y' })), /file must be/, file)
  }
  t.throws(() => parseMutation('{"file":"node/src/a.ts","find":"","replace":"y"}'), /find is empty/)
  t.throws(() => parseMutation('{"file":"node/src/a.ts","find":"x","replace":"x"}'), /no mutation/)
  t.throws(() => parseMutation('{"edits":[]}'), /non-empty/)
  t.throws(() => parseMutation('{"file":"node/src/a.ts","find":"x","replace":"y","marker":"relative"}'), /absolute/)
  t.throws(() => parseMutation('not json'), /not JSON/)
})

/** Runs a module-typed script in a fresh Node.js with the runner's environment for `mutation`. */
function runWith(env: Record<string, string>, script: string) {
  const clean = { ...process.env }
  delete clean.NODE_OPTIONS
  delete clean[MUTATION_ENV]
  return spawnSync(process.execPath, ['--input-type=module', '--eval', script], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 })
}

const ERRORS_URL = pathToFileURL(join(REPO_ROOT, 'protocol/src/errors.ts')).href
const PRINT_TYPE = `const m = await import(${JSON.stringify(ERRORS_URL)}); console.log(m.problemType('CW_ERR_REPLAY'))`
const KEBAB = "return PROBLEM_TYPE_BASE + code.slice('CW_ERR_'.length).toLowerCase().replaceAll('_', '-')"

t.test('the loader hook mutates the named TypeScript file as the process loads it, and says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'caseway-mutation-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const marker = join(dir, 'applied')
  const edit = { file: 'protocol/src/errors.ts', find: KEBAB, replace: "return 'mutated:' + code" }
  const mutated = runWith(mutationEnv({ edits: [edit], marker }), PRINT_TYPE)
  t.equal(mutated.status, 0, mutated.stderr)
  t.equal(mutated.stdout.trim(), 'mutated:CW_ERR_REPLAY')
  t.equal(readFileSync(marker, 'utf8'), 'protocol/src/errors.ts\n', 'the marker names the file')

  const plain = runWith({ NODE_OPTIONS: `--import ${pathToFileURL(REGISTER_FILE).href}` }, PRINT_TYPE)
  t.equal(plain.status, 0, plain.stderr)
  t.equal(plain.stdout.trim(), 'urn:caseway:problem:replay', 'without CASEWAY_MUTATION the hook changes nothing')
})

t.test('a mutation whose text does not occur exactly once stops the process before it runs', async (t) => {
  for (const find of ['no such text anywhere', "family: 'verification'"]) {
    const result = runWith(mutationEnv({ edits: [{ file: 'protocol/src/errors.ts', find, replace: 'x' }] }), PRINT_TYPE)
    t.not(result.status, 0, `${JSON.stringify(find)}: exit status`)
    t.equal(result.stdout, '', `${JSON.stringify(find)}: the script never ran`)
    t.match(result.stderr, /expected exactly once/)
  }
})

t.test('the fault list: enough faults, every area, every edit applies to the current sources', async (t) => {
  t.ok(FAULTS.length >= 25, `${FAULTS.length} faults`)
  const ids = FAULTS.map((fault) => fault.id)
  t.same(
    ids.filter((id, index) => ids.indexOf(id) !== index),
    [],
    'fault ids are unique',
  )
  const known = new Set(parseRequirements(readFileSync(join(REPO_ROOT, 'SPEC.md'), 'utf8')).map((requirement) => requirement.id))
  for (const area of AREAS)
    t.ok(
      FAULTS.some((fault) => fault.spec.some((id) => id.startsWith(`${area}-`))),
      `a fault breaks a ${area} rule`,
    )
  for (const fault of FAULTS) {
    t.match(fault.id, /^[a-z0-9]+(?:-[a-z0-9]+)*$/, `${fault.id}: kebab-case id`)
    t.ok(fault.spec.length > 0 && fault.spec.every((id) => known.has(id)), `${fault.id}: cites requirements SPEC.md defines (${fault.spec.join(', ')})`)
    t.doesNotThrow(() => checkMutationOnDisk({ edits: editsOf(fault) }), `${fault.id}: each find text occurs exactly once`)
  }
})

t.test('every fault is checked by at least one conformance test', async (t) => {
  for (const fault of FAULTS) {
    let tests: string[] = []
    t.doesNotThrow(() => (tests = testsForFault(fault).map((test) => test.id)), `${fault.id}: its tests exist`)
    t.ok(tests.length > 0, `${fault.id}: selects ${tests.length} tests`)
  }
})

t.test('no production code reads the mutation variable', async (t) => {
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? sources(path) : /\.(?:ts|js)$/.test(name) ? [path] : []
    })
  for (const dir of ['node/src', 'protocol/src', 'certs/src', 'cli', 'bin']) {
    for (const file of sources(join(REPO_ROOT, dir)))
      t.notMatch(readFileSync(file, 'utf8'), MUTATION_ENV, `${file.slice(REPO_ROOT.length)} does not name ${MUTATION_ENV}`)
  }
})
