/**
 * The life of the process a supervisor starts (CW-LOC-019, CW-LOC-020), with the real CLI:
 * - through the launcher on an older Node.js (which re-runs itself on the pinned one), a signal
 *   to the launcher's PID reaches the node, and the launcher exits as the node did;
 * - run by npm / npx, whose `npm exec` leaves its command running when stopped, the node takes
 *   the loss of its parent for a SIGTERM;
 * - SIGHUP reloads (log level, partners, TLS certificate) and says so, instead of stopping;
 * - a listener that cannot open stops the whole node, naming listener, address and setting;
 * - `init` refuses one port for both listeners.
 */
// spec: CW-LOC-019, CW-LOC-020
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { delimiter, join } from 'node:path'
import t, { type Test } from 'tap'
import { initNode } from '../../node/src/init_node.ts'
import { CASEWAY_BIN, freePorts, startNodeProcess } from '../../testkit/node_process.ts'
import { caseway } from '../support/cli.ts'

/** A Node.js older than 24 on PATH (outside node_modules): with it, the launcher re-runs itself. */
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
// Each case starts a real node (or two processes); together they outlast tap's default bound.
t.setTimeout(600_000)
const dir = join(t.testdir(), 'node')
const [federationPort, localPort] = await freePorts(2)
await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: federationPort!, localPort: localPort! })

/** Whether something answers on `url`. */
async function answers(url: string): Promise<boolean> {
  return fetch(`${url}/healthz`).then(
    () => true,
    () => false,
  )
}

t.test(
  'through the launcher, SIGTERM to the launcher stops the node; the launcher exits 0',
  { skip: old === undefined ? 'no Node.js < 24 on PATH' : false },
  async (t) => {
    const node = await startNodeProcess({ dir, execPath: old! })
    t.teardown(() => node.stop('SIGKILL'))
    t.ok(await answers(node.localUrl), 'serving')
    const status = await node.stop('SIGTERM')
    t.same(status, { code: 0, signal: null }, 'the launcher exits as the node did')
    t.match(node.stderr(), 'caseway: SIGTERM: stopping', 'the node had the signal')
    t.notOk(await answers(node.localUrl), 'the node is gone with the launcher')
  },
)

t.test(
  'through the launcher, SIGINT is passed on once: a clean stop, not "second signal"',
  { skip: old === undefined ? 'no Node.js < 24 on PATH' : false },
  async (t) => {
    const node = await startNodeProcess({ dir, execPath: old! })
    t.teardown(() => node.stop('SIGKILL'))
    const status = await node.stop('SIGINT')
    t.same(status, { code: 0, signal: null })
    t.match(node.stderr(), 'caseway: SIGINT: stopping')
    t.notMatch(node.stderr(), 'second')
    t.notOk(await answers(node.localUrl))
  },
)

t.test('through the launcher, SIGQUIT is passed on too', { skip: old === undefined ? 'no Node.js < 24 on PATH' : false }, async (t) => {
  const node = await startNodeProcess({ dir, execPath: old! })
  t.teardown(() => node.stop('SIGKILL'))
  t.same(await node.stop('SIGQUIT'), { code: 0, signal: null })
  t.match(node.stderr(), 'caseway: SIGQUIT: stopping')
  t.notOk(await answers(node.localUrl))
})

for (const via of ['directly', 'through the launcher'] as const) {
  t.test(
    `SIGHUP ${via}: the node reloads and says what it did; it keeps serving`,
    { skip: via !== 'directly' && old === undefined ? 'no Node.js < 24 on PATH' : false },
    async (t) => {
      const configPath = join(dir, 'caseway.json')
      const original = readFileSync(configPath, 'utf8')
      t.teardown(() => writeFileSync(configPath, original))
      const node = await startNodeProcess({ dir, ...(via === 'directly' ? {} : { execPath: old! }) })
      t.teardown(() => node.stop('SIGKILL'))
      const config = JSON.parse(original) as { log?: { level?: string } }
      writeFileSync(configPath, JSON.stringify({ ...config, log: { level: 'debug' } }, null, 2))
      node.child.kill('SIGHUP')
      const line = await node.stderrMatches(/caseway: SIGHUP: .*\n/)
      t.match(line, /log level info -> debug/, 'the new log level')
      t.match(line, /partners: 0 CA\(s\) trusted/, 'the partner list re-read (none yet)')
      t.match(line, /TLS certificate unchanged/, 'the certificate re-read')
      t.ok(await answers(node.localUrl), 'still serving')
      t.equal(node.child.exitCode, null, 'still running')
      t.same(await node.stop('SIGTERM'), { code: 0, signal: null }, 'and it still stops cleanly')
    },
  )
}

