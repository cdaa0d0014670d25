/**
 * `caseway demo` end to end, as `npm run demo` runs it: two node processes, real mutual TLS,
 * exit status 0, the story told on stdout, nothing on stderr, and its temporary directory gone
 * (or kept, with --keep).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { CASEWAY_BIN } from '../../src/demo/node_process.ts'

const run = promisify(execFile)

async function demo(args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CASEWAY_BIN, 'demo', ...args], { timeout: 50_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

// spec: CW-TRUST-002, CW-POL-002, CW-POL-006, CW-FED-008, CW-FED-009
t.test('the demo shares a folder, shows the refusals and leaves nothing behind', async (t) => {
  const { code, stdout, stderr } = await demo()
  t.equal(code, 0, stderr)
  t.equal(stderr, '')
  t.match(stdout, /share status: processing/)
  t.match(stdout, /share status: delivered/)
  t.match(stdout, /shared by Metro PD, status complete/)
  t.match(stdout, /SHA-256 sha256:[0-9a-f]{12}… matches the digest Metro PD computed at upload/)
  t.match(stdout, /refused, 403 CW_ERR_DO_NOT_DISCLOSE/)
  t.match(stdout, /refused, 403 CW_ERR_ACTION_NOT_ALLOWED/)
  t.match(stdout, /Both nodes stopped cleanly\.\nDemo complete\.\n$/)
  const dir = /\(in (\S+)\)\.$/m.exec(stdout)?.[1]
  t.ok(dir !== undefined && !existsSync(dir), 'the temporary directory is removed')
})

t.test('--keep keeps the directory and says where it is', async (t) => {
  const { code, stdout } = await demo(['--keep'])
  t.equal(code, 0)
  const kept = /^Kept the demo directory \(node directories and their logs\): (\S+)$/m.exec(stdout)?.[1]
  t.ok(kept !== undefined && existsSync(`${kept}/metro-pd/node.log`) && existsSync(`${kept}/county-da/caseway.json`))
  if (kept !== undefined) await rm(kept, { recursive: true, force: true })
})
