/**
 * `npm run demo:replicas`: Metro PD runs as two replicas behind one federation address (a TCP
 * pass-through proxy: mutual TLS ends at each replica), sharing one PostgreSQL database and one
 * S3 bucket, both started here; County DA is one node on the embedded default. Metro PD shares a
 * case with County DA, the replica serving County DA's pulls is killed (SIGKILL) mid-transfer,
 * and the other replica finishes the share. The checks made are printed; exit status 1 if one fails.
 *
 * @module
 */
import { caseway } from '../test/support/cli.ts'
import { generatedContent } from '../testkit/content.ts'
import { waitFor } from '../testkit/wait.ts'
import { openPostgresMetadataStore } from '../node/src/store/postgres/postgres_metadata_store.ts'
import { startPostgresServer } from '../node/test/support/postgres_server.ts'
import { s3BlobSettings, startS3Server } from '../node/test/support/s3_server.ts'
import { blobFiles, chunkRequests, startOrg } from '../node/test/support/processes.ts'
import { startReplicatedOrg } from '../node/test/support/replicas.ts'
import { assignReviewPolicy, waitDelivered } from '../node/test/support/video_share.ts'

const MiB = 1 << 20
const SIZE = 64 * MiB
const CHUNK = 1_048_576
const transfers = { chunkSize: CHUNK as 1_048_576, retryBaseMs: 100, retryMaxMs: 1000 }

const cleanups: Array<() => unknown> = []
const handle = { teardown: (fn: () => unknown) => void cleanups.push(fn) }
const failures: string[] = []
const check = (ok: boolean, what: string) => {
  console.log(`  ${ok ? 'ok' : 'FAILED'}: ${what}`)
  if (!ok) failures.push(what)
}

async function main(): Promise<void> {
  console.log('Starting PostgreSQL and an S3 server (s3rver) …')
  const [postgres, s3] = await Promise.all([startPostgresServer(handle), startS3Server(handle)])
  const metadataUrl = await postgres.createDatabase()
  const storage = { metadata: { kind: 'postgres', url: metadataUrl, poolSize: 4 }, blobs: s3BlobSettings(s3, 'metro-pd/') }
  console.log('Starting Metro PD as two replicas behind one address, and County DA …')
  const [metro, county] = await Promise.all([
    startReplicatedOrg(handle, { org: 'metro-pd', name: 'Metro PD', settings: { transfers }, storage, jobLeaseSeconds: 5 }),
    startOrg(handle, { org: 'county-da', name: 'County DA', settings: { transfers } }),
  ])
  const [one, two] = metro.replicas
  console.log(`Metro PD's federation address ${metro.proxy.url} forwards to ${one.id} and ${two.id}.`)
  await one.api.importPartner(county.node.bundle, county.node.caFingerprint)
  await county.api.importPartner(metro.bundle, metro.caFingerprint)
  await assignReviewPolicy(two.api, county.org)
  const theCase = await one.api.createCase({ caseNumber: 'MPD-DEMO-R', title: 'Warehouse burglary' })
  const video = await two.api.uploadEvidence(theCase.id, { name: 'dock.mp4', category: 'video', mediaType: 'video/mp4' }, generatedContent(SIZE, 'dock'))
  console.log(`Uploaded dock.mp4 (${SIZE / MiB} MiB) into S3; sharing the case with County DA …`)
  const share = await one.api.createShare({ caseId: theCase.id, partnerOrg: county.org, scope: 'case' })
  await waitFor('some chunks on County DA', async () => ((await blobFiles(county.node)).size >= 4 ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 })
  const served = await Promise.all(
    metro.replicas.map(async (replica) => [...chunkRequests(await replica.logs(), share.id).values()].reduce((a, b) => a + b, 0)),
  )
  const victim = served[0]! >= served[1]! ? one : two
  const survivor = victim === one ? two : one
  const held = await blobFiles(county.node)
  console.log(`Killing ${victim.id} (SIGKILL) mid-transfer: County DA holds ${held.size} of ${SIZE / CHUNK} chunks.`)
  await victim.kill()
  await waitDelivered(survivor.api, share.id, 90_000)
  console.log(`delivered (by ${survivor.id})`)

  const external = (await county.api.listExternalCases()).find((c) => c.shareId === share.id)
  const [item] = external === undefined ? [] : (await county.api.getExternalCase(external.id)).evidence
  const download = item === undefined ? undefined : await county.api.downloadExternalEvidence(external!.id, item.id)
  check(download?.digest === video.digest && download.size === SIZE, `County DA serves the same ${SIZE / MiB} MiB (SHA-256 ${video.digest.slice(7, 19)}…)`)
  const after = await blobFiles(county.node)
  const rewritten = [...held].filter(([digest, file]) => after.get(digest)?.ino !== file.ino)
  check(after.size === SIZE / CHUNK && rewritten.length === 0, 'no chunk stored twice on County DA')
  const store = await openPostgresMetadataStore({ url: metadataUrl, readOnly: true, poolSize: 1 })
  const jobs = await store.jobs.list().finally(() => store.close())
  const done = jobs.filter((job) => job.state === 'done').map((job) => `${job.kind} ${job.ref}`)
  check(new Set(done).size === done.length && !jobs.some((job) => job.state === 'dead'), `each job done once across the replicas (${done.length} done)`)
  for (const [name, dir] of [
    ['Metro PD (in PostgreSQL)', one.dir],
    ['County DA', county.node.dir],
  ] as const) {
    const verified = await caseway(['audit', 'verify', '--dir', dir])
    check(verified.code === 0, `caseway audit verify: ${name}`)
  }
}

try {
  await main()
} catch (error) {
  failures.push(String(error))
  console.error(error)
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined)
}
console.log(failures.length === 0 ? 'All checks passed.' : `${failures.length} check(s) failed.`)
process.exitCode = failures.length === 0 ? 0 : 1
