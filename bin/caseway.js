#!/usr/bin/env node
// The `caseway` command. Plain JavaScript so that any Node.js can start it: the CLI needs
// Node.js 24 (in a checkout it runs the TypeScript sources through type stripping; the
// installed package runs the JavaScript compiled into dist/). On an older Node.js this re-runs the
// same command with the Node.js 24 pinned as the `node` devDependency, as a child that the
// launcher stands in for: every signal sent to the launcher's PID is passed on, and the
// launcher exits as the child did (same status, or killed by the same signal).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const REQUIRED_MAJOR = 24
const major = Number(process.versions.node.split('.')[0])

/** Signals a supervisor or a terminal sends that the launcher passes on to the child. */
const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']

/** How often a process whose parent may vanish looks at its parent's PID. */
const PARENT_CHECK_MS = 500

function pinnedNode() {
  try {
    return createRequire(import.meta.url).resolve('node/bin/node')
  } catch {
    const candidate = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
    return existsSync(candidate) ? candidate : undefined
  }
}

/**
 * Calls `onGone` once when this process's parent goes away (the process is re-parented).
 * npm and npx do not pass SIGTERM on to the command they run: when `npm exec` is stopped,
 * its command is orphaned instead, which is seen here as a changed parent PID.
 */
function watchParent(onGone) {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onGone()
  }, PARENT_CHECK_MS)
  timer.unref()
}

/**
 * The CLI module: the sources in a checkout, else the compiled package (`dist/cli/main.js` from
 * the package's `bin/`, `cli/main.js` from `dist/bin/`, the copy test nodes are started with).
 */
function cliEntry() {
  for (const candidate of ['../cli/main.ts', '../dist/cli/main.js', '../cli/main.js']) {
    const url = new URL(candidate, import.meta.url)
    if (existsSync(url)) return url.href
  }
  process.stderr.write('caseway: neither cli/main.ts nor the compiled dist/cli/main.js is there; run npm run build\n')
  process.exit(1)
}

/** Run under npm (`npm start`, `npm exec`, `npx`), which leaves its command running when it is stopped. */
const underNpm = process.env.npm_command !== undefined

if (major < REQUIRED_MAJOR) {
  const node = pinnedNode()
  // The guard variable stops a loop should the pinned binary itself be too old.
  if (node === undefined || process.env.CASEWAY_REEXEC === '1') {
    process.stderr.write(`caseway: Node.js ${REQUIRED_MAJOR} is required (found v${process.versions.node}); install it, or run npm ci in a checkout\n`)
    process.exit(1)
  }
  const script = fileURLToPath(import.meta.url)
  // Its own session and process group: a Ctrl-C at the terminal reaches the launcher only, which
  // passes it on once (the node would take a second SIGINT for "exit now").
  const child = spawn(node, [...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, CASEWAY_REEXEC: '1' },
  })
  const pass = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  for (const signal of FORWARDED) process.on(signal, pass)
  // Job control: the child is in another process group, so Ctrl-Z stops it explicitly, then the launcher.
  process.on('SIGTSTP', () => {
    pass('SIGSTOP')
    process.kill(process.pid, 'SIGSTOP')
  })
  process.on('SIGCONT', () => pass('SIGCONT'))
  if (underNpm) watchParent(() => pass('SIGTERM'))
  child.once('error', (error) => {
    process.stderr.write(`caseway: cannot run ${node}: ${error.message}\n`)
    process.exit(1)
  })
  child.once('exit', (code, signal) => {
    if (signal !== null) {
      // Die of the same signal, so that the launcher's parent sees what the node's would have.
      for (const forwarded of FORWARDED) process.removeAllListeners(forwarded)
      process.removeAllListeners('SIGTSTP')
      process.removeAllListeners('SIGCONT')
      process.kill(process.pid, signal)
      return
    }
    process.exit(code ?? 1)
  })
} else {
  // Re-run by the launcher above: should the launcher be killed outright (SIGKILL), its child stops too.
  if (underNpm || process.env.CASEWAY_REEXEC === '1') watchParent(() => process.kill(process.pid, 'SIGTERM'))
  const { main } = await import(cliEntry())
  process.exitCode = await main(process.argv)
}