t.test('SIGHUP with a broken caseway.json: the rest is reloaded, the node keeps running', async (t) => {
  const configPath = join(dir, 'caseway.json')
  const original = readFileSync(configPath, 'utf8')
  t.teardown(() => writeFileSync(configPath, original))
  const node = await startNodeProcess({ dir })
  t.teardown(() => node.stop('SIGKILL'))
  writeFileSync(configPath, '{ not json')
  node.child.kill('SIGHUP')
  const line = await node.stderrMatches(/caseway: SIGHUP: .*\n/)
  t.match(line, /log level not reloaded \(.*caseway\.json is not valid JSON/)
  t.match(line, /TLS certificate unchanged/)
  t.ok(await answers(node.localUrl), 'still serving')
  t.same(await node.stop('SIGTERM'), { code: 0, signal: null })
})

/**
 * Runs `caseway start` the way `npm exec` does (npm sets `npm_command`) under a stand-in parent
 * that prints the command's PID, then kills that parent outright. Resolves with what the node
 * wrote on stderr, once the node has closed it (that is, exited).
 */
async function orphanedUnderNpm(execPath: string): Promise<{ stderr: string; pid: number }> {
  const parentScript = `
    const { spawn } = require('node:child_process')
    const child = spawn(${JSON.stringify(execPath)}, [${JSON.stringify(CASEWAY_BIN)}, 'start', '--dir', ${JSON.stringify(dir)}], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, npm_command: 'exec' },
    })
    process.stdout.write(child.pid + '\\n')
    setInterval(() => {}, 1 << 30)
  `
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env['CASEWAY_REEXEC']
  delete env['npm_command']
  const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let stderr = ''
  let stdout = ''
  parent.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  // The node inherited this pipe: it ends when the node (and its launcher, if any) is gone.
  const ended = new Promise<void>((resolve) => parent.stderr.once('end', resolve))
  await new Promise<void>((resolve) => {
    parent.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text
      if (/^local\s+http/m.test(stderr)) resolve()
    })
  })
  parent.kill('SIGKILL')
  await ended
  return { stderr, pid: Number(stdout.trim()) }
}

t.test('under npm, the node whose parent dies stops as on SIGTERM', async (t) => {
  const { stderr } = await orphanedUnderNpm(process.execPath)
  t.match(stderr, 'caseway: SIGTERM: stopping')
  t.notOk(await answers(`http://127.0.0.1:${localPort}`), 'nothing left listening')
})

t.test('under npm through the launcher, the orphaned launcher stops its node', { skip: old === undefined ? 'no Node.js < 24 on PATH' : false }, async (t) => {
  const { stderr } = await orphanedUnderNpm(old!)
  t.match(stderr, 'caseway: SIGTERM: stopping')
  t.notOk(await answers(`http://127.0.0.1:${localPort}`), 'nothing left listening')
})

/** Holds `port` on `host` until the test ends. */
async function occupy(t: Test, host: string, port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, resolve)
  })
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return server
}

t.test('a taken local port stops the whole node: exit 1, naming listener, address and setting', async (t) => {
  await occupy(t, '127.0.0.1', localPort!)
  const result = await caseway(['start', '--dir', dir])
  t.equal(result.code, 1, 'non-zero exit, not a half-started node')
  t.match(result.stderr, `caseway: the local listener cannot listen on 127.0.0.1:${localPort} (EADDRINUSE): change local.port in caseway.json`)
  t.notOk(await answers(`https://127.0.0.1:${federationPort}`), 'the federation listener is closed again')
})

t.test('a taken federation port: exit 1, naming the federation listener and federation.port', async (t) => {
  await occupy(t, '0.0.0.0', federationPort!)
  const result = await caseway(['start', '--dir', dir])
  t.equal(result.code, 1)
  t.match(result.stderr, /caseway: the federation listener cannot listen on [^ ]+:\d+ \(EADDRINUSE\): change federation\.port in caseway\.json/)
})

t.test('init refuses one port for both listeners; a configuration with one is refused at start', async (t) => {
  const same = join(t.testdirName, 'same')
  const result = await caseway(['init', '--org', 'metro-pd', '--name', 'Metro PD', '--dir', same, '--federation-port', '9555', '--local-port', '9555'])
  t.equal(result.code, 1)
  t.match(result.stderr, 'the federation port and the local port are both 9555')
  t.notOk(existsSync(join(same, 'caseway.json')), 'nothing written')

  const configPath = join(dir, 'caseway.json')
  const original = readFileSync(configPath, 'utf8')
  t.teardown(() => writeFileSync(configPath, original))
  const config = JSON.parse(original) as { federation: { port: number }; local: { port: number } }
  writeFileSync(configPath, JSON.stringify({ ...config, local: { ...config.local, port: config.federation.port } }))
  const start = await caseway(['start', '--dir', dir])
  t.equal(start.code, 1)
  t.match(start.stderr, `federation.port and local.port are both ${federationPort}`)
})
