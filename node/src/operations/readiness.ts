/**
 * Readiness (`GET /readyz` on the local listener): can this node do its work right now?
 *
 * - `metadataStore`: the store answers a trivial query;
 * - `blobStore`: the blob store writes, reads back and deletes a probe (`blobs.check()`), at
 *   most once per {@link BLOB_PROBE_INTERVAL_MS}; calls in between get the last result;
 * - `certificates`: node.crt, signing.crt and ca.crt are valid now (days left reported for
 *   each). One expiring within {@link CERTIFICATE_WARN_DAYS} days keeps the node ready — it
 *   still does its job — but says so in the detail (and `caseway_certificate_expiry_seconds`
 *   lets monitoring alert): an orchestrator must not pull a working node weeks early (CW-LOC-021);
 * - `partners`: informative only, never fails readiness — each partner with the time of the
 *   last successful exchange with it (stored, `partners/contacts.ts`, and seen since the start).
 *
 * Every check is bounded by {@link CHECK_TIMEOUT_MS}, so a hung store fails readiness
 * instead of hanging the probe. Free of HTTP.
 *
 * @module
 */
import type { NodeContext } from '../context.ts'
import { certificateLifetimes, daysLeft, type CertificateName } from './certificate_lifetimes.ts'
import { lastContacts } from '../partners/contacts.ts'

/** A certificate expiring sooner than this is worth a warning (never unreadiness while valid). */
export const CERTIFICATE_WARN_DAYS = 30
/** Longest a single check may take. */
export const CHECK_TIMEOUT_MS = 5000

/** `pass`/`fail` decide readiness; `info` never does. */
export type CheckStatus = 'pass' | 'fail' | 'info'

export interface Check {
  status: CheckStatus
  detail: string
}

export interface CertificateState {
  notBefore: string
  notAfter: string
  /** Whole days until `notAfter` (rounded down; negative once expired). */
  daysLeft: number
}

export interface CertificatesCheck extends Check {
  certificates: Partial<Record<CertificateName, CertificateState>>
  /** Certificates valid now but expiring within {@link CERTIFICATE_WARN_DAYS} days (renew them). */
  warnings?: string[]
}

export interface PartnerContact {
  org: string
  name: string
  enabled: boolean
  /** ISO time of the last successful exchange (kept across restarts, `partners/contacts.ts`); null when none. */
  lastSuccess: string | null
}

export interface PartnersCheck extends Check {
  partners: PartnerContact[]
}

export interface Readiness {
  status: 'ready' | 'not-ready'
  checks: { metadataStore: Check; blobStore: Check; certificates: CertificatesCheck; partners: PartnersCheck }
}

export interface ReadinessOptions {
  /** Last successful exchange per partner org seen by this process (the node's metrics keep it), on top of the stored ones. */
  lastSuccess?: () => ReadonlyMap<string, Date>
  /** Per-check time limit, default {@link CHECK_TIMEOUT_MS}. */
  timeoutMs?: number
}

/**
 * The blob probe writes a file: it runs at most once per this interval, and every call in
 * between gets the last result, so that a flood of `/readyz` requests (from anyone who can
 * reach the listener) does not become a flood of writes (CW-LOC-015).
 */
export const BLOB_PROBE_INTERVAL_MS = 10_000

/** The last blob probe per blob store: when it started (node clock) and its outcome. */
const lastBlobProbe = new WeakMap<object, { startedMs: number; result: Promise<Check> }>()

/** The blob store check, throttled to one probe per {@link BLOB_PROBE_INTERVAL_MS} (concurrent calls share one). */
function blobStoreCheck(ctx: NodeContext, timeoutMs: number): Promise<Check> {
  const nowMs = ctx.clock.now().getTime()
  const last = lastBlobProbe.get(ctx.blobs)
  if (last !== undefined && nowMs >= last.startedMs && nowMs - last.startedMs < BLOB_PROBE_INTERVAL_MS) return last.result
  const result = bounded(timeoutMs, { status: 'fail', detail: '' }, async (): Promise<Check> => {
    await ctx.blobs.check()
    return { status: 'pass', detail: 'blob store writes and reads back' }
  })
  lastBlobProbe.set(ctx.blobs, { startedMs: nowMs, result })
  return result
}

