/**
 * The installable package (issue "Operable", finding 11): `npm pack` makes a package that
 * `npm install -g` puts on a machine with Node.js 24, and the installed `caseway` runs init,
 * start, demo and the conformance harness outside the checkout — from the JavaScript compiled
 * into the package, since Node.js does not strip types under node_modules.
 *
 * The global install goes into a temporary prefix; its dependencies come from npm's cache
 * (`npm ci` filled it), else from the registry.
 */
import { execFile, spawn } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePorts } from '../../testkit/node_process.ts'
import { waitFor } from '../../testkit/wait.ts'
import type { Result } from '../support/cli.ts'

// Packing compiles the sources; installing resolves ~90 packages; the demo runs two nodes.
t.setTimeout(5 * 60_000)

const checkout = fileURLToPath(new URL('../..', import.meta.url))
// Outside the checkout: a dependency the package forgot to declare must not resolve from the
// checkout's node_modules.
const root = await mkdtemp(join(tmpdir(), 'caseway-package-'))
process.once('exit', () => rmSync(root, { recursive: true, force: true }))
const prefix = join(root, 'prefix')
const work = join(root, 'work')
await mkdir(work)

// "A machine with Node.js 24": the Node.js running the tests (the pinned 24) is the first `node` on PATH.
const nodeDir = join(root, 'node-bin')
await mkdir(nodeDir)
symlinkSync(process.execPath, join(nodeDir, 'node'))
// Neither npm's nor tap's settings of this run (tap's NODE_OPTIONS load its hooks from the checkout).
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('npm_') && !key.startsWith('CASEWAY_') && !key.startsWith('TAP') && key !== 'NODE_OPTIONS'),
)
env['PATH'] = [join(prefix, 'bin'), nodeDir, process.env['PATH'] ?? ''].join(delimiter)

function run(command: string, args: readonly string[], cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
    })
  })
}

/** `true` once the local listener on `port` answers /readyz with 200. */
async function ready(port: number): Promise<true | undefined> {
  const answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
  return answer?.status === 200 ? true : undefined
}

const packed = await run('npm', ['pack', '--json', '--pack-destination', root], checkout)
t.equal(packed.code, 0, 'npm pack succeeds', { stderr: packed.stderr.slice(-2000) })
const [summary] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[]
const shipped = summary!.files.map((file) => file.path)
t.ok(shipped.includes('dist/cli/main.js') && shipped.includes('bin/caseway.js'), 'the package ships the launcher and the compiled CLI')
t.same(
  shipped.filter((path) => path.endsWith('.ts')),
  [],
  'no TypeScript source is shipped (Node.js would refuse to strip its types under node_modules)',
)
t.ok(shipped.includes('dist/protocol/schemas/manifest.schema.json'), 'the JSON Schemas the protocol reads at run time are shipped')

const installed = await run(
  'npm',
  ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(root, summary!.filename)],
  work,
)
t.equal(installed.code, 0, 'npm install -g of the packed file succeeds', { stderr: installed.stderr.slice(-2000) })
const caseway = join(prefix, 'bin', 'caseway')
const packageDir = join(prefix, 'lib', 'node_modules', 'caseway')
t.notOk(
  readdirSync(packageDir).some((name) => ['cli', 'node', 'protocol', 'test'].includes(name)),
  'the installed package has no source tree beside dist/',
)

t.test('--version names the packed version', async (t) => {
  const version = await run(caseway, ['--version'], work)
  t.equal(version.code, 0)
  t.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as { version: string }).version)
})

