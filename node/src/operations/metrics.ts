/**
 * The node's Prometheus metrics (served at `/metrics` on the local listener).
 *
 * Each node has its own prom-client `Registry`, never the global default one, so that two
 * nodes in one process (tests, the demo) keep separate series. Values come from three places:
 * - domain events (`observe`, called by `buildContext` after each action commits): transfer durations,
 *   notification failures, rejections after a transfer;
 * - helpers the listeners and jobs call: bytes served and stored, problems answered by the
 *   federation listener, successful exchanges with a partner;
 * - the store and the identity, read at scrape time: share counts, certificate expiry.
 *
 * The series (README "Operations"):
 * `caseway_shares{direction,status}`, `caseway_bytes_sent_total{peer}`,
 * `caseway_bytes_received_total{peer}`, `caseway_verification_failures_total{code}`,
 * `caseway_transfer_duration_seconds{direction}`, `caseway_notification_failures_total{channel}`,
 * `caseway_blobs_freed_total`, `caseway_blob_bytes_freed_total`,
 * `caseway_peer_last_success_timestamp_seconds{peer}`, `caseway_certificate_expiry_seconds{certificate}`,
 * `caseway_http_request_duration_seconds{listener,method,route,status}` and prom-client's default
 * process metrics prefixed `caseway_` (but its `nodejs_active_*_total` gauges, which are not
 * counters and fail `promtool check metrics`).
 *
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { NodeContext } from '../context.ts'
import type { AnyNodeEvent } from '../events.ts'
import { certificateLifetimes } from './certificate_lifetimes.ts'

export interface NodeMetrics {
  /** This node's registry (never prom-client's global one). */
  readonly registry: Registry
  /** Media type of {@link NodeMetrics.expose}'s text (Prometheus text format 0.0.4). */
  readonly contentType: string
  /** The exposition text; store-backed gauges are read now. */
  expose(): Promise<string>
  /** Sees each domain event once its action committed (an observer of `buildContext`). */
  observe(event: AnyNodeEvent): Promise<void>
  /** EP-2: `bytes` of a chunk were sent in full to `peerOrg`. */
  chunkServed(peerOrg: string, bytes: number): void
  /** The fetch job stored `bytes` of a chunk pulled from `peerOrg`. */
  chunkStored(peerOrg: string, bytes: number): void
  /** A request to or from `peerOrg` succeeded (either direction). */
  peerSucceeded(peerOrg: string): void
  /** The federation listener answered a problem with `code`. */
  problemAnswered(code: string): void
  /** Time of the last successful exchange with each partner since this process started. */
  lastSuccess(): ReadonlyMap<string, Date>
  /** A listener answered a request: `route` is the route pattern (never the raw URL, which would explode the series). */
  requestAnswered(listener: string, method: string, route: string, status: number, seconds: number): void
}

/** Transfers last from well under a second (small items, loopback) to hours (gigabytes). */
const DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]
/** Requests take milliseconds (probes, JSON) to minutes (evidence uploads and downloads). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
/** Transfers whose start is remembered in memory; beyond this the oldest are forgotten (the store still knows). */
const MAX_PENDING_TRANSFERS = 10_000

