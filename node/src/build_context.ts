/**
 * The composition root: builds a node's context — stores, identity, clock, logger, outbox and
 * its consumers, job queue and runner, peer client, metrics — from its configuration, with
 * any part overridden (tests give their own stores, clock, logger, identity or job queue).
 * `createNode` adds the two listeners on top; every test helper that needs a context builds
 * it here too, so tests run the wiring production runs.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { pino, type Logger } from 'pino'
import { auditConsumer } from './audit/audit_trail.ts'
import { ConfigError, nodePath, replicaIdOf } from './config/load.ts'
import type { NodeConfig } from './config/schema.ts'
import type { Clock, Identity, Jobs, NodeContext } from './context.ts'
import { loadIdentity } from './identity.ts'
import { JobRunner, type JobHandler } from './jobs/job_runner.ts'
import { JOB } from './jobs/kinds.ts'
import { jobQueue } from './jobs/queue.ts'
import { notificationJobHandlers } from './notifications/notification_jobs.ts'
import { notificationConsumer } from './notifications/notification_consumer.ts'
import { startBlobCollection } from './operations/blob_collector.ts'
import { createMetrics, type NodeMetrics } from './operations/metrics.ts'
import { observedPeerClient } from './operations/observed_peer_client.ts'
import { Outbox } from './outbox/outbox.ts'
import { createActions, type EventObserver } from './outbox/transaction.ts'
import { signedObjectAnchors, tlsAnchors } from './partners/trust_anchors.ts'
import { createPeerClient, type PeerClient } from './peer/peer_client.ts'
import { fetchJobHandler } from './receiving/fetch_job.ts'
import { receiptJobHandler } from './receiving/receipt_job.ts'
import { linkPackageJobHandler } from './links/link_package.ts'
import { linkEmailJobHandler } from './links/link_email.ts'
import { revocationJobHandlers } from './revocation/revoke_share.ts'
import { packageOfferJobHandlers } from './links/package_offer.ts'
import { inboundPackageJobHandlers } from './inbound_packages/pull_job.ts'
import { liveRevisionConsumer } from './sending/live_revisions.ts'
import { offerJobHandler } from './sending/offer_job.ts'
import type { BlobStore } from './store/blob_store.ts'
import { openConfiguredBlobStore } from './store/open_blob_store.ts'
import type { MetadataStore } from './store/metadata_store.ts'
import { openConfiguredMetadataStore } from './store/open_metadata_store.ts'
import { partnerContactWriter } from './partners/contacts.ts'

export interface ContextOverrides {
  /** Default: the store `storage.metadata` names (SQLite at `storage.database` unless configured). */
  store?: MetadataStore
  /** Default: the store `storage.blobs` names (the filesystem or S3). */
  blobs?: BlobStore
  /** Default: the system clock. */
  clock?: Clock
  /** Default: pino JSON at the configured level on stdout. */
  logger?: Logger
  /** Default: read from the pki directory. */
  identity?: Identity
  /** The outbound client, given the context (default: `createPeerClient`); it is observed by the metrics either way. */
  peer?: (ctx: NodeContext) => PeerClient
  /** Replaces the job queue (a test that records what was queued). */
  jobs?: Jobs
  /** See every event once its action committed, after the metrics (tests collect them). */
  observers?: readonly EventObserver[]
  /** Job runner tuning (tests poll faster, stop sooner). */
  runner?: { pollMs?: number; stopTimeoutMs?: number }
  /** Only these job kinds run (default: all); others stay stored. */
  jobKinds?: readonly string[]
}

export interface BuiltContext {
  readonly ctx: NodeContext
  readonly metrics: NodeMetrics
  /** A request to or from a partner succeeded: counted by the metrics, its time stored (`partners/contacts.ts`). */
  readonly peerSucceeded: (peerOrg: string) => void
  /** The peer client the jobs use (observed by the metrics). */
  readonly peer: PeerClient
  readonly runner: JobRunner
  readonly outbox: Outbox
  /** Called by `ctx.trustChanged()` (the federation listener reloads its CAs). */
  onTrustChanged(listener: () => void | Promise<void>): void
  /**
   * Re-reads the pki directory and, when the TLS certificate or key changed (a renewal), makes
   * `ctx.identity` the new one; refuses a different CA (partners pinned its fingerprint).
   * Says whether the TLS material changed.
   */
  reloadIdentity(): Promise<{ changed: boolean }>
  /** Drains what a previous run left in the outbox, then starts the job runner and the blob collector's timer. */
  start(): Promise<void>
  /** Stops the blob collector, the job runner and the outbox; the stores stay open (see `close`). */
  stop(): Promise<void>
  /** `stop`, then closes the peer client and the metadata store. */
  close(): Promise<void>
}

const systemClock: Clock = { now: () => new Date() }

/** How long a share waits for a partner's EP-4 to learn its versions (CW-VER-004). */
const VERSION_PROBE_TIMEOUT_MS = 5000
/** How long a partner whose EP-4 did not answer is not asked again. */
const VERSION_PROBE_BACKOFF_MS = 60_000

