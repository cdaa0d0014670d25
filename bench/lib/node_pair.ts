/**
 * Two real Caseway nodes, A (sender) and B (receiver), each created with `caseway init` and run
 * with `caseway start` as its own child process (`process.execPath bin/caseway.js start …`, so
 * the child's pid is the node itself; started by `testkit/node_process.ts`), listening on
 * 127.0.0.1 only, paired over the local API (`client/local_client.ts`).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PartnerBundle } from '#protocol'
import { LocalClient, type PolicyInput, type Share } from '../../client/local_client.ts'
import { CASEWAY_BIN, freePorts, startNodeProcess } from '../../testkit/node_process.ts'
import { stopChild, trackChild } from './cleanup.ts'
import { commandLine, peakRssMb, sleep } from './proc.ts'

const START_TIMEOUT_MS = 60_000
/** Times one local API call waits out the per-token rate limit before it fails. */
const RATE_LIMIT_RETRIES = 10

let rateLimitWaits = 0

/** How many times a local API call of the bench waited out a 429 so far (the benchmark reports it). */
export function rateLimitWaitCount(): number {
  return rateLimitWaits
}

export interface NodeOptions {
  /** Extra Node.js options of the node processes (e.g. `--cpu-prof --cpu-prof-dir=…`). */
  nodeArgs?: string[]
  /** The `caseway.js` the nodes run (default: this checkout's `bin/caseway.js`, the TypeScript sources). */
  bin?: string
  /** Merged into both nodes' `caseway.json` (e.g. `{ "transfers": { "parallelChunks": 8 } }`) for what-if runs. */
  config?: Record<string, unknown>
}

export interface RunningNode {
  org: string
  dir: string
  api: LocalClient
  pid: number
  child: ChildProcess
  fingerprint: string
  bundle: PartnerBundle
  /** The node's JSON log (its stdout). */
  logFile: string
}

export interface InitializedNode {
  org: string
  dir: string
  token: string
  fingerprint: string
}

