/**
 * storage.*: the scaled-out stores (issue 14). `postgres_s3`: a transfer between two nodes that
 * keep their metadata in PostgreSQL and their evidence in S3 (s3rver, not MinIO: reported, no
 * target). `replicas.failover_ms`: from the SIGKILL of the replica doing the work to the next
 * chunk stored on the receiver, once with the sender replicated (the partner's pulls go on
 * through the other replica) and once with the receiver replicated (the other replica takes
 * the fetch job over once its lease has run out); target ≤ 2 × the lease.
 *
 * The servers, nodes and replicas are those of the integration tests (`node/test/support/`),
 * started here and stopped at the end.
 *
 * @module
 */
import { generatedContent } from '../../testkit/content.ts'
import { waitFor } from '../../testkit/wait.ts'
import { openPostgresMetadataStore } from '../../node/src/store/postgres/postgres_metadata_store.ts'
import { startPostgresServer, type TestPostgresServer } from '../../node/test/support/postgres_server.ts'
import { blobFiles, chunkRequests, pair, startOrg, type OrgProcess } from '../../node/test/support/processes.ts'
import { startReplicatedOrg } from '../../node/test/support/replicas.ts'
import { s3BlobSettings, startS3Server, type TestS3Server } from '../../node/test/support/s3_server.ts'
import { assignReviewPolicy, waitDelivered } from '../../node/test/support/video_share.ts'
import { progress } from './log.ts'
import { MiB } from './files.ts'

const CHUNK = 4_194_304
const LEASE_SECONDS = 5
const transfers = { chunkSize: CHUNK as 4_194_304, retryBaseMs: 100, retryMaxMs: 1000 }
const DELIVERY_TIMEOUT_MS = 30 * 60_000

export interface StorageRun {
  postgres_s3: { size_mb: number; MBps: number; delivered_ms: number }
  replicas: { failover_ms: { sender: number; receiver: number }; lease_s: number; size_mb: number }
}

/** Runs `work` with a teardown list that is emptied (last first) whatever happens. */
async function withTeardown<T>(work: (handle: { teardown(fn: () => unknown): void }) => Promise<T>): Promise<T> {
  const cleanups: Array<() => unknown> = []
  try {
    return await work({ teardown: (fn) => void cleanups.push(fn) })
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined)
  }
}

const storageOf = async (postgres: TestPostgresServer, s3: TestS3Server, prefix: string) => ({
  metadata: { kind: 'postgres', url: await postgres.createDatabase(), poolSize: 4 },
  blobs: s3BlobSettings(s3, prefix),
})

/** A case holding one generated video of `sizeMb` on `sender`, shared with `receiverOrg`; the share id. */
async function shareVideo(sender: OrgProcess['api'], receiverOrg: string, sizeMb: number, name: string): Promise<string> {
  const theCase = await sender.createCase({ caseNumber: `BENCH-${name}`, title: name })
  await sender.uploadEvidence(theCase.id, { name: `${name}.mp4`, category: 'video', mediaType: 'video/mp4' }, generatedContent(sizeMb * MiB, name))
  return (await sender.createShare({ caseId: theCase.id, partnerOrg: receiverOrg, scope: 'case' })).id
}

/** storage.postgres_s3: both nodes on PostgreSQL + S3; from the share to its delivery. */
async function postgresS3(sizeMb: number): Promise<StorageRun['postgres_s3']> {
  return withTeardown(async (handle) => {
    const [postgres, s3] = await Promise.all([startPostgresServer(handle), startS3Server(handle)])
    const [metro, county] = await Promise.all([
      startOrg(handle, { org: 'metro-pd', name: 'Metro PD', settings: { transfers, storage: await storageOf(postgres, s3, 'metro-pd/') } }),
      startOrg(handle, { org: 'county-da', name: 'County DA', settings: { transfers, storage: await storageOf(postgres, s3, 'county-da/') } }),
    ])
    await pair(metro, county)
    await assignReviewPolicy(metro.api, county.org)
    const theCase = await metro.api.createCase({ caseNumber: 'BENCH-PG-S3', title: 'storage' })
    progress(`storage.postgres_s3: uploading ${sizeMb} MiB into S3`)
    await metro.api.uploadEvidence(theCase.id, { name: 'video.mp4', category: 'video', mediaType: 'video/mp4' }, generatedContent(sizeMb * MiB, 'pg-s3'))
    const start = performance.now()
    const share = await metro.api.createShare({ caseId: theCase.id, partnerOrg: county.org, scope: 'case' })
    await waitDelivered(metro.api, share.id, DELIVERY_TIMEOUT_MS)
    const deliveredMs = performance.now() - start
    progress(`storage.postgres_s3: ${sizeMb} MiB delivered in ${Math.round(deliveredMs)} ms`)
    return { size_mb: sizeMb, MBps: sizeMb / (deliveredMs / 1000), delivered_ms: Math.round(deliveredMs) }
  })
}

