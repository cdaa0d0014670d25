/**
 * A Caseway node: both listeners, the stores, the peer client and the job runner, wired
 * together from a validated configuration. `start()` opens everything and listens;
 * `stop()` closes listeners first, then lets running jobs stop, then closes the stores, so a
 * SIGTERM never leaves half-done work (jobs resume at the next start).
 *
 * @module
 */
import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger, type LoggerOptions } from 'pino'
import { nodePath } from './config/load.ts'
import type { NodeConfig } from './config/schema.ts'
import type { Clock, Jobs, NodeContext } from './context.ts'
import { EventBus } from './events.ts'
import { createFederationServer } from './federation/server.ts'
import { loadIdentity } from './identity.ts'
import { JobRunner } from './jobs/job_runner.ts'
import { createLocalServer } from './local/server.ts'
import { createMetrics, type NodeMetrics } from './operations/metrics.ts'
import { observedPeerClient } from './operations/observed_peer_client.ts'
import { notificationJobHandlers } from './notifications/notification_jobs.ts'
import { notificationSubscriber } from './notifications/notification_subscriber.ts'
import { createPeerClient } from './peer/peer_client.ts'
import { auditSubscriber } from './audit/audit_trail.ts'
import { exchangeJobHandlers } from './receiving/exchange_jobs.ts'
import { revocationJobHandlers } from './revocation/revoke_share.ts'
import { openFsBlobStore } from './store/fs_blob_store.ts'
import { openSqliteMetadataStore } from './store/sqlite/sqlite_metadata_store.ts'
import { signedObjectAnchors, tlsAnchors } from './partners/trust_anchors.ts'

export interface CasewayNode {
  readonly ctx: NodeContext
  /** Subscribe to domain events (audit trail, notifications, metrics). */
  readonly events: EventBus
  /** This node's metrics (its own Prometheus registry), served at /metrics on the local listener. */
  readonly metrics: NodeMetrics
  /** `https://host:port` of the federation listener, once started. */
  readonly federationUrl: string
  /** `http://host:port` of the local listener, once started. */
  readonly localUrl: string
  start(): Promise<void>
  stop(): Promise<void>
}

export interface CreateNodeOptions {
  clock?: Clock
  /** A logger, or pino options (default: JSON at the configured level on stdout). */
  logger?: Logger | LoggerOptions
}

/** Never log secrets: tokens, keys, PEMs and JWS bodies are redacted wherever they appear. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  '*.privateKey',
  '*.key',
  '*.token',
  '*.secret',
  '*.jws',
  '*.manifestJws',
  '*.receiptJws',
  // Notification secrets (config.notifications.smtp.password, config.notifications.webhook.secret).
  'password',
  '*.password',
  '*.smtp.password',
  '*.notifications.smtp.password',
  '*.*.notifications.smtp.password',
  '*.webhook.secret',
  '*.notifications.webhook.secret',
  '*.*.notifications.webhook.secret',
]

const systemClock: Clock = { now: () => new Date() }

/** How long one phase of `stop()` may take before the node moves on. */
const STOP_PHASE_MS = 5000

async function bounded(log: Logger, phase: string, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_PHASE_MS)))
  const outcome = await Promise.race([work.then(() => 'done' as const, () => 'done' as const), late])
  clearTimeout(timer)
  if (outcome === 'late') log.warn({ phase, ms: STOP_PHASE_MS }, 'stop phase ran over its bound: moving on')
}

function isLogger(value: Logger | LoggerOptions | undefined): value is Logger {
  return typeof (value as Logger | undefined)?.child === 'function'
}

/** The URL a listener answers on; a wildcard bind is shown as loopback. */
function urlOf(scheme: 'http' | 'https', app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo
  const wildcard = address.address === '0.0.0.0' || address.address === '::'
  const host = wildcard ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${scheme}://${host}:${address.port}`
}

export async function createNode(config: NodeConfig, options: CreateNodeOptions = {}): Promise<CasewayNode> {
  const log = isLogger(options.logger)
    ? options.logger
    : pino({ level: config.log.level, redact: LOG_REDACT, base: { org: config.org }, ...options.logger })
  const clock = options.clock ?? systemClock
  const identity = await loadIdentity(nodePath(config, config.pki.dir), config.org, config.name)
  await mkdir(config.dir, { recursive: true, mode: 0o700 })
  const store = await openSqliteMetadataStore(nodePath(config, config.storage.database))
  const blobs = await openFsBlobStore(nodePath(config, config.storage.blobs))

  const events = new EventBus((error, event) => log.error({ err: error, event: event.type }, 'event subscriber failed'))
  // The audit trail first: when `record` resolves, the entry is committed (CW-AUD-001).
  events.subscribe(auditSubscriber({ store, clock }))
  let runner: JobRunner | undefined
  let reloadTrust: (() => Promise<void>) | undefined
  const jobs: Jobs = {
    enqueue: (kind, ref, payload, runAt) => {
      if (runner === undefined) throw new Error('job runner not started')
      return runner.enqueue(kind, ref, payload, runAt)
    },
  }
  const ctx: NodeContext = {
    config,
    identity,
    store,
    blobs,
    jobs,
    clock,
    log,
    trustAnchors: () => signedObjectAnchors(store, identity),
    tlsAnchors: () => tlsAnchors(store),
    async trustChanged(): Promise<void> {
      await reloadTrust?.()
    },
    record: (event) => events.record(event),
  }
  events.subscribe(notificationSubscriber(ctx))
  const metrics = createMetrics(ctx)
  events.subscribe(metrics.observe)
  const peer = observedPeerClient(createPeerClient(ctx), metrics.peerSucceeded)
  runner = new JobRunner({
    store,
    clock,
    log: log.child({ component: 'jobs' }),
    handlers: { ...exchangeJobHandlers(ctx, peer, metrics), ...notificationJobHandlers(ctx), ...revocationJobHandlers(ctx, peer) },
    concurrency: 4,
    retryBaseMs: config.transfers.retryBaseMs,
    retryMaxMs: config.transfers.retryMaxMs,
    maxAttempts: config.transfers.maxAttempts,
  })
  const federation = await createFederationServer(ctx, { logger: log.child({ listener: 'federation' }), observer: metrics })
  reloadTrust = federation.reloadTrust
  const local = await createLocalServer(ctx, { logger: log.child({ listener: 'local' }), metrics })

  let federationUrl = ''
  let localUrl = ''
  return {
    ctx,
    events,
    metrics,
    get federationUrl() {
      return federationUrl
    },
    get localUrl() {
      return localUrl
    },
    async start() {
      await federation.app.listen({ host: config.federation.host, port: config.federation.port })
      await local.listen({ host: config.local.host, port: config.local.port })
      federationUrl = urlOf('https', federation.app)
      localUrl = urlOf('http', local)
      await runner!.start()
      log.info({ federation: federationUrl, local: localUrl }, 'node started')
    },
    async stop() {
      // Each phase is bounded, so one stuck connection cannot keep the process from stopping;
      // a phase that runs over is named in the log. Jobs resume at the next start either way.
      await bounded(log, 'listeners', Promise.allSettled([federation.app.close(), local.close()]))
      await bounded(log, 'jobs', runner!.stop())
      await bounded(log, 'peer connections', peer.close())
      await store.close()
      log.info('node stopped')
    },
  }
}
