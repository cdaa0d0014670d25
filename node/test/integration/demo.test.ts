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
import { CASEWAY_BIN } from '../../../testkit/node_process.ts'

const run = promisify(execFile)

async function demo(args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CASEWAY_BIN, 'demo', ...args], { timeout: 90_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

// spec: CW-TRUST-002, CW-POL-002, CW-POL-006, CW-FED-008, CW-FED-009, CW-LOC-001, CW-LOC-003, CW-AUD-003, CW-AUD-004
t.test('the demo shares a folder, shows recipients, notification, import, access, audit and the refusals, and leaves nothing behind', async (t) => {
  const { code, stdout, stderr } = await demo()
  t.equal(code, 0, stderr)
  t.equal(stderr, '')
  t.match(stdout, /share status: processing/)
  t.match(stdout, /share status: delivered/)
  t.match(stdout, /shared by Metro PD, status complete/)
  t.match(stdout, /SHA-256 sha256:[0-9a-f]{12}… matches the digest Metro PD computed at upload/)
  t.match(stdout, /refused, 403 CW_ERR_DO_NOT_DISCLOSE/)
  t.match(stdout, /refused, 403 CW_ERR_ACTION_NOT_ALLOWED \(the sharing policy "county-da-view-only" v1 of metro-pd does not permit download\)/)
  t.match(stdout, /Both nodes stopped cleanly\.\nDemo complete\.\n$/)
  t.match(stdout, /Metro PD also shared the case with a link as case\.zip, case\.tar, case\.iso: each built, downloaded and verified offline/)
  // Recipients: a County DA member who is not one does not see the external case.
  t.match(stdout, /naming the recipients user ada, group felony-unit/)
  t.match(stdout, /Bob Reyes \(County DA, not a recipient\) does not find it .* answers 404 CW_ERR_NOT_FOUND; Ada Quinn \(a recipient\) sees it/)
  // The notification e-mail, caught by the local SMTP receiver.
  t.match(
    stdout,
    /caught the notification e-mail from caseway@county-da\.example to ada@county-da\.example:\n {2}From: Caseway at County DA <caseway@county-da\.example>\n {2}To: ada@county-da\.example\n {2}Subject: \[Caseway\] Metro PD shared case MPD-2025-0142/,
  )
  t.match(stdout, / {2}\| Metro PD \(metro-pd\) shared a case with County DA\./)
  // Import, its import details, and the refused import under the view-only policy.
  t.match(stdout, /Ada Quinn imports the external case .*: case \S+ \(MPD-2025-0142\), owned by her\./)
  t.match(
    stdout,
    /Import details of case \S+:\n {4}sender: Metro PD \(metro-pd\), shared by admin\n {4}partner organization: Metro PD \(metro-pd\), share \S+ revision 1\n {4}recipients: user ada, group felony-unit\n {4}received on: .+ UTC; imported on: .+ UTC\n {4}access level: full\n {4}sharing policy: "County DA — evidence review" \(county-da-review v1: view, download, import, applyUpdates\)/,
  )
  t.match(stdout, /Ada Quinn tries to import that second share: refused, 403 CW_ERR_ACTION_NOT_ALLOWED .*does not permit import/)
  // Who has access, as Metro PD sees it.
  t.match(stdout, /access listing of case MPD-2025-0142:\n {2}admin \(user admin\) — owner\n/)
  t.match(stdout, /County DA \(county-da\): recipients user ada, group felony-unit; access full; delivered; shared on .+ UTC; expires .+ UTC/)
  t.match(stdout, /County DA \(county-da\): recipients agency county-da; access view; delivered;/)
  // The audit trail, verified through the API and with the CLI.
  t.match(stdout, / {2}1\. case\.created by user admin\n/)
  t.match(stdout, /share\.delivered by partner county-da\n/)
  t.match(stdout, /audit\/verify: ok, \d+ entries, hash chain intact\./)
  t.match(stdout, /\n {4}ok \S+ \d+ entries {3}\(case MPD-2025-0142\)\n/)
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
