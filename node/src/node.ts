/**
 * A Caseway node: both listeners, the stores, the peer client and the job runner, wired
 * together from a validated configuration. `start()` opens everything and listens;
 * `stop()` closes listeners first, then lets running jobs stop, then closes the stores, so a
 * SIGTERM never leaves half-done work (jobs resume at the next start).
 *
 * @module
 */
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger, type LoggerOptions } from 'pino'
import { buildContext, type ContextOverrides } from './build_context.ts'
import { loadConfig } from './config/load.ts'
import type { NodeConfig } from './config/schema.ts'
import type { Clock, NodeContext } from './context.ts'
import { createFederationServer } from './federation/server.ts'
import { createLocalServer } from './local/server.ts'
import type { NodeMetrics } from './operations/metrics.ts'
import { createOpsServer } from './operations/ops_server.ts'
import { createDownloadServer, downloadTls } from './links/download_server.ts'
import type { Outbox } from './outbox/outbox.ts'

export interface CasewayNode {
  readonly ctx: NodeContext
  /** Where domain events wait for their consumers (audit trail, notifications, live revisions). */
  readonly outbox: Outbox
  /** This node's metrics (its own Prometheus registry), served at /metrics on the local listener. */
  readonly metrics: NodeMetrics
  /** `https://host:port` of the federation listener, once started. */
  readonly federationUrl: string
  /** `http://host:port` of the local listener, once started. */
  readonly localUrl: string
  /** `http://host:port` of the ops listener once started; '' when none is configured. */
  readonly opsUrl: string
  /** `https://host:port` of the download listener once started; '' when none is configured. */
  readonly downloadUrl: string
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * What SIGHUP does: re-reads `caseway.json` for the log level, the partner list for the
   * federation listener's trust, and the pki directory for a renewed TLS certificate. What
   * cannot change without a restart (addresses, stores, the CA) is left as it is. Logs and
   * returns what it did; a failed part is reported and leaves the running node unchanged.
   */
  reload(): Promise<ReloadReport>
}

/** What `reload()` did, one entry per part. */
export interface ReloadReport {
  logLevel: { from: string; to: string } | { error: string }
  partners: { trustedCas: number } | { error: string }
  certificate: { renewed: boolean } | { error: string }
}

/** A listener that could not open: names the listener, the address and the setting to change. */
export class ListenerBindError extends Error {
  override name = 'ListenerBindError'
  readonly listener: string
  readonly address: string
  readonly configKey: string
  constructor(listener: string, address: string, configKey: string, cause: Error) {
    const why = (cause as { code?: string }).code ?? cause.message
    super(`the ${listener} listener cannot listen on ${address} (${why}): change ${configKey} in caseway.json or free the port`, { cause })
    this.listener = listener
    this.address = address
    this.configKey = configKey
  }
}

export interface CreateNodeOptions extends Omit<ContextOverrides, 'logger'> {
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
  // The PostgreSQL URL holds the database password (config.storage.metadata.url).
  '*.metadata.url',
  '*.storage.metadata.url',
  '*.smtp.password',
  '*.notifications.smtp.password',
  '*.*.notifications.smtp.password',
  '*.webhook.secret',
  '*.notifications.webhook.secret',
  '*.*.notifications.webhook.secret',
  // S3 blob store credentials (config.storage.blobs.accessKey, .secretKey), wherever a config is logged.
  'accessKey',
  'secretKey',
  '*.accessKey',
  '*.secretKey',
  '*.blobs.accessKey',
  '*.blobs.secretKey',
  '*.storage.blobs.accessKey',
  '*.storage.blobs.secretKey',
  '*.*.storage.blobs.accessKey',
  '*.*.storage.blobs.secretKey',
]

/** How often a replica on a shared store re-reads the pinned CAs (CW-LOC-053). */
const TRUST_REFRESH_MS = 2000

/** How long one phase of `stop()` may take before the node moves on. */
const STOP_PHASE_MS = 5000

async function bounded(log: Logger, phase: string, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_PHASE_MS)))
  const outcome = await Promise.race([
    work.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    late,
  ])
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

/** `host:port`, bracketed for IPv6. */
function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

async function listenOrExplain(app: FastifyInstance, listener: string, configKey: string, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port })
  } catch (error) {
    throw new ListenerBindError(listener, hostPort(host, port), configKey, error as Error)
  }
}

/**
 * Pino children take their parent's level when made and keep it: a new level (SIGHUP) is set on
 * the long-lived ones (listeners, components), which the per-request and per-job ones come from.
 */
function levelTracker(): { onChild(child: Logger): void; setLevel(root: Logger, level: string): void } {
  const children = new Set<WeakRef<Logger>>()
  // Dead references are swept when the set doubles, not on every child once it passed 1,024:
  // a per-request child of a listener is tracked too, and until the garbage collector clears
  // them the sweep found nothing and ran again for the next request — a scan of thousands of
  // references per request (17% of the sender's CPU serving 2,000 small chunks).
  let sweepAt = 1024
  return {
    onChild(child) {
      const bindings = child.bindings()
      if (!('listener' in bindings) && !('component' in bindings)) return
      if (children.size >= sweepAt) {
        for (const ref of children) if (ref.deref() === undefined) children.delete(ref)
        sweepAt = Math.max(1024, children.size * 2)
      }
      children.add(new WeakRef(child))
    },
    setLevel(root, level) {
      root.level = level
      for (const ref of children) {
        const child = ref.deref()
        if (child === undefined) children.delete(ref)
        else child.level = level
      }
    },
  }
}