/** Waits until `count()` exceeds `from`; the time it took from `since`. */
async function resumedAfter(what: string, count: () => Promise<number>, from: number, since: number): Promise<number> {
  await waitFor(what, async () => ((await count()) > from ? true : undefined), { timeoutMs: 120_000, intervalMs: 20 })
  return Math.round(performance.now() - since)
}

/** The sender replicated: the replica serving the pulls is killed; until the next chunk is stored. */
async function senderFailover(sizeMb: number): Promise<number> {
  return withTeardown(async (handle) => {
    const [postgres, s3] = await Promise.all([startPostgresServer(handle), startS3Server(handle)])
    const storage = await storageOf(postgres, s3, 'metro-pd/')
    const [metro, county] = await Promise.all([
      startReplicatedOrg(handle, { org: 'metro-pd', name: 'Metro PD', settings: { transfers }, storage, jobLeaseSeconds: LEASE_SECONDS }),
      startOrg(handle, { org: 'county-da', name: 'County DA', settings: { transfers } }),
    ])
    const [one, two] = metro.replicas
    await one.api.importPartner(county.node.bundle, county.node.caFingerprint)
    await county.api.importPartner(metro.bundle, metro.caFingerprint)
    await assignReviewPolicy(one.api, county.org)
    const shareId = await shareVideo(one.api, county.org, sizeMb, 'sender-failover')
    const held = async () => (await blobFiles(county.node)).size
    await waitFor('chunks on county-da', async () => ((await held()) >= 2 ? true : undefined), { timeoutMs: 120_000, intervalMs: 20 })
    const served = await Promise.all(metro.replicas.map(async (replica) => [...chunkRequests(await replica.logs(), shareId).values()].length))
    const victim = served[0]! >= served[1]! ? one : two
    const survivor = victim === one ? two : one
    const before = await held()
    const killedAt = performance.now()
    await victim.kill()
    const ms = await resumedAfter('a chunk stored after the kill', held, before, killedAt)
    await waitDelivered(survivor.api, shareId, DELIVERY_TIMEOUT_MS)
    progress(`storage.replicas: sender replica ${victim.id} killed; the next chunk stored after ${ms} ms`)
    return ms
  })
}

/** The receiver replicated: the replica holding the fetch job is killed; until the next chunk is stored. */
async function receiverFailover(sizeMb: number): Promise<number> {
  return withTeardown(async (handle) => {
    const [postgres, s3] = await Promise.all([startPostgresServer(handle), startS3Server(handle)])
    const storage = await storageOf(postgres, s3, 'county-da/')
    const [metro, county] = await Promise.all([
      startOrg(handle, { org: 'metro-pd', name: 'Metro PD', settings: { transfers } }),
      startReplicatedOrg(handle, { org: 'county-da', name: 'County DA', settings: { transfers }, storage, jobLeaseSeconds: LEASE_SECONDS }),
    ])
    const [one, two] = county.replicas
    await metro.api.importPartner(county.bundle, county.caFingerprint)
    await one.api.importPartner(metro.node.bundle, metro.node.caFingerprint)
    await assignReviewPolicy(metro.api, county.org)
    const shareId = await shareVideo(metro.api, county.org, sizeMb, 'receiver-failover')
    const stored = async () => (await s3.keys('county-da/sha256/')).length
    await waitFor('chunks in county-da’s bucket', async () => ((await stored()) >= 2 ? true : undefined), { timeoutMs: 120_000, intervalMs: 20 })
    const store = await openPostgresMetadataStore({ url: storage.metadata.url, readOnly: true, poolSize: 1 })
    const fetching = await store.jobs
      .list()
      .then((jobs) => jobs.find((job) => job.kind === 'fetch' && job.state === 'running'))
      .finally(() => store.close())
    const victim = fetching?.claimedBy === two.id ? two : one
    const before = await stored()
    const killedAt = performance.now()
    await victim.kill()
    const ms = await resumedAfter('a chunk stored after the kill', stored, before, killedAt)
    await waitDelivered(metro.api, shareId, DELIVERY_TIMEOUT_MS)
    progress(`storage.replicas: receiver replica ${victim.id} killed; the next chunk stored after ${ms} ms (lease ${LEASE_SECONDS} s)`)
    return ms
  })
}

export async function storageRun(transferMb: number, failoverMb: number): Promise<StorageRun> {
  const postgres_s3 = await postgresS3(transferMb)
  const sender = await senderFailover(failoverMb)
  const receiver = await receiverFailover(failoverMb)
  return { postgres_s3, replicas: { failover_ms: { sender, receiver }, lease_s: LEASE_SECONDS, size_mb: failoverMb } }
}
