/**
 * The README's quick start, run as written: two nodes started by the CLI, paired from their
 * bundle files, a policy, a case with evidence, and a share that ends delivered. Only the
 * ports change (to free ones) and `npx caseway` is this checkout's launcher, so the README
 * cannot drift from the commands it shows.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePorts } from '../../testkit/node_process.ts'
import { BIN } from '../support/cli.ts'

const README = fileURLToPath(new URL('../../README.md', import.meta.url))

/** The shell block between the quick start markers. */
function quickStart(readme: string): string {
  const match = /<!-- quickstart:begin -->\n```sh\n([\s\S]*?)```\n<!-- quickstart:end -->/.exec(readme)
  if (match === null) throw new Error('README.md has no quick start block between its markers')
  return match[1]!
}

t.test('the README quick start pairs two nodes and delivers a share, with the CLI alone', { timeout: 300_000 }, async (t) => {
  const dir = t.testdir()
  const block = quickStart(await readFile(README, 'utf8'))
  const [metroFederation, metroLocal, countyFederation, countyLocal] = await freePorts(4)
  const ports: Record<string, number> = { '8443': metroFederation!, '8080': metroLocal!, '9443': countyFederation!, '9080': countyLocal! }
  const script = block.replace(/--(federation|local)-port (\d+)/g, (_whole, kind: string, port: string) => {
    const free = ports[port]
    if (free === undefined) throw new Error(`the quick start uses an unexpected port ${port}`)
    return `--${kind}-port ${free}`
  })
  t.not(script, block, 'the ports were found and replaced')

  // `caseway` on the PATH is this checkout's launcher on the Node running the tests.
  await writeFile(join(dir, 'caseway-launcher'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  await chmod(join(dir, 'caseway-launcher'), 0o755)
  await writeFile(join(dir, 'npx'), `#!/bin/sh\n[ "$1" = caseway ] || exit 127\nshift\nexec "${join(dir, 'caseway-launcher')}" "$@"\n`)
  await chmod(join(dir, 'npx'), 0o755)

  // The nodes are background jobs: stopped when the script ends, and with its process group in any case.
  const wrapped = `set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n${script}`
  const child = spawn('bash', ['-c', wrapped], { cwd: dir, detached: true, env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` } })
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // the group has ended
    }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))

  t.equal(code, 0, stderr)
  t.match(stderr, /^partner county-da \(County DA\) imported/m, 'metro pinned county from the bundle file')
  t.match(stderr, /^partner metro-pd \(Metro PD\) imported/m, 'and county pinned metro')
  const digest =
    'sha256:' +
    createHash('sha256')
      .update(await readFile(join(dir, 'lobby.mp4')))
      .digest('hex')
  t.match(stdout, new RegExp(`^digest +${digest}$`, 'm'), 'the uploaded evidence has the digest of the file')
  t.match(stdout, /^ {2}status +delivered$/m, 'the share ends delivered')
  t.match(
    stdout,
    /^ {2}progress +\{"phase":"done","chunksDone":(\d+),"chunksTotal":\1,"bytesDone":5000000,"bytesTotal":5000000\}$/m,
    'every chunk and byte the partner asked for was fetched',
  )
})
