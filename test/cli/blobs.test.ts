/**
 * `caseway blobs gc` against a real node process (CW-LOC-042): an administrator's token runs a
 * collection (or a dry run) through the local API; anyone else's is refused with one
 * `caseway: CW_ERR_FORBIDDEN` line. The node is restarted with its clock two hours ahead (the
 * test entry point's hook) to pass the grace period instead of waiting it out.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { LocalClient } from '../../client/local_client.ts'
import { startOrg } from '../../node/test/support/processes.ts'
import { generatedContent } from '../../testkit/content.ts'
import { caseway, lines } from '../support/cli.ts'

t.setTimeout(120_000)
const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD' })
const dir = metro.node.dir

const theCase = await metro.api.createCase({ title: 'Lifecycle' })
const evidence = await metro.api.uploadEvidence(theCase.id, { name: 'clip.bin', category: 'video' }, generatedContent(200_000, 'clip'))
await metro.api.deleteEvidence(evidence.id)

async function blobFiles(): Promise<string[]> {
  const entries = await readdir(join(dir, 'blobs', 'sha256'), { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name)
}

// spec: CW-LOC-042
t.test("a member's token is refused", async (t) => {
  await metro.api.createUser({ id: 'det-jones', role: 'member' })
  const member = await metro.api.createToken('det-jones', 'member')
  const result = await caseway(['blobs', 'gc', '--dir', dir, '--token', member.token])
  t.equal(result.code, 1)
  t.equal(lines(result.stderr).length, 1)
  t.match(result.stderr, /^caseway: CW_ERR_FORBIDDEN: /)
  t.equal((await blobFiles()).length, 1, 'nothing collected')
})

t.test('within the grace period the deleted chunk is kept', async (t) => {
  const result = await caseway(['blobs', 'gc', '--dir', dir])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /^freed 0 blobs \(0 bytes\); kept 0 referenced and 1 younger than the grace period, of 1$/m)
})

// spec: CW-LOC-042
t.test('past the grace period: a dry run says what a collection frees', async (t) => {
  await metro.stop()
  await metro.start({ clockOffsetMs: 2 * 60 * 60 * 1000 })
  const dry = await caseway(['blobs', 'gc', '--dry-run', '--json', '--dir', dir])
  t.equal(dry.code, 0, dry.stderr)
  t.same(JSON.parse(dry.stdout), { dryRun: true, examined: 1, referenced: 0, young: 0, freed: 1, bytesFreed: 200_000 })
  t.equal((await blobFiles()).length, 1, 'a dry run deletes nothing')

  const run = await caseway(['blobs', 'gc', '--dir', dir])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^freed 1 blobs \(200000 bytes\)/)
  t.same(await blobFiles(), [])
  const admin = new LocalClient({ baseUrl: metro.process.localUrl, token: metro.token })
  t.match(await admin.collectBlobs(false), { examined: 0, freed: 0 })
})