export function createMetrics(ctx: Pick<NodeContext, 'config' | 'identity' | 'store' | 'clock' | 'log'>): NodeMetrics {
  const registry = new Registry()
  const registers = [registry]
  const log = ctx.log.child({ component: 'metrics' })
  const nowMs = () => ctx.clock.now().getTime()

  if (ctx.config.metrics.enabled) {
    collectDefaultMetrics({ register: registry, prefix: 'caseway_' })
    // Gauges named like counters: `promtool check metrics` refuses them (CW-LOC-022).
    for (const name of ['caseway_nodejs_active_handles_total', 'caseway_nodejs_active_requests_total', 'caseway_nodejs_active_resources_total']) {
      registry.removeSingleMetric(name)
    }
  }

  new Gauge({
    name: 'caseway_shares',
    help: 'Shares by direction (outbound: sent by this node; inbound: external cases) and status, counted in the metadata store at scrape time.',
    labelNames: ['direction', 'status'] as const,
    registers,
    async collect() {
      this.reset()
      try {
        for (const { direction, status, count } of await ctx.store.metrics.countShares(Math.floor(nowMs() / 1000))) {
          this.set({ direction, status }, count)
        }
      } catch (error) {
        log.warn({ err: error }, 'share counts unavailable')
      }
    },
  })
  const bytesSent = new Counter({
    name: 'caseway_bytes_sent_total',
    help: 'Chunk bytes served to partners on EP-2 (responses sent in full).',
    labelNames: ['peer'] as const,
    registers,
  })
  const bytesReceived = new Counter({
    name: 'caseway_bytes_received_total',
    help: 'Chunk bytes pulled from partners and stored by the fetch job (after their digest matched).',
    labelNames: ['peer'] as const,
    registers,
  })
  const verificationFailures = new Counter({
    name: 'caseway_verification_failures_total',
    help: 'Problems answered by the federation listener, and revisions this node rejected after receiving them, by problem code.',
    labelNames: ['code'] as const,
    registers,
  })
  const transferDuration = new Histogram({
    name: 'caseway_transfer_duration_seconds',
    help: 'Inbound: offer accepted until every chunk is verified; outbound: share revision created until its delivered receipt.',
    labelNames: ['direction'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  })
  const notificationFailures = new Counter({
    name: 'caseway_notification_failures_total',
    help: 'Failed notification delivery attempts by channel.',
    labelNames: ['channel'] as const,
    registers,
  })
  const blobsFreed = new Counter({
    name: 'caseway_blobs_freed_total',
    help: 'Blobs (evidence chunks) the blob collector deleted because no record named them any more.',
    registers,
  })
  const blobBytesFreed = new Counter({
    name: 'caseway_blob_bytes_freed_total',
    help: 'Bytes of the blobs the blob collector deleted.',
    registers,
  })
  const peerLastSuccess = new Gauge({
    name: 'caseway_peer_last_success_timestamp_seconds',
    help: 'Unix time of the last successful exchange with each partner, in either direction, since the node started.',
    labelNames: ['peer'] as const,
    registers,
  })
  new Gauge({
    name: 'caseway_certificate_expiry_seconds',
    help: "Seconds until this node's certificates expire (negative once expired).",
    labelNames: ['certificate'] as const,
    registers,
    collect() {
      const now = ctx.clock.now().getTime()
      // Read at each scrape: SIGHUP may have renewed them.
      for (const lifetime of certificateLifetimes(ctx.identity)) this.set({ certificate: lifetime.certificate }, (lifetime.notAfter.getTime() - now) / 1000)
    },
  })
  const requestDuration = new Histogram({
    name: 'caseway_http_request_duration_seconds',
    help: 'HTTP requests answered, by listener (federation, local, ops), method, route pattern and status code.',
    labelNames: ['listener', 'method', 'route', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  })

  const contacts = new Map<string, Date>()
  /** Start (ms) of transfers seen starting in this process, by `direction/peer/share/revision`. */
  const started = new Map<string, number>()

  function remember(key: string): void {
    started.delete(key)
    started.set(key, nowMs())
    if (started.size > MAX_PENDING_TRANSFERS) started.delete(started.keys().next().value!)
  }

  /** Observes a finished transfer; `storedStartSeconds` stands in when the start was not seen in this process. */
  async function finished(direction: 'inbound' | 'outbound', key: string, storedStartSeconds: () => Promise<number | undefined>): Promise<void> {
    const startMs = started.get(key) ?? ((await storedStartSeconds()) ?? NaN) * 1000
    started.delete(key)
    if (Number.isFinite(startMs)) transferDuration.observe({ direction }, Math.max(0, nowMs() - startMs) / 1000)
  }

  return {
    registry,
    contentType: registry.contentType,
    expose: () => registry.metrics(),

    async observe(event) {
      switch (event.type) {
        case 'inbound.received':
          remember(`inbound/${event.sender}/${event.shareId}/${event.revision}`)
          break
        case 'inbound.completed':
          await finished('inbound', `inbound/${event.sender}/${event.shareId}/${event.revision}`, async () => {
            const share = await ctx.store.inboundShares.find(event.sender, event.shareId)
            return share?.revision === event.revision ? share.receivedAt : undefined
          })
          break
        case 'inbound.rejected':
          started.delete(`inbound/${event.sender}/${event.shareId}/${event.revision}`)
          verificationFailures.inc({ code: event.code })
          break
        case 'share.created':
          remember(`outbound/${event.partner}/${event.shareId}/${event.revision}`)
          break
        case 'share.delivered':
          await finished('outbound', `outbound/${event.partner}/${event.shareId}/${event.revision}`, async () => {
            return (await ctx.store.outboundShares.getRevision(event.shareId, event.revision))?.createdAt
          })
          break
        case 'share.rejected':
          started.delete(`outbound/${event.partner}/${event.shareId}/${event.revision}`)
          break
        case 'notification.failed':
          notificationFailures.inc({ channel: event.channel })
          break
        case 'blobs.collected':
          blobsFreed.inc(event.freed)
          blobBytesFreed.inc(event.bytes)
          break
        default:
          break
      }
    },

    chunkServed(peerOrg, bytes) {
      bytesSent.inc({ peer: peerOrg }, bytes)
    },
    chunkStored(peerOrg, bytes) {
      bytesReceived.inc({ peer: peerOrg }, bytes)
    },
    peerSucceeded(peerOrg) {
      const now = ctx.clock.now()
      contacts.set(peerOrg, now)
      peerLastSuccess.set({ peer: peerOrg }, now.getTime() / 1000)
    },
    problemAnswered(code) {
      verificationFailures.inc({ code })
    },
    lastSuccess: () => contacts,
    requestAnswered(listener, method, route, status, seconds) {
      requestDuration.observe({ listener, method, route, status: String(status) }, seconds)
    },
  }
}