export async function checkReadiness(ctx: NodeContext, options: ReadinessOptions = {}): Promise<Readiness> {
  const timeoutMs = options.timeoutMs ?? CHECK_TIMEOUT_MS
  const [metadataStore, blobStore, certificates, partners] = await Promise.all([
    bounded(timeoutMs, { status: 'fail', detail: '' }, async (): Promise<Check> => {
      await ctx.store.ping()
      return { status: 'pass', detail: 'metadata store answers' }
    }),
    blobStoreCheck(ctx, timeoutMs),
    bounded(timeoutMs, { status: 'fail', detail: '', certificates: {} }, async () => certificatesCheck(ctx)),
    bounded(timeoutMs, { status: 'info', detail: '', partners: [] }, async () => partnersCheck(ctx, await lastContacts(ctx, options.lastSuccess?.()))),
  ])
  const ready = [metadataStore, blobStore, certificates].every((check) => check.status === 'pass')
  return { status: ready ? 'ready' : 'not-ready', checks: { metadataStore, blobStore, certificates, partners } }
}

function certificatesCheck(ctx: NodeContext): CertificatesCheck {
  const now = ctx.clock.now()
  const certificates: CertificatesCheck['certificates'] = {}
  const problems: string[] = []
  const warnings: string[] = []
  for (const lifetime of certificateLifetimes(ctx.identity)) {
    const left = daysLeft(lifetime, now)
    certificates[lifetime.certificate] = {
      notBefore: lifetime.notBefore.toISOString(),
      notAfter: lifetime.notAfter.toISOString(),
      daysLeft: Math.floor(left),
    }
    if (lifetime.notBefore > now) problems.push(`${lifetime.certificate} is not valid before ${lifetime.notBefore.toISOString()}`)
    else if (left <= 0) problems.push(`${lifetime.certificate} expired at ${lifetime.notAfter.toISOString()}`)
    else if (left < CERTIFICATE_WARN_DAYS) warnings.push(`${lifetime.certificate} expires in ${Math.floor(left)} days: renew it`)
  }
  if (problems.length > 0) return { status: 'fail', detail: problems.join('; '), certificates }
  if (warnings.length > 0) return { status: 'pass', detail: `every certificate is valid now; ${warnings.join('; ')}`, certificates, warnings }
  return { status: 'pass', detail: `every certificate is valid for at least ${CERTIFICATE_WARN_DAYS} more days`, certificates }
}

async function partnersCheck(ctx: NodeContext, contacts: ReadonlyMap<string, Date>): Promise<PartnersCheck> {
  // Trust-only anchors (CW-PROV-008) are never exchanged with: not partners here.
  const partners = (await ctx.store.partners.list())
    .filter((partner) => !partner.trustOnly)
    .map((partner) => ({
      org: partner.org,
      name: partner.name,
      enabled: partner.enabled,
      lastSuccess: contacts.get(partner.org)?.toISOString() ?? null,
    }))
  const silent = partners.filter((partner) => partner.enabled && partner.lastSuccess === null).length
  return {
    status: 'info',
    detail: `${partners.length} partners; ${silent} enabled without a successful exchange yet (informative)`,
    partners,
  }
}

/** Runs `check`; a failure or a timeout becomes `failed` with the reason as detail. */
async function bounded<T extends Check>(timeoutMs: number, failed: T, check: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve({ ...failed, detail: `no answer within ${timeoutMs} ms` }), timeoutMs)
  })
  try {
    return await Promise.race([check().catch((error: unknown) => ({ ...failed, detail: describe(error) })), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code
  const message = error instanceof Error ? error.message : String(error)
  return typeof code === 'string' ? `${code}: ${message}` : message
}
