/**
 * `npm run demo:replicas` end to end: it starts PostgreSQL and the S3 server itself, kills the
 * working replica (SIGKILL), prints `delivered` and its checks, all passed, and exits 0.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
const DEMO = fileURLToPath(new URL('../../../demo/replicas.ts', import.meta.url))

// spec: CW-LOC-050, CW-LOC-051, CW-LOC-053
t.test('the replicas demo: a replica killed mid-transfer, the share delivered by the other, every check passed', async (t) => {
  const outcome = await run(process.execPath, [DEMO], { timeout: 150_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  )
  t.equal(outcome.code, 0, outcome.stderr || outcome.stdout)
  t.match(outcome.stdout, /Killing metro-pd-[12] \(SIGKILL\) mid-transfer/)
  t.match(outcome.stdout, /^delivered \(by metro-pd-[12]\)$/m)
  t.notMatch(outcome.stdout, /FAILED/)
  t.match(outcome.stdout, /ok: no chunk stored twice on County DA/)
  t.match(outcome.stdout, /ok: each job done once across the replicas/)
  t.match(outcome.stdout, /ok: caseway audit verify: Metro PD \(in PostgreSQL\)/)
  t.match(outcome.stdout, /All checks passed\.\n$/)
})