export async function buildContext(config: NodeConfig, overrides: ContextOverrides = {}): Promise<BuiltContext> {
  const log = overrides.logger ?? pino({ level: config.log.level, base: { org: config.org } })
  const clock = overrides.clock ?? systemClock
  const pkiDir = nodePath(config, config.pki.dir)
  let identity = overrides.identity ?? (await loadIdentity(pkiDir, config.org, config.name))
  await mkdir(config.dir, { recursive: true, mode: 0o700 })
  const store = overrides.store ?? (await openConfiguredMetadataStore(config))
  const blobs = overrides.blobs ?? (await openConfiguredBlobStore(config))

  const trustListeners: Array<() => void | Promise<void>> = []
  let runner: JobRunner | undefined
  // The consumers need the context, the context needs the outbox: bound once both exist.
  let actions: Pick<NodeContext, 'transaction' | 'record'> | undefined
  let knownKinds: ReadonlySet<string> = new Set()
  const jobs = overrides.jobs ?? jobQueue({ clock, wake: () => runner?.wake(), kinds: () => knownKinds })
  const ctx: NodeContext = {
    config,
    // A getter: SIGHUP may replace the identity with renewed certificates (`reloadIdentity`).
    get identity() {
      return identity
    },
    store,
    blobs,
    jobs,
    clock,
    log,
    trustAnchors: () => signedObjectAnchors(store, ctx.identity),
    tlsAnchors: () => tlsAnchors(store),
    async trustChanged() {
      for (const listener of trustListeners) await listener()
    },
    transaction: (work) => actions!.transaction(work),
    record: (event) => actions!.record(event),
  }
  const metrics = createMetrics(ctx)
  const outbox = new Outbox({
    store,
    log: log.child({ component: 'outbox' }),
    // The audit trail first: it is what CW-AUD-001 promises.
    consumers: [auditConsumer(store), notificationConsumer(ctx), liveRevisionConsumer(ctx)],
    // The revision window is measured on the node's clock, and so are the deferrals it causes.
    now: () => clock.now().getTime(),
  })
  actions = createActions({ store, clock, log, outbox, observers: [metrics.observe, ...(overrides.observers ?? [])] })

  const recordContact = partnerContactWriter(ctx)
  const peerSucceeded = (peerOrg: string): void => {
    metrics.peerSucceeded(peerOrg)
    recordContact(peerOrg)
  }
  const peer = observedPeerClient(overrides.peer?.(ctx) ?? createPeerClient(ctx), peerSucceeded)
  // spec: CW-VER-004 — before the first manifest for a partner, its EP-4 says which versions it
  // supports (the peer client records them from every answer). Bounded: a partner that does not
  // answer gets 0.1 until one of its answers says otherwise.
  // A partner whose EP-4 did not answer is not asked again for a while: shares made meanwhile
  // do not each wait for it (they are signed 0.1, which it verifies whatever it supports).
  const unanswered = new Map<string, number>()
  ctx.probePartnerVersions = async (partnerOrg) => {
    const partner = await store.partners.get(partnerOrg)
    if (partner === undefined || !partner.enabled || partner.trustOnly || peer.health === undefined) return
    if ((unanswered.get(partnerOrg) ?? 0) > Date.now()) return
    try {
      await peer.health(partner, AbortSignal.timeout(VERSION_PROBE_TIMEOUT_MS))
      unanswered.delete(partnerOrg)
    } catch (err) {
      unanswered.set(partnerOrg, Date.now() + VERSION_PROBE_BACKOFF_MS)
      log.warn({ err, partner: partnerOrg }, 'partner versions unknown: its EP-4 did not answer; signing 0.1 for now')
    }
  }
  const handlers: Record<string, JobHandler> = {
    [JOB.offer]: offerJobHandler(ctx, peer),
    [JOB.fetch]: fetchJobHandler(ctx, peer, metrics),
    [JOB.receipt]: receiptJobHandler(ctx, peer),
    ...notificationJobHandlers(ctx),
    ...revocationJobHandlers(ctx, peer),
    [JOB.linkPackage]: linkPackageJobHandler(ctx),
    [JOB.linkEmail]: linkEmailJobHandler(ctx),
    ...packageOfferJobHandlers(ctx, peer),
    ...inboundPackageJobHandlers(ctx, peer),
  }
  knownKinds = new Set(Object.keys(handlers))
  const kinds = overrides.jobKinds
  runner = new JobRunner({
    store,
    clock,
    log: log.child({ component: 'jobs' }),
    handlers: kinds === undefined ? handlers : Object.fromEntries(Object.entries(handlers).filter(([kind]) => kinds.includes(kind))),
    concurrency: 4,
    pollMs: overrides.runner?.pollMs,
    stopTimeoutMs: overrides.runner?.stopTimeoutMs,
    retryBaseMs: config.transfers.retryBaseMs,
    retryMaxMs: config.transfers.retryMaxMs,
    maxAttempts: config.transfers.maxAttempts,
    owner: replicaIdOf(config),
    leaseSeconds: config.replica.jobLeaseSeconds,
  })
  const started = runner
  const drained = outbox

  let collection: { stop(): Promise<void> } | undefined
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await collection?.stop()
    await started.stop()
    await drained.stop()
  }
  return {
    ctx,
    metrics,
    peerSucceeded,
    peer,
    runner: started,
    outbox: drained,
    onTrustChanged: (listener) => void trustListeners.push(listener),
    async reloadIdentity() {
      const next = await loadIdentity(pkiDir, config.org, config.name)
      if (next.caCertificate !== identity.caCertificate) {
        throw new ConfigError(`${pkiDir}/ca.crt changed: a new CA changes the fingerprint partners pinned; restart the node to use it`)
      }
      const changed = next.tls.cert !== identity.tls.cert || next.tls.key !== identity.tls.key
      if (changed) identity = next
      return { changed }
    },
    async start() {
      await drained.start()
      await started.start()
      collection = startBlobCollection(ctx)
    },
    stop,
    async close() {
      await stop()
      await peer.close()
      await store.close()
    },
  }
}