export async function createNode(config: NodeConfig, options: CreateNodeOptions = {}): Promise<CasewayNode> {
  const levels = levelTracker()
  const log = isLogger(options.logger)
    ? options.logger
    : pino({ level: config.log.level, redact: LOG_REDACT, base: { org: config.org }, onChild: levels.onChild, ...options.logger })
  const built = await buildContext(config, { ...options, logger: log })
  const { ctx, metrics } = built
  const observer = { chunkServed: metrics.chunkServed, problemAnswered: metrics.problemAnswered, peerSucceeded: built.peerSucceeded }
  const federation = await createFederationServer(ctx, { logger: log.child({ listener: 'federation' }), observer, requestMetrics: metrics })
  built.onTrustChanged(async () => void (await federation.reloadTrust()))
  // spec: CW-LOC-053 — replicas sharing a PostgreSQL store learn of partners another replica
  // pinned (or disabled) by re-reading the pinned CAs; a single node hears of it at once.
  const trustPoll =
    config.storage.metadata.kind === 'postgres'
      ? setInterval(() => void federation.refreshTrust().catch((err: unknown) => log.warn({ err }, 'refreshing the pinned CAs failed')), TRUST_REFRESH_MS)
      : undefined
  trustPoll?.unref()
  const local = await createLocalServer(ctx, { logger: log.child({ listener: 'local' }), metrics })
  const ops = config.ops === undefined ? undefined : await createOpsServer(ctx, log.child({ listener: 'ops' }), metrics)
  const downloadListener = config.links.downloadListener
  const download = downloadListener === undefined ? undefined : await createDownloadServer(ctx, downloadListener, log.child({ listener: 'download' }), metrics)

  let federationUrl = ''
  let localUrl = ''
  let opsUrl = ''
  let downloadUrl = ''
  return {
    ctx,
    outbox: built.outbox,
    metrics,
    get federationUrl() {
      return federationUrl
    },
    get localUrl() {
      return localUrl
    },
    get opsUrl() {
      return opsUrl
    },
    get downloadUrl() {
      return downloadUrl
    },
    async start() {
      // spec: CW-LOC-019 — a listener that cannot open stops the start (the caller stops the node).
      await listenOrExplain(federation.app, 'federation', 'federation.port', config.federation.host, config.federation.port)
      await listenOrExplain(local, 'local', 'local.port', config.local.host, config.local.port)
      if (ops !== undefined && config.ops !== undefined) {
        await listenOrExplain(ops, 'ops', 'ops.port', config.ops.host, config.ops.port)
        opsUrl = urlOf('http', ops)
      }
      if (download !== undefined && downloadListener !== undefined) {
        await listenOrExplain(download, 'download', 'links.downloadListener.port', downloadListener.host, downloadListener.port)
        downloadUrl = urlOf('https', download)
      }
      federationUrl = urlOf('https', federation.app)
      localUrl = urlOf('http', local)
      // What a crash left in the outbox is handled before new work: audit entries keep their order.
      await built.start()
      log.info(
        { federation: federationUrl, local: localUrl, ...(opsUrl === '' ? {} : { ops: opsUrl }), ...(downloadUrl === '' ? {} : { download: downloadUrl }) },
        'node started',
      )
    },
    async reload() {
      const report: ReloadReport = { logLevel: { error: 'not read' }, partners: { error: 'not read' }, certificate: { error: 'not read' } }
      const message = (error: unknown) => (error instanceof Error ? error.message : String(error))
      try {
        const from = log.level
        const next = await loadConfig(config.dir)
        levels.setLevel(log, next.log.level)
        report.logLevel = { from, to: next.log.level }
      } catch (error) {
        report.logLevel = { error: message(error) }
      }
      try {
        report.certificate = { renewed: (await built.reloadIdentity()).changed }
        // The download listener presents the renewed certificate from its next handshake on.
        download?.server.setSecureContext(downloadTls(ctx))
      } catch (error) {
        report.certificate = { error: message(error) }
      }
      try {
        // Also presents the renewed certificate, if any, from the next handshake on.
        report.partners = { trustedCas: await federation.reloadTrust() }
      } catch (error) {
        report.partners = { error: message(error) }
      }
      const failed = Object.values(report).some((part) => 'error' in part)
      log[failed ? 'warn' : 'info']({ reload: report }, failed ? 'reload (SIGHUP) done in part' : 'reload (SIGHUP) done')
      return report
    },
    async stop() {
      clearInterval(trustPoll)
      // Each phase is bounded, so one stuck connection cannot keep the process from stopping;
      // a phase that runs over is named in the log. Jobs and outbox entries resume at the next start.
      await bounded(
        log,
        'listeners',
        Promise.allSettled([federation.app.close(), local.close(), ...[ops, download].filter((app) => app !== undefined).map((app) => app.close())]),
      )
      await bounded(log, 'jobs', built.stop())
      await bounded(log, 'peer connections', built.peer.close())
      await ctx.store.close()
      log.info('node stopped')
    },
  }
}
