/**
 * `caseway status`: what an operator on call wants in one view. The node's organization and
 * listeners come from `caseway.json` of `--dir`; most of the rest from the running node's
 * public local routes (no token needed): `/healthz`, `/readyz` (store checks, partners with
 * their last successful exchange, kept across restarts) and `/metrics` (shares per status,
 * failed notification attempts; absent when `metrics.enabled` is off). The jobs retrying or
 * dead come from `GET /api/v1/jobs/failing`, which takes an administrator's token (`--token`,
 * `CASEWAY_TOKEN` or the `admin.token` of `--dir`); without one the view says they are unknown
 * rather than failing. Certificate lifetimes are read from the files in the node's PKI
 * directory — what the node will use after its next reload — or, with `--url` and no node
 * directory, from `/readyz`.
 *
 * Exit 0 when the node answers `/healthz` (ready or not: the view says which), 1 when it
 * cannot be reached.
 *
 * @module
 */
import type { Command } from 'commander'
import type { FailingJob } from '../../client/local_client.ts'
import type { NodeConfig } from '../../node/src/config/schema.ts'
import { fields, isoTime, print, printable, table } from '../output.ts'

interface StatusOptions {
  dir: string
  url?: string
  token?: string
  json?: boolean
}

interface Check {
  status: string
  detail: string
}

interface ReadinessAnswer {
  status: 'ready' | 'not-ready'
  checks: {
    metadataStore: Check
    blobStore: Check
    certificates: Check & { certificates: Record<string, { notAfter: string; daysLeft: number }> }
    partners: Check & { partners: Array<{ org: string; name: string; enabled: boolean; lastSuccess: string | null }> }
  }
}

export interface CertificateStatus {
  notAfter: string
  daysLeft: number
}

export interface NodeStatus {
  node: { org: string; name: string } | null
  listeners: {
    local: { url: string; address: string | null; healthz: 'ok'; readyz: 'ready' | 'not-ready' | 'no answer' }
    federation: { address: string; publicUrl: string } | null
    ops: { address: string } | null
  }
  store: { metadataStore: Check; blobStore: Check } | null
  /** Whole days left per certificate (`node`, `signing`, `ca`), and where they were read. */
  certificates: { source: 'pki' | 'readyz'; node?: CertificateStatus; signing?: CertificateStatus; ca?: CertificateStatus } | null
  /** `lastContact`: the last successful exchange in either direction, kept across restarts (null: none yet). */
  partners: Array<{ org: string; name: string; enabled: boolean; lastContact: string | null }> | null
  /** Shares per direction and status, from `/metrics` (null when metrics are off). */
  shares: Record<string, Record<string, number>> | null
  /** Failed notification attempts per channel since the node started, from `/metrics`. */
  notificationFailures: Record<string, number> | null
  /** The jobs whose last attempt failed (retrying or dead), or why they are unknown (no admin token, refused). */
  jobs: { failing: FailingJob[] } | { unknown: string }
}

const CERTIFICATE_FILES = { node: 'node.crt', signing: 'signing.crt', ca: 'ca.crt' } as const
/** A node that does not answer its own loopback listener within this is as good as down. */
const ANSWER_TIMEOUT_MS = 10_000

export function register(program: Command): void {
  program
    .command('status')
    .description(
      "the node at a glance: listeners, store health, certificate days left, partners' last contact, shares in flight, jobs retrying or dead (those with an admin token)",
    )
    .option('--dir <dir>', 'node directory (its caseway.json names the listeners and the PKI directory)', './data')
    .option('--url <url>', 'local API base URL (default: from caseway.json of --dir)')
    .option('--token <token>', "an administrator's bearer token, to list the jobs retrying or dead (default: $CASEWAY_TOKEN, else the admin.token of --dir)")
    .option('--json', 'print the status as JSON')
    .action(async (options: StatusOptions) => {
      const status = await nodeStatus(options)
      if (options.json === true) print(JSON.stringify(status, null, 2) + '\n')
      else print(describe(status))
    })
}

