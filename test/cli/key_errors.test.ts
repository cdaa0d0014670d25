/**
 * `caseway start` tells the faults of its key files apart, naming the file (CW-ID-005): a missing
 * key (make one with init), an unreadable one (fix owner/mode; never re-key, which changes the
 * fingerprint partners pinned), a corrupt one, one that does not match its certificate; and
 * `ca.key` readable by other users is refused like the other keys.
 */
// spec: CW-ID-005
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { initNode } from '../../node/src/init_node.ts'
import { freePorts } from '../../testkit/node_process.ts'
import { caseway, lines } from '../support/cli.ts'

t.setTimeout(300_000)
const dir = join(t.testdir(), 'node')
const pki = join(dir, 'pki')
const [federationPort, localPort] = await freePorts(2)
await initNode({ org: 'metro-pd', name: 'Metro PD', dir, federationPort: federationPort!, localPort: localPort! })

/** Changes `file` for one test, restoring its content and mode afterwards. */
function alter(t: Test, file: string, change: (path: string) => void): void {
  const path = join(pki, file)
  const original = readFileSync(path)
  t.teardown(() => {
    rmSync(path, { recursive: true, force: true })
    writeFileSync(path, original, { mode: 0o600 })
    chmodSync(path, 0o600)
  })
  change(path)
}

async function startFails(t: Test, expected: string | RegExp): Promise<void> {
  const result = await caseway(['start', '--dir', dir])
  t.equal(result.code, 1, 'refused')
  t.equal(lines(result.stderr).length, 1, 'one line')
  t.match(result.stderr, expected)
}

t.test('a missing key: run caseway init', async (t) => {
  alter(t, 'node.key', (path) => rmSync(path))
  await startFails(t, `caseway: missing ${join(pki, 'node.key')}: run caseway init`)
})

t.test('an unreadable key is not "missing": fix its owner and mode, do not re-key', async (t) => {
  // Root reads any file whatever its mode: a directory in its place is unreadable for everyone.
  alter(t, 'node.key', (path) => {
    rmSync(path)
    mkdirSync(path)
  })
  const result = await caseway(['start', '--dir', dir])
  t.equal(result.code, 1)
  t.match(result.stderr, `caseway: cannot read ${join(pki, 'node.key')} (EISDIR): check its owner and mode`)
  t.match(result.stderr, 'do not re-run caseway init')
  t.notMatch(result.stderr, 'missing')
})

t.test('a corrupt key names the file, not ERR_OSSL', async (t) => {
  alter(t, 'node.key', (path) => writeFileSync(path, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n', { mode: 0o600 }))
  await startFails(t, new RegExp(`^caseway: ${join(pki, 'node.key').replaceAll('/', '\\/')} is corrupt: not a private key in PEM`))
})

t.test('a corrupt certificate names the file', async (t) => {
  alter(t, 'node.crt', (path) => writeFileSync(path, 'garbage\n'))
  await startFails(t, `${join(pki, 'node.crt')} is corrupt: not an X.509 certificate in PEM`)
})

t.test('a key that does not match its certificate', async (t) => {
  // The CA's key is a valid key of another pair.
  alter(t, 'node.key', (path) => copyFileSync(join(pki, 'ca.key'), path))
  await startFails(t, `${join(pki, 'node.key')} does not match ${join(pki, 'node.crt')}`)
})

t.test('ca.key readable by other users is refused like the other keys', async (t) => {
  alter(t, 'ca.key', (path) => chmodSync(path, 0o644))
  await startFails(t, `caseway: ${join(pki, 'ca.key')} is readable by other users (mode 644): chmod 600 ${join(pki, 'ca.key')}`)
})
