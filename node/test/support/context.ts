/**
 * A real NodeContext for tests: the SQLite metadata store and the filesystem blob store in a
 * temporary directory, a real organization PKI (org CA, signing and TLS certificates from
 * `#certs`), and a job queue that records what was enqueued instead of running it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { issueNodeCertificate, privateKeyToPem } from '#certs'
import { createTestOrg, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { parseConfig } from '../../src/config/load.ts'
import type { Clock, Identity, Jobs, NodeContext } from '../../src/context.ts'
import type { AnyNodeEvent } from '../../src/events.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
import { signedObjectAnchors, tlsAnchors } from '../../src/partners/trust_anchors.ts'
import { openSqliteMetadataStore } from '../../src/store/sqlite/sqlite_metadata_store.ts'

export interface EnqueuedJob {
  kind: string
  ref: string
  payload: Record<string, unknown> | undefined
}

export interface TestContext {
  ctx: NodeContext
  /** The node's own organization. */
  self: TestOrg
  /** Jobs enqueued so far, in order. */
  jobs: EnqueuedJob[]
  /** Domain events recorded so far, in order. */
  events: AnyNodeEvent[]
  /** How many times `trustChanged` was called. */
  trustChanges: () => number
  dir: string
  close(): Promise<void>
}

export interface TestContextOptions {
  org?: string
  clock?: Clock
  /** Overrides of the configuration file's `transfers` and `limits`. */
  transfers?: Record<string, unknown>
  limits?: Record<string, unknown>
}

/** A NodeContext on real stores in a fresh temporary directory; call `close()` when done. */
export async function createTestContext(options: TestContextOptions = {}): Promise<TestContext> {
  const org = options.org ?? 'county-pd'
  const dir = await mkdtemp(join(tmpdir(), 'caseway-node-'))
  const config = parseConfig(
    {
      org,
      name: `Org ${org}`,
      federation: { port: 0, publicUrl: `https://${org}.test:8443` },
      local: { port: 0 },
      transfers: { chunkSize: 65536, ...options.transfers },
      limits: { ...options.limits },
      log: { level: 'silent' },
    },
    dir,
  )
  const self = await createTestOrg(org)
  const tls = await issueNodeCertificate(self.ca, { org, name: self.name, hosts: [`${org}.test`] })
  const identity: Identity = {
    org,
    name: self.name,
    signer: self.signer,
    tls: { key: await privateKeyToPem(tls.privateKey), cert: tls.certificate.toString('pem'), ca: self.anchor.certificate },
    caCertificate: self.anchor.certificate,
  }
  const store = await openSqliteMetadataStore(join(dir, 'caseway.db'))
  const blobs = await openFsBlobStore(join(dir, 'blobs'))
  const enqueued: EnqueuedJob[] = []
  const jobs: Jobs = {
    async enqueue(kind, ref, payload) {
      enqueued.push({ kind, ref, payload })
    },
  }
  let trustChanges = 0
  const events: AnyNodeEvent[] = []
  const ctx: NodeContext = {
    config,
    identity,
    store,
    blobs,
    jobs,
    clock: options.clock ?? { now: () => new Date() },
    log: pino({ level: 'silent' }),
    trustAnchors: () => signedObjectAnchors(store, identity),
    tlsAnchors: () => tlsAnchors(store),
    async trustChanged() {
      trustChanges += 1
    },
    async record(event) {
      events.push(event)
    },
  }
  return {
    ctx,
    self,
    jobs: enqueued,
    events,
    trustChanges: () => trustChanges,
    dir,
    async close() {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