async function nodeStatus(options: StatusOptions): Promise<NodeStatus> {
  const { loadConfig } = await import('../../node/src/config/load.ts')
  const { cannotReach, localUrlOf } = await import('../local_api.ts')
  // With --url the node directory is optional (the status then lacks what only it knows).
  const config = options.url === undefined ? await loadConfig(options.dir) : await loadConfig(options.dir).catch(() => undefined)
  const url = options.url?.replace(/\/+$/, '') ?? localUrlOf(config!)

  const health = await get(url, '/healthz').catch((error: unknown) => {
    throw cannotReach(url, error)
  })
  if (health.status !== 200) throw new Error(`the node at ${url} is not healthy: /healthz answered HTTP ${health.status}`)
  const readiness = await readinessOf(url)
  const metrics = await metricsOf(url)
  const jobs = await failingJobsOf(url, options)

  return {
    node: config === undefined ? null : { org: config.org, name: config.name },
    listeners: {
      local: {
        url,
        address: config === undefined ? null : address(config.local),
        healthz: 'ok',
        readyz: readiness?.status ?? 'no answer',
      },
      federation: config === undefined ? null : { address: address(config.federation), publicUrl: config.federation.publicUrl },
      ops: config?.ops === undefined ? null : { address: address(config.ops) },
    },
    store: readiness === undefined ? null : { metadataStore: readiness.checks.metadataStore, blobStore: readiness.checks.blobStore },
    certificates: config === undefined ? certificatesFromReadiness(readiness) : await certificatesOnDisk(config),
    partners:
      readiness?.checks.partners.partners.map((partner) => ({
        org: partner.org,
        name: partner.name,
        enabled: partner.enabled,
        lastContact: partner.lastSuccess,
      })) ?? null,
    shares: metrics === undefined ? null : shareCounts(metrics),
    notificationFailures: metrics === undefined ? null : notificationFailures(metrics),
    jobs,
  }
}

/** The jobs retrying or dead, through the local API with an administrator's token. */
async function failingJobsOf(url: string, options: StatusOptions): Promise<NodeStatus['jobs']> {
  const { apiToken, throughApi } = await import('../local_api.ts')
  const token = await apiToken(options)
  if (token === undefined) return { unknown: 'no token: give --token, set CASEWAY_TOKEN, or keep the admin token in the node directory' }
  const { LocalClient } = await import('../../client/local_client.ts')
  const client = new LocalClient({ baseUrl: url, token })
  try {
    return { failing: await throughApi(url, () => client.listFailingJobs()) }
  } catch (error) {
    const { code } = error as { code?: unknown }
    return { unknown: `${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}` }
  }
}

function get(url: string, path: string): Promise<Response> {
  return fetch(`${url}${path}`, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) })
}

/** `/readyz` answers JSON both when ready (200) and when not (503). */
async function readinessOf(url: string): Promise<ReadinessAnswer | undefined> {
  try {
    const response = await get(url, '/readyz')
    if (response.status !== 200 && response.status !== 503) return undefined
    return (await response.json()) as ReadinessAnswer
  } catch {
    return undefined
  }
}

/** The Prometheus text of `/metrics`, or undefined when metrics are off. */
async function metricsOf(url: string): Promise<string | undefined> {
  try {
    const response = await get(url, '/metrics')
    return response.status === 200 ? await response.text() : undefined
  } catch {
    return undefined
  }
}

function address(listener: { host: string; port: number }): string {
  return `${listener.host.includes(':') ? `[${listener.host}]` : listener.host}:${listener.port}`
}

async function certificatesOnDisk(config: NodeConfig): Promise<NodeStatus['certificates']> {
  const { readFile } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const { nodePath } = await import('../../node/src/config/load.ts')
  const { pemToX509 } = await import('../../protocol/src/x509/parse.ts')
  const pkiDir = nodePath(config, config.pki.dir)
  const now = Date.now()
  const certificates: NonNullable<NodeStatus['certificates']> = { source: 'pki' }
  for (const [certificate, file] of Object.entries(CERTIFICATE_FILES) as Array<[keyof typeof CERTIFICATE_FILES, string]>) {
    const notAfter = pemToX509(await readFile(join(pkiDir, file), 'utf8')).validToDate
    certificates[certificate] = { notAfter: notAfter.toISOString(), daysLeft: Math.floor((notAfter.getTime() - now) / 86_400_000) }
  }
  return certificates
}

function certificatesFromReadiness(readiness: ReadinessAnswer | undefined): NodeStatus['certificates'] {
  if (readiness === undefined) return null
  const certificates: NonNullable<NodeStatus['certificates']> = { source: 'readyz' }
  for (const certificate of Object.keys(CERTIFICATE_FILES) as Array<keyof typeof CERTIFICATE_FILES>) {
    const state = readiness.checks.certificates.certificates[certificate]
    if (state !== undefined) certificates[certificate] = { notAfter: state.notAfter, daysLeft: state.daysLeft }
  }
  return certificates
}