/** `caseway init` in `dir`, then binds the federation listener to 127.0.0.1 (instead of 0.0.0.0). */
export async function initBenchNode(dir: string, org: string, name: string, overrides: Record<string, unknown> = {}): Promise<InitializedNode> {
  const [federationPort, localPort] = (await freePorts(2)) as [number, number]
  const args = [
    CASEWAY_BIN,
    'init',
    '--org',
    org,
    '--name',
    name,
    '--dir',
    dir,
    '--host',
    '127.0.0.1',
    '--federation-port',
    String(federationPort),
    '--local-port',
    String(localPort),
  ]
  const { stdout, stderr, code } = await run(process.execPath, args)
  if (code !== 0) throw new Error(`caseway init ${org} exited ${code}: ${stderr.trim()}`)
  const fingerprint = /CA fingerprint\s+(sha256:[0-9a-f]{64})/.exec(stdout)?.[1]
  if (fingerprint === undefined) throw new Error(`caseway init ${org} printed no fingerprint:\n${stdout}`)
  // init writes the first admin token to <dir>/admin.token (mode 0600) and never prints it.
  const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim()
  if (!token.startsWith('cw_')) throw new Error(`caseway init ${org} wrote no admin token in ${join(dir, 'admin.token')}`)
  const configPath = join(dir, 'caseway.json')
  const config = merge(JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>, overrides) as { federation: { host?: string } }
  config.federation.host = '127.0.0.1'
  await writeFile(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
  return { org, dir, token, fingerprint }
}

/** `caseway start --dir …` as a child process; resolves when it prints its local URL. */
export async function startBenchNode(init: InitializedNode, options: NodeOptions): Promise<RunningNode> {
  const logFile = join(init.dir, 'node.log')
  const bin = options.bin ?? CASEWAY_BIN
  const started = await startNodeProcess({
    dir: init.dir,
    logFile,
    argv: [...(options.nodeArgs ?? []), bin, 'start', '--dir', init.dir],
    timeoutMs: START_TIMEOUT_MS,
    onSpawn: (child) => void trackChild(child),
  })
  const pid = started.pid
  const argv = await commandLine(pid)
  if (argv[0] !== process.execPath || !argv.includes(bin) || !argv.includes('start')) {
    throw new Error(`pid ${pid} is not the node process: ${argv.join(' ')}`)
  }
  const bundle = JSON.parse(await readFile(join(init.dir, 'pki', 'partner-bundle.json'), 'utf8')) as PartnerBundle
  const api = new LocalClient({
    baseUrl: started.localUrl,
    token: init.token,
    rateLimitRetries: RATE_LIMIT_RETRIES,
    onRateLimited: () => void (rateLimitWaits += 1),
  })
  await api.healthz()
  return { org: init.org, dir: init.dir, api, pid, child: started.child, fingerprint: init.fingerprint, bundle, logFile }
}

export interface NodePair {
  a: RunningNode
  b: RunningNode
  /** Policy id assigned by A to B. */
  policyId: string
  /** Peak RSS (MiB) of each node once started and paired, before any evidence. */
  idleRss: { sender: number; receiver: number }
}

export const BENCH_POLICY: PolicyInput = {
  name: 'Bench: view, download and apply updates',
  permissions: { view: true, download: true, import: false, applyUpdates: true, shareOnward: { allowed: false, maxDepth: 0 } },
  content: { caseFields: ['title'], evidenceCategories: ['video', 'document'], attachments: false },
  maxDurationSeconds: 86_400,
}

/**
 * What the bench changes in both nodes' configuration: no local API request limit. Its default
 * (6,000 a minute per token) would bound a bulk upload at 100 items a second and measure the
 * limiter, not the node; an integration that imports whole cases raises it the same way.
 */
const BENCH_CONFIG = { limits: { rateLimit: { localPerMinute: 0 } } }

/** What the bench sets in a node's `caseway.json`: {@link BENCH_CONFIG}, then the run's `--config`, then `extra`. */
export function benchConfig(options: NodeOptions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return merge(merge(BENCH_CONFIG, options.config ?? {}), extra)
}

/** Creates, starts and pairs nodes A and B under `dir`; A has a download policy assigned to B. */
export async function startPair(dir: string, options: NodeOptions = {}): Promise<NodePair> {
  await mkdir(dir, { recursive: true })
  const config = benchConfig(options)
  const [initA, initB] = await Promise.all([
    initBenchNode(join(dir, 'a'), 'bench-sender', 'Bench Sender', config),
    initBenchNode(join(dir, 'b'), 'bench-receiver', 'Bench Receiver', config),
  ])
  const [a, b] = await Promise.all([startBenchNode(initA, options), startBenchNode(initB, options)])
  await a.api.importPartner(b.bundle, b.fingerprint)
  await b.api.importPartner(a.bundle, a.fingerprint)
  const policy = await a.api.createPolicy(BENCH_POLICY)
  await a.api.assignPolicy(b.org, policy.id)
  const idleRss = { sender: await peakRssMb(a.pid), receiver: await peakRssMb(b.pid) }
  return { a, b, policyId: policy.id, idleRss }
}

/** Stops one node (no-op if already stopped). */
export async function stopBenchNode(node: RunningNode): Promise<void> {
  await stopChild(node.child)
}

/** Stops both nodes (no-op for one already stopped). */
export async function shutdownPair(pair: NodePair): Promise<void> {
  await Promise.all([stopChild(pair.a.child), stopChild(pair.b.child)])
}

/** Peak RSS of both nodes (read now), then stops them. */
export async function stopPair(pair: NodePair): Promise<{ sender: number; receiver: number }> {
  const [sender, receiver] = await Promise.all([peakRssMb(pair.a.pid), peakRssMb(pair.b.pid)])
  await Promise.all([stopChild(pair.a.child), stopChild(pair.b.child)])
  return { sender, receiver }
}

/** Polls A's share every `intervalMs` until it is delivered; throws on rejected. */
export async function waitDelivered(api: LocalClient, shareId: string, intervalMs = 50, timeoutMs = 3_600_000): Promise<Share> {
  const deadline = Date.now() + timeoutMs
  let lastFailure = ''
  for (;;) {
    const share = await api.getShare(shareId)
    if (share.status === 'delivered') return share
    if (share.status === 'rejected' || share.status === 'revoked' || share.status === 'expired' || share.status === 'failed') {
      throw new Error(`share ${shareId} ended ${share.status}: ${share.statusCode} ${share.statusDetail}`)
    }
    if (share.status === 'retrying' && share.statusDetail !== lastFailure) {
      lastFailure = share.statusDetail ?? ''
      process.stderr.write(`bench: share ${shareId} failed for now (${share.statusCode}: ${share.statusDetail}); the node retries\n`)
    }
    if (Date.now() > deadline) throw new Error(`share ${shareId} not delivered after ${timeoutMs} ms (status ${share.status})`)
    await sleep(intervalMs)
  }
}

/** `base` with `overrides` merged in, objects recursively. */
function merge(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(overrides)) {
    const current = result[key]
    result[key] = isObject(value) && isObject(current) ? merge(current, value) : value
  }
  return result
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = trackChild(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ stdout, stderr, code }))
  })
}
