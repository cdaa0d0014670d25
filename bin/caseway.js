#!/usr/bin/env node
// The `caseway` command. Plain JavaScript so that any Node.js can start it: the CLI itself
// is TypeScript and needs Node.js 24 (type stripping). On an older Node.js this re-runs the
// same command with the Node.js 24 pinned as the `node` devDependency.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const REQUIRED_MAJOR = 24
const major = Number(process.versions.node.split('.')[0])

function pinnedNode() {
  try {
    return createRequire(import.meta.url).resolve('node/bin/node')
  } catch {
    const candidate = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
    return existsSync(candidate) ? candidate : undefined
  }
}

if (major < REQUIRED_MAJOR) {
  const node = pinnedNode()
  // The guard variable stops a loop should the pinned binary itself be too old.
  if (node === undefined || process.env.CASEWAY_REEXEC === '1') {
    process.stderr.write(`caseway: Node.js ${REQUIRED_MAJOR} is required (found v${process.versions.node}); run npm ci\n`)
    process.exit(1)
  }
  const script = fileURLToPath(import.meta.url)
  const child = spawnSync(node, [...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, CASEWAY_REEXEC: '1' },
  })
  if (child.error !== undefined) {
    process.stderr.write(`caseway: cannot run ${node}: ${child.error.message}\n`)
    process.exit(1)
  }
  if (child.signal !== null) process.kill(process.pid, child.signal)
  process.exit(child.status ?? 1)
} else {
  const { main } = await import('../cli/main.ts')
  process.exitCode = await main(process.argv)
}
