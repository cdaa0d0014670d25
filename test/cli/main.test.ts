import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import t from 'tap'
import { BIN, caseway, lines, runWith } from '../support/cli.ts'

const version = (
  JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: join(BIN, '..', '..'), encoding: 'utf8' })) as {
    version: string
  }
).version

t.test('--help works at every level and exits 0', async (t) => {
  const levels = [
    [],
    ['certs'],
    ['certs', 'init-org'],
    ['certs', 'issue-node'],
    ['certs', 'issue-signing'],
    ['certs', 'inspect'],
    ['partner'],
    ['partner', 'export'],
    ['partner', 'check'],
    ['partner', 'import'],
    ['partner', 'list'],
    ['partner', 'enable'],
    ['partner', 'disable'],
    ['policy'],
    ['policy', 'create'],
    ['policy', 'list'],
    ['policy', 'assign'],
    ['share'],
    ['share', 'create'],
    ['share', 'status'],
    ['share', 'revoke'],
    ['config'],
    ['config', 'check'],
    ['doctor'],
    ['backup'],
    ['backup', 'verify'],
    ['restore'],
  ]
  const results = await Promise.all(levels.map((level) => caseway([...level, '--help'])))
  levels.forEach((level, index) => {
    const result = results[index]!
    const name = ['caseway', ...level].join(' ')
    t.equal(result.code, 0, `${name} --help exits 0`)
    t.match(result.stdout, new RegExp(`^Usage: ${name} `), `${name} --help prints its usage`)
    t.equal(result.stderr, '', `${name} --help prints nothing on stderr`)
  })
  const help = await caseway(['help', 'certs'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: caseway certs /)
})

t.test('--version prints the package version', async (t) => {
  const result = await caseway(['--version'])
  t.equal(result.code, 0)
  t.equal(result.stdout, `${version}\n`)
})

t.test('usage errors are one line on stderr, exit status 2', async (t) => {
  const cases: Record<string, string[]> = {
    'unknown command': ['frobnicate'],
    'misspelt command': ['certz'],
    'unknown subcommand': ['certs', 'renew'],
    'unknown option': ['certs', 'inspect', '.', '--yaml'],
    'missing argument': ['tokens', 'revoke'],
    'excess argument': ['certs', 'inspect', 'a', 'b'],
    'missing required option': ['certs', 'init-org', '--org', 'metro-pd', '--name', 'Metro PD', '--host', 'node.example'],
    'missing --host': ['certs', 'init-org', '--org', 'metro-pd', '--name', 'Metro PD', '--out', 'x'],
    'bad fingerprint': ['partner', 'check', 'bundle.json', '--fingerprint', 'abc'],
    'bad validity': ['certs', 'issue-node', '--dir', 'x', '--validity-days', 'ten'],
    'export from two directories': ['partner', 'export', 'org', '--dir', 'data'],
    'import without a fingerprint': ['partner', 'import', 'bundle.json'],
    'bad policy version': ['policy', 'assign', 'county-da', 'review', '--version', '0'],
    'share without a partner': ['share', 'create', 'case-1'],
    'bad recipient': ['share', 'create', 'case-1', '--partner', 'county-da', '--recipient', 'email:'],
    'backup without --out': ['backup', '--dir', 'data'],
    'restore without an archive': ['restore', '--dir', 'data'],
  }
  const entries = Object.entries(cases)
  const results = await Promise.all(entries.map(([, args]) => caseway(args)))
  entries.forEach(([what, args], index) => {
    const result = results[index]!
    t.equal(result.code, 2, `${what}: exit 2`)
    t.equal(lines(result.stderr).length, 1, `${what}: one line (${result.stderr.trim()})`)
    t.match(result.stderr, /^caseway: /, what)
    t.notMatch(result.stderr, /\n\s+at /, `${what}: no stack trace`)
    t.equal(result.stdout, '', `${what}: nothing on stdout`)
    void args
  })
})

// spec: CW-ID-002
t.test('a bad organization id is a one-line usage error', async (t) => {
  const dir = t.testdir()
  for (const org of ['Metro-PD', 'metro_pd', '-metro', 'a'.repeat(64), '']) {
    const result = await caseway(['certs', 'init-org', '--org', org, '--name', 'Metro PD', '--host', 'node.example', '--out', join(dir, 'org')])
    t.equal(result.code, 2, JSON.stringify(org))
    t.equal(lines(result.stderr).length, 1)
    t.match(result.stderr, /organization id/)
  }
  t.notOk(existsSync(join(dir, 'org')), 'nothing written')
})

t.test('without a subcommand, the group help goes to stderr with exit status 2', async (t) => {
  for (const args of [[], ['certs'], ['partner'], ['policy'], ['share']]) {
    const result = await caseway(args)
    t.equal(result.code, 2, args.join(' ') || '(none)')
    t.match(result.stderr, /^Usage: caseway/)
  }
})

t.test('a refusal prints its code on one line, exit status 1; CASEWAY_DEBUG adds the stack', async (t) => {
  const result = await caseway(['certs', 'issue-signing', '--dir', t.testdir()])
  t.equal(result.code, 1)
  t.match(result.stderr, /^caseway: CW_CERTS_ORG_DIR_INVALID: .*ca\.crt not found\n$/)
  const missing = await caseway(['certs', 'inspect', join(t.testdirName, 'nope')])
  t.equal(missing.code, 1)
  t.equal(lines(missing.stderr).length, 1)
  t.match(missing.stderr, /^caseway: ENOENT: /)
  const debug = await caseway(['certs', 'inspect', join(t.testdirName, 'nope')], undefined, { CASEWAY_DEBUG: '1' })
  t.equal(debug.code, 1)
  t.match(debug.stderr, /^caseway: ENOENT: .*\n.*\n\s+at /, 'the stack follows the line')
})

/** A Node.js older than 24 on PATH (outside node_modules), to run the launcher with. */
function oldNode(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    if (!existsSync(candidate)) continue
    try {
      const found = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim()
      if (Number(found.slice(1).split('.')[0]) < 24) return candidate
    } catch {
      // not runnable: keep looking
    }
  }
  return undefined
}

const old = oldNode()

t.test('the launcher re-runs itself with the pinned Node.js 24', { skip: old === undefined ? 'no Node.js < 24 on PATH' : false }, async (t) => {
  const versionResult = await runWith(old!, BIN, ['--version'])
  t.equal(versionResult.code, 0)
  t.equal(versionResult.stdout, `${version}\n`)
  const usage = await runWith(old!, BIN, ['certs', 'init-org', '--org', 'Bad'])
  t.equal(usage.code, 2, 'the exit status comes through')
  t.equal(lines(usage.stderr).length, 1)
})

t.test('the launcher says what to do when no Node.js 24 is installed', { skip: old === undefined ? 'no Node.js < 24 on PATH' : false }, async (t) => {
  // Outside the repository, where no node_modules above can supply the pinned Node.js.
  const root = mkdtempSync(join(tmpdir(), 'caseway-launcher-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }))
  mkdirSync(join(root, 'bin'))
  copyFileSync(BIN, join(root, 'bin', 'caseway.js'))
  const result = await runWith(old!, join(root, 'bin', 'caseway.js'), ['--version'])
  t.equal(result.code, 1)
  t.match(result.stderr, /^caseway: Node\.js 24 is required \(found v\d+\.\d+\.\d+\); install it, or run npm ci in a checkout\n$/)
})