t.test('init, start until ready, SIGTERM to the started PID stops it cleanly', async (t) => {
  const [local, federation] = await freePorts(2)
  const init = await run(
    caseway,
    ['init', '--dir', 'node-a', '--org', 'pkg-a', '--name', 'Package A', '--local-port', String(local), '--federation-port', String(federation)],
    work,
  )
  t.equal(init.code, 0, 'init succeeds', { stderr: init.stderr })
  const node = spawn(caseway, ['start', '--dir', 'node-a'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  node.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  node.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => node.once('exit', (code) => resolve(code)))
  await waitFor('the installed node to be ready', () => ready(local!))
  t.pass('the installed node answers /readyz with 200')

  const partners = await run(caseway, ['partner', 'list', '--dir', 'node-a', '--json'], work)
  t.equal(partners.code, 0, 'an admin command of the installed CLI reaches the node', { stderr: partners.stderr })
  t.same(JSON.parse(partners.stdout), [], 'a new node has no partners')

  node.kill('SIGTERM')
  t.equal(await exited, 0, 'the node exits 0 on SIGTERM')
  t.match(output, /node stopped/, 'after its stop sequence')
})

t.test('a large offer is verified on the worker thread of the compiled package', async (t) => {
  // Above 1 MiB an offer's JWS goes to verify_worker on a thread (CW-QUO-005): a worker the
  // package lacks would fail with a plain error, a working one refuses the junk with a problem code.
  const module = join(packageDir, 'dist', 'node', 'src', 'receiving', 'verification', 'verify_off_loop.js')
  const script = `const { verifyOffer } = await import(${JSON.stringify(module)})
try {
  await verifyOffer('x'.repeat(2 * 1024 * 1024), { trustAnchors: [], audience: 'pkg-a', currentDate: new Date(), maxBytes: 8 * 1024 * 1024, versions: ['0.2'] })
  console.log('accepted')
} catch (error) { console.log(error.code ?? error.message) }`
  writeFileSync(join(work, 'large-offer.mjs'), script)
  const verified = await run(process.execPath, ['large-offer.mjs'], work)
  t.equal(verified.code, 0, 'the script ran', { stderr: verified.stderr })
  t.match(verified.stdout.trim(), /^CW_ERR_[A-Z_]+$/, 'the worker answered with a problem code')
})

t.test('the demo runs from the installed package', async (t) => {
  const demo = await run(caseway, ['demo'], work)
  t.equal(demo.code, 0, 'caseway demo succeeds', { stdout: demo.stdout.slice(-3000), stderr: demo.stderr.slice(-3000) })
  t.match(demo.stdout, /Demo complete/)
})

t.test('the conformance harness runs from the installed package against an installed node', async (t) => {
  const [local, federation, harnessPort] = await freePorts(3)
  t.equal(
    (
      await run(
        caseway,
        ['init', '--dir', 'node-b', '--org', 'pkg-b', '--name', 'Package B', '--local-port', String(local), '--federation-port', String(federation)],
        work,
      )
    ).code,
    0,
  )
  const harness = await run(caseway, ['conformance', 'init', '--dir', 'harness', '--endpoint', `https://127.0.0.1:${harnessPort}`], work)
  t.equal(harness.code, 0, 'conformance init succeeds', { stderr: harness.stderr })
  const node = spawn(caseway, ['start', '--dir', 'node-b'], { cwd: work, env, stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => node.once('exit', () => resolve()))
  t.teardown(async () => {
    node.kill('SIGTERM')
    await exited
  })
  await waitFor('the installed node to be ready', () => ready(local!))
  // The transport tests that need no pairing: the rest of the suite is run from the sources by test/conformance/self.test.ts.
  const only = ['transport.tls13-and-server-certificate', 'transport.partner-bundle', 'transport.no-client-certificate', 'transport.unknown-ca']
  const report = await run(
    caseway,
    [
      'conformance',
      'run',
      '--org-dir',
      'harness',
      '--target',
      `https://127.0.0.1:${federation}`,
      '--target-bundle',
      join('node-b', 'pki', 'partner-bundle.json'),
      '--only',
      only.join(','),
      '--reporter',
      'json',
    ],
    work,
  )
  t.equal(report.code, 0, 'the selected conformance tests pass', { stdout: report.stdout.slice(-3000), stderr: report.stderr.slice(-3000) })
  const parsed = JSON.parse(report.stdout) as { results: { id: string; outcome: string }[] }
  t.same(
    parsed.results.map((result) => [result.id, result.outcome]),
    only.map((id) => [id, 'passed']),
    'each selected test ran and passed',
  )
})
