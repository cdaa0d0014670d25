/**
 * What a partner scripts against: `caseway conformance run --list` (ids, groups, requirement
 * IDs, whether a test needs the control endpoints) without a harness or target, and
 * `caseway conformance init --json` (bundle paths and fingerprints, machine-readable).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { caseway } from '../../test/support/cli.ts'
import { ALL_TESTS } from '../src/all_tests.ts'
import type { ListedTest } from '../src/list.ts'

t.test('run --list: every test with its group, requirement IDs and need of control; no harness needed', async (t) => {
  const json = await caseway(['conformance', 'run', '--list', '--reporter', 'json'])
  t.equal(json.code, 0, json.stderr)
  const listed = JSON.parse(json.stdout) as ListedTest[]
  t.equal(listed.length, ALL_TESTS.length)
  for (const test of listed) {
    t.ok(test.spec.length > 0 && test.spec.every((id) => /^CW-[A-Z]+-\d{3}$/.test(id)), `${test.id} cites requirement IDs`)
    t.equal(test.needsControl, (ALL_TESTS.find((one) => one.id === test.id)!.requires ?? []).includes('control'))
  }
  const text = await caseway(['conformance', 'run', '--list', '--only', 'sender.revision,CW-REV-006'])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /^sender\.revision\s+control\s+CW-MAN-001,CW-POL-002$/m)
  t.match(text.stdout, /revocation\.cascades-to-onward-share\s+control\s+CW-REV-003/)
  t.match(text.stdout, /2 tests \(revocation 1, sender 1\); 2 need --control/)
  const none = await caseway(['conformance', 'run', '--list', '--only', 'CW-NOPE'])
  t.equal(none.code, 2, 'a selection of nothing is a usage error')
  const missing = await caseway(['conformance', 'run'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /--org-dir/)
})

t.test('init --json: paths and fingerprints of every bundle to import', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'caseway-init-json-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const result = await caseway(['conformance', 'init', '--dir', join(dir, 'h'), '--endpoint', 'https://127.0.0.1:9555', '--json'])
  t.equal(result.code, 0, result.stderr)
  const out = JSON.parse(result.stdout) as {
    endpoint: string
    partner: { org: string; bundle: string; fingerprint: string }
    trustOnly: Array<{ bundle: string; fingerprint: string }>
  }
  t.equal(out.endpoint, 'https://127.0.0.1:9555')
  t.equal(out.partner.org, 'cw-conformance')
  t.equal(out.trustOnly.length, 3)
  for (const party of [out.partner, ...out.trustOnly]) {
    const bundle = JSON.parse(await readFile(party.bundle, 'utf8')) as { caFingerprint: string }
    t.equal(bundle.caFingerprint, party.fingerprint)
  }
})
