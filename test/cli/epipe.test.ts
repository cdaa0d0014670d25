/**
 * Output piped into a reader that stops early (`caseway … | head`): the command ends quietly
 * with exit 0, no EPIPE stack trace; `caseway demo | head` stops its nodes first.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { BIN } from '../support/cli.ts'

t.setTimeout(300_000)

/** Runs `script` in bash with pipefail: the status is the CLI's, not the reader's. */
function pipeline(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', `set -o pipefail; ${script}`], { encoding: 'utf8', env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
    })
  })
}

const caseway = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`

t.test('a reader that closes at once: exit 0, nothing on stderr', async (t) => {
  // `true` exits without reading: every write of the help text meets a closed pipe.
  const result = await pipeline(`${caseway} --help | true`)
  t.equal(result.code, 0)
  t.equal(result.stderr, '')
})

t.test('caseway demo | head: the first lines, the nodes stopped, the demo directory gone, exit 0', async (t) => {
  const tmp = join(t.testdirName, 'tmp')
  mkdirSync(tmp, { recursive: true })
  const result = await pipeline(`${caseway} demo | head -n 2`, { TMPDIR: tmp })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout.split('\n').length, 3, 'two lines through head')
  t.notMatch(result.stderr, /EPIPE|at /, 'no stack trace')
  // The demo removes its directory only after both nodes have exited.
  t.same(readdirSync(tmp), [], 'nodes stopped and the demo directory removed')
})
