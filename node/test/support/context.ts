/**
 * A real NodeContext for tests: the SQLite metadata store and the filesystem blob store in a
 * temporary directory, a real organization PKI (org CA, signing and TLS certificates from
 * `#certs`), wired by the node's own `buildContext` (outbox, audit trail, live revisions), with
 * a job queue that records what was enqueued and never runs it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { issueNodeCertificate, privateKeyToPem } from '#certs'
import { createTestOrg, type TestOrg } from '../../../testkit/fixtures/orgs.ts'
import { parseConfig } from '../../src/config/load.ts'
import { buildContext } from '../../src/build_context.ts'
import type { Clock, Identity, Jobs, NodeContext } from '../../src/context.ts'
import type { AnyNodeEvent } from '../../src/events.ts'
import { jobQueue } from '../../src/jobs/queue.ts'
import type { BlobStore } from '../../src/store/blob_store.ts'
import { openFsBlobStore } from '../../src/store/fs_blob_store.ts'
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
  /** Overrides of the configuration file's `local` (its port stays 0). */
  local?: Record<string, unknown>
  /** The blob store (default: the filesystem store in the temporary directory). */
  blobs?: BlobStore
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
      local: { ...options.local, port: 0 },
      transfers: { chunkSize: 65536, ...options.transfers },
      limits: { ...options.limits },
      log: { level: 'silent' },
      // A revision per change, so that tests read it at once (the window has its own tests).
      sharing: { revisionWindowMs: 0 },
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
  const blobs = options.blobs ?? (await openFsBlobStore(join(dir, 'blobs')))
  const clock = options.clock ?? { now: () => new Date() }
  const enqueued: EnqueuedJob[] = []
  // The product's queue (rows in the action's transaction), noting each committed job; the runner is never started.
  const queue = jobQueue({ clock, wake: () => undefined })
  const jobs: Jobs = {
    async enqueue(tx, kind, ref, payload, runAt) {
      await queue.enqueue(tx, kind, ref, payload, runAt)
      tx.afterCommit(() => void enqueued.push({ kind, ref, payload }))
    },
  }
  const events: AnyNodeEvent[] = []
  const built = await buildContext(config, {
    store,
    blobs,
    clock,
    identity,
    jobs,
    logger: pino({ level: 'silent' }),
    observers: [(event) => void events.push(event)],
  })
  let trustChanges = 0
  built.onTrustChanged(() => void (trustChanges += 1))
  const { ctx } = built
  return {
    ctx,
    self,
    jobs: enqueued,
    events,
    trustChanges: () => trustChanges,
    dir,
    async close() {
      await built.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