/** The samples of one metric: its labels and value, e.g. `caseway_shares{direction="outbound",status="failed"} 2`. */
function samples(metrics: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const found: Array<{ labels: Record<string, string>; value: number }> = []
  for (const line of metrics.split('\n')) {
    const match = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`).exec(line)
    if (match === null) continue
    const labels = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1]!, label[2]!]))
    found.push({ labels, value: Number(match[2]) })
  }
  return found
}

function shareCounts(metrics: string): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {}
  for (const { labels, value } of samples(metrics, 'caseway_shares')) {
    const direction = labels['direction'] ?? 'unknown'
    ;(counts[direction] ??= {})[labels['status'] ?? 'unknown'] = value
  }
  return counts
}

function notificationFailures(metrics: string): Record<string, number> {
  return Object.fromEntries(samples(metrics, 'caseway_notification_failures_total').map(({ labels, value }) => [labels['channel'] ?? 'unknown', value]))
}

function describeCheck(check: Check): string {
  return `${check.status}${check.detail === '' ? '' : ` (${check.detail})`}`
}

function describeCounts(counts: Record<string, number> | undefined): string {
  const entries = Object.entries(counts ?? {}).filter(([, count]) => count > 0)
  return entries.length === 0 ? 'none' : entries.map(([status, count]) => `${count} ${status}`).join(', ')
}

/** The human view. */
function describe(status: NodeStatus): string {
  const { local, federation, ops } = status.listeners
  const rows: Array<[string, string]> = []
  if (status.node !== null) rows.push(['node', `${status.node.org} (${status.node.name})`])
  rows.push(['local', `${local.url}${local.address === null ? '' : ` (listening on ${local.address})`}: healthz ok, readyz ${local.readyz}`])
  if (federation !== null) rows.push(['federation', `${federation.address}, published as ${federation.publicUrl}`])
  if (status.node !== null) rows.push(['ops', ops === null ? 'not configured' : ops.address])
  if (status.store !== null) {
    rows.push(['metadata store', describeCheck(status.store.metadataStore)])
    rows.push(['blob store', describeCheck(status.store.blobStore)])
  }
  if (status.certificates !== null) {
    const { source, ...lifetimes } = status.certificates
    for (const [certificate, lifetime] of Object.entries(lifetimes)) {
      rows.push([
        `${certificate} certificate`,
        `${lifetime.daysLeft} days left (until ${lifetime.notAfter}; read from ${source === 'pki' ? 'the PKI directory' : '/readyz'})`,
      ])
    }
  }
  if (status.shares === null) rows.push(['shares', 'unknown (metrics.enabled is off)'])
  else {
    rows.push(['outbound shares', describeCounts(status.shares['outbound'])])
    rows.push(['inbound shares', describeCounts(status.shares['inbound'])])
  }
  if (status.notificationFailures !== null) rows.push(['notification failures', describeCounts(status.notificationFailures)])
  return fields(rows) + describePartners(status.partners) + describeJobs(status.jobs)
}

function describePartners(partners: NodeStatus['partners']): string {
  if (partners === null) return '\npartners: unknown (no answer from /readyz)\n'
  if (partners.length === 0) return '\npartners: none\n'
  let text = '\npartners (last contact: the last successful exchange, in either direction)\n'
  text += 'ORG                   ENABLED  LAST CONTACT          NAME\n'
  for (const partner of partners) {
    text += `${printable(partner.org).padEnd(20)}  ${(partner.enabled ? 'yes' : 'no').padEnd(7)}  ${(partner.lastContact ?? 'none').padEnd(20)}  ${printable(partner.name)}\n`
  }
  return text
}

function describeJobs(jobs: NodeStatus['jobs']): string {
  if ('unknown' in jobs) return `\njobs retrying or dead: unknown (${printable(jobs.unknown)})\n`
  if (jobs.failing.length === 0) return '\njobs retrying or dead: none\n'
  const rows = jobs.failing.map((job) => [
    job.kind,
    job.status,
    String(job.attempts),
    isoTime(job.nextAttemptAt),
    job.subject === null ? '-' : `${job.subject.type} ${job.subject.id}`,
    job.subject?.partner ?? '-',
    // One line per job: the error's first line says what went wrong.
    job.lastError?.split('\n')[0] ?? '-',
  ])
  return '\njobs retrying or dead\n' + table(['KIND', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'SUBJECT', 'PARTNER', 'LAST ERROR'], rows)
}
