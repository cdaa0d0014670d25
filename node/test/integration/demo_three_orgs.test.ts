/**
 * `caseway demo --orgs 3` end to end: three node processes (Metro PD → County DA → State Lab),
 * real mutual TLS, exit status 0, the story told on stdout, nothing on stderr, and its
 * temporary directory gone.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import t from 'tap'
import { CASEWAY_BIN } from '../../../testkit/node_process.ts'

const run = promisify(execFile)

async function demo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CASEWAY_BIN, 'demo', ...args], { timeout: 55_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

// spec: CW-PROV-001, CW-PROV-004, CW-POL-005, CW-PROV-007
t.test(
  'three organizations: updates, import, onward sharing verified at the State Lab, the forbidden onward shares refused, revocation reaching both',
  async (t) => {
    const { code, stdout, stderr } = await demo(['--orgs', '3'])
    t.equal(code, 0, stderr)
    t.equal(stderr, '')
    t.match(stdout, /State Lab pins Metro PD's bundle as (trust-only|an ordinary partner)/)
    t.match(stdout, /the live share is now at revision \d+\./)
    t.match(stdout, / {2}- case field description: "Dark sedan, partial plate 4K-\." → "Dark sedan, plate 4K-9921 confirmed by a witness\."/)
    t.match(stdout, / {2}- evidence added: tire-impression\.pdf, 122880 bytes/)
    t.match(
      stdout,
      /County DA applies the new evidence only: 1 applied, 1 left pending; the external case lists 3 items and keeps the description "Dark sedan, partial plate 4K-\."/,
    )
    t.match(stdout, /County DA imports the external case: local case \S+\./)
    t.match(stdout, /State Lab verified the two-grant chain and received "Hit and run on Route 9" from County DA \(fields caseNumber, title\)/)
    for (const name of ['dashcam-unit-7.mp4', 'paint-transfer-report.pdf', 'tire-impression.pdf']) {
      t.match(
        stdout,
        new RegExp(`  - ${name.replace('.', '\\.')}: downloaded \\d+ bytes, SHA-256 sha256:[0-9a-f]{12}… matches the digest Metro PD computed at upload\\.`),
      )
    }
    t.match(stdout, /refused, 403 CW_ERR_POLICY_WIDENED at \/content\/evidenceCategories/)
    t.match(stdout, /to Metro PD, a pinned partner .*: refused, 403 CW_ERR_PARTNER_NOT_ALLOWED\./)
    t.match(stdout, /State Lab tries to share it onward again, to County DA: refused, 403 CW_ERR_CHAIN_DEPTH_EXCEEDED/)
    t.match(stdout, / {2}County DA reading its external case: 410 CW_ERR_SHARE_REVOKED/)
    t.match(stdout, / {2}State Lab reading its external case: 410 CW_ERR_SHARE_REVOKED/)
    t.match(stdout, /All three nodes stopped cleanly\.\nDemo complete\.\n$/)
    const dir = /\(in (\S+)\)\.$/m.exec(stdout)?.[1]
    t.ok(dir !== undefined && !existsSync(dir), 'the temporary directory is removed')
  },
)

t.test('--orgs takes 2 or 3 only', async (t) => {
  const { code, stderr } = await demo(['--orgs', '4'])
  t.not(code, 0)
  t.match(stderr, /2 or 3/)
})
