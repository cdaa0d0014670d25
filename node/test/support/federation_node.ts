/**
 * Nodes for the federation tests, one per test organization (`testkit/fixtures/orgs.ts`: real
 * PKI, a fresh org CA, node TLS certificate and signing certificate per org): the real SQLite
 * and filesystem stores in a test directory, a real federation listener on 127.0.0.1 port 0,
 * and the context `buildContext` wires for a node (peer client, job runner, outbox). Nothing of
 * ours is mocked.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { certificateFingerprint } from '#protocol'
import { CHUNK_SIZE } from '../../../testkit/fixtures/manifests.ts'
import type { TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { parseConfig } from '../../src/config/load.ts'
import { buildContext } from '../../src/build_context.ts'
import type { Clock, NodeContext } from '../../src/context.ts'
import { createFederationServer, type FederationServer } from '../../src/federation/server.ts'
import { createPeerClient, type PeerClient } from '../../src/peer/peer_client.ts'
import type { BlobStore } from '../../src/store/blob_store.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import type { MetadataStore, PartnerRecord } from '../../src/store/metadata_store.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'

/** What tap's `t` offers that the fixtures use. */
interface TestHandle {
  teardown(fn: () => unknown): void
}

/** The addresses a federation test node listens on (every `TestOrg`'s TLS certificate names them). */
export const HOSTS = ['127.0.0.1', 'localhost'] as const

export interface TestNode {
  org: TestOrg
  ctx: NodeContext
  store: MetadataStore
  blobs: BlobStore
  server: FederationServer
  /** `https://127.0.0.1:<port>` */
  url: string
  /** This node's outbound client. */
  peer: PeerClient
  /** Pins `other` as a partner of this node (enabled unless told otherwise) and reloads trust. */
  /** Pins `other`; `trustOnly`: as a trust anchor for signed objects only (CW-PROV-008). */
  addPartner(other: TestOrg, endpoint?: string, enabled?: boolean, trustOnly?: boolean): Promise<PartnerRecord>
  /** The partner record another node would hold for this one. */
  asPartner(): PartnerRecord
}

export interface TestNodeOptions {
  /** Wraps the node's blob store (to misbehave on purpose). */
  wrapBlobs?: (blobs: BlobStore) => BlobStore
  /** Start the job runner (default false: jobs are only stored). */
  runJobs?: boolean
  clock?: Clock
  /** `limits.requestTimeoutMs` (default 5000). */
  requestTimeoutMs?: number
  /** Other `limits` of the configuration (e.g. `rateLimit`). */
  limits?: Record<string, unknown>
  /** `conformance.control` (SPEC.md §21; default false). */
  conformanceControl?: boolean
  /** `sharing.revisionWindowMs` (default 0 here: a revision per change, so tests read it at once). */
  revisionWindowMs?: number
  /** The node's logger (default: silent, or `CASEWAY_TEST_LOG`'s level). */
  logger?: Logger
  /** `federation.chunkBatches` (EP-20, CW-BAT-001; default true). */
  chunkBatches?: boolean
}

/** A node for `org` with its federation listener listening on 127.0.0.1, torn down after the test. */
export async function startTestNode(t: TestHandle, org: TestOrg, options: TestNodeOptions = {}): Promise<TestNode> {
  // One directory per node (tap's testdir is one per test, and a test may start two nodes).
  const dir = await mkdtemp(join(tmpdir(), `caseway-${org.org}-`))
  const config = parseConfig(
    {
      org: org.org,
      name: org.name,
      federation: {
        host: '127.0.0.1',
        port: 0,
        publicUrl: 'https://127.0.0.1',
        ...(options.chunkBatches === undefined ? {} : { chunkBatches: options.chunkBatches }),
      },
      local: { port: 0 },
      transfers: { chunkSize: CHUNK_SIZE, parallelChunks: 3, retryBaseMs: 10, retryMaxMs: 200, maxAttempts: 50 },
      limits: { ...options.limits, requestTimeoutMs: options.requestTimeoutMs ?? 5000 },
      log: { level: 'silent' },
      sharing: { revisionWindowMs: options.revisionWindowMs ?? 0 },
      ...(options.conformanceControl === undefined ? {} : { conformance: { control: options.conformanceControl } }),
    },
    dir,
  )
  const store = await openSqliteMetadataStore(join(dir, 'caseway.db'))
  const fsBlobs = await openFsBlobStore(join(dir, 'blobs'))
  const blobs = options.wrapBlobs?.(fsBlobs) ?? fsBlobs
  const built = await buildContext(config, {
    store,
    blobs,
    clock: options.clock ?? { now: () => new Date() },
    identity: org.identity,
    logger: options.logger ?? pino({ level: process.env['CASEWAY_TEST_LOG'] ?? 'silent' }).child({ org: org.org }),
    runner: { pollMs: 50 },
  })
  const { ctx, peer } = built
  const server = await createFederationServer(ctx)
  built.onTrustChanged(async () => void (await server.reloadTrust()))
  await server.app.listen({ host: '127.0.0.1', port: 0 })
  const address = server.app.server.address()
  const url = `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  if (options.runJobs === true) await built.start()
  t.teardown(async () => {
    await server.app.close()
    await built.close()
    await rm(dir, { recursive: true, force: true })
  })

  const node: TestNode = {
    org,
    ctx,
    store,
    blobs,
    server,
    url,
    peer,
    async addPartner(other, endpoint = 'https://127.0.0.1:1', enabled = true, trustOnly = false) {
      const record = { ...partnerRecordOf(other, endpoint, enabled), trustOnly }
      await store.partners.upsert(record)
      await ctx.trustChanged()
      return record
    },
    asPartner() {
      return partnerRecordOf(org, url)
    },
  }
  return node
}

/** The partner record a node holds for `org`. */
export function partnerRecordOf(org: TestOrg, endpoint: string, enabled = true): PartnerRecord {
  return {
    org: org.org,
    name: org.name,
    endpoint,
    caCertificate: org.caPem,
    caFingerprint: certificateFingerprint(org.caPem),
    enabled,
    policyId: null,
    policyVersion: null,
    addedAt: Math.floor(Date.now() / 1000),
    trustOnly: false,
  }
}

/** A peer client speaking as `org` (its TLS identity), for requests to a node under test. */
export function clientFor(t: TestHandle, node: TestNode, org: TestOrg): PeerClient {
  const client = createPeerClient({ identity: org.identity, clock: node.ctx.clock, config: node.ctx.config })
  t.teardown(() => client.close())
  return client
}
