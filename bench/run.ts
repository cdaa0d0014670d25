/**
 * The Caseway benchmark (`npm run bench`): Caseway's node-to-node transfer against a plain
 * Node.js mTLS baseline, the nodes' peak memory, and the time to offer a 10,000-item manifest.
 * Progress goes to stderr; stdout gets exactly one JSON object at the end.
 *
 *   npm run -s bench                       1 GiB and 4 GiB, 10,000 items of 16 KiB
 *   npm run -s bench -- --quick            256 MiB and 512 MiB, 1,000 items (+100 in the update)
 *   npm run -s bench -- --only transfer    (or manifest, package, storage: PostgreSQL + S3 and replica failover, or chain: in-process 5-hop grant chain verification)
 *   npm run -s bench -- --package-size 1024  the case of the package.* figures, in MiB (default 4096; --quick 256)
 *   npm run -s bench -- --sizes 1024 --items 2000 --item-bytes 200   other sizes (MiB), item count and size
 *   npm run -s bench -- --repeat 3         each transfer and manifest run 3 times (baseline and Caseway alternately); medians reported
 *   npm run -s bench -- --no-scale         without the 100,000-item share (scale.*, about 3 minutes here; not with --quick unless --scale)
 *   npm run -s bench -- --cpu-prof <dir>   run the nodes with --cpu-prof, profiles kept in <dir> (see profile_summary.ts)
 *   npm run -s bench -- --keep-logs <dir>  keep the nodes' JSON logs in <dir>
 *   npm run -s bench -- --config '{"transfers":{"parallelChunks":8}}'   what-if: merged into both nodes' caseway.json
 *   npm run -s bench -- --node-args=--max-semi-space-size=2             what-if: Node.js options of both nodes
 *   npm run -s bench -- --sources          run the nodes from the TypeScript sources (type stripping) instead of the compiled package
 *
 * (`-s` keeps npm's own banner off stdout.) Everything runs on 127.0.0.1, in separate
 * processes, with real mutual TLS. Temporary directories and child processes are removed on
 * exit, on error and on SIGINT.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createBaselinePki, runBaseline, type BaselinePki, type BaselineResult } from './lib/baseline.ts'
import { chainRun } from './lib/chain.ts'
import { packageRun, type PackageRun } from './lib/packages.ts'
import { storageRun } from './lib/storage.ts'
import { installCleanup, removeDir, trackDir } from './lib/cleanup.ts'
import { generateFile, MiB, type GeneratedFile } from './lib/files.ts'
import { progress } from './lib/log.ts'
import { benchConfig, rateLimitWaitCount, shutdownPair, startPair, stopPair, waitDelivered, type NodeOptions, type NodePair } from './lib/node_pair.ts'
import { readPhases, type Phases } from './lib/phases.ts'
import { watchHeap, type HeapPeak } from './lib/heap.ts'
import { cpuMs, peakRssMb, sleep } from './lib/proc.ts'

/** Issue 13's targets; `met` says which this run reached. */
const TARGETS = {
  ratio: 0.8,
  peak_rss_mb: 200,
  items10k_ms: 2000,
  items10k_delivered_ms: 10_000,
  manifest_peak_rss_mb: 250,
  update_received_ms: 3000,
  update_apply_ms: 1500,
  upload_items_per_s: 1000,
  items100k_listed_ms: 10_000,
  items100k_delivered_ms: 100_000,
  scale_peak_rss_mb: 300,
  chain_verify_ms: 20,
  package_ratio: 0.8,
  package_peak_rss_mb: 200,
  /** Issue 14: from the SIGKILL of the working replica to the next chunk stored, ≤ 2 × the lease. */
  failover_lease_factor: 2,
} as const
const UPLOAD_PARALLELISM = 8
/** Items per batch upload request (CW-LOC-056). */
const UPLOAD_BATCH_ITEMS = 100
/** Items the manifest run uploads one per request first, for the single upload's rate (the rest go in batches). */
const SINGLE_UPLOAD_ITEMS = 1_000
const POLL_MS = 50

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
    'keep-logs': { type: 'string' },
    config: { type: 'string' },
    'node-args': { type: 'string' },
    sizes: { type: 'string' },
    items: { type: 'string' },
    'item-bytes': { type: 'string' },
    scale: { type: 'boolean' },
    'package-size': { type: 'string' },
    sources: { type: 'boolean', default: false },
  },
  strict: true,
  allowNegative: true,
})
function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}
if (flags.only !== undefined && !['transfer', 'manifest', 'package', 'storage', 'chain'].includes(flags.only))
  usage('--only takes "transfer", "manifest", "package", "storage" or "chain"')
const REPEAT = Number(flags.repeat)
if (!Number.isSafeInteger(REPEAT) || REPEAT < 1 || REPEAT > 20) usage('--repeat takes 1 to 20')
let CONFIG: Record<string, unknown> | undefined
if (flags.config !== undefined) {
  try {
    CONFIG = JSON.parse(flags.config) as Record<string, unknown>
  } catch {
    usage('--config takes a JSON object')
  }
}
const SIZES_MB = flags.sizes !== undefined ? flags.sizes.split(',').map(Number) : flags.quick ? [256, 512] : [1024, 4096]
if (SIZES_MB.some((size) => !Number.isSafeInteger(size) || size < 1)) usage('--sizes takes MiB, comma-separated (e.g. 1024,4096)')
const ITEMS = flags.items !== undefined ? Number(flags.items) : flags.quick ? 1_000 : 10_000
if (!Number.isSafeInteger(ITEMS) || ITEMS < 1 || ITEMS > 100_000) usage('--items takes 1 to 100000')
/** Size of each small item: 16 KiB, a photo thumbnail or a short PDF (issue 13's "small items"). */
const ITEM_BYTES = flags['item-bytes'] !== undefined ? Number(flags['item-bytes']) : 16 * 1024
if (!Number.isSafeInteger(ITEM_BYTES) || ITEM_BYTES < 64 || ITEM_BYTES > 16 * MiB) usage('--item-bytes takes 64 to 16777216')
const SCALE_ITEMS = 100_000
const runTransfer = flags.only === undefined || flags.only === 'transfer'
const runManifest = flags.only === undefined || flags.only === 'manifest'
const runChain = flags.only === undefined || flags.only === 'chain'
const runPackage = flags.only === undefined || flags.only === 'package'
const runStorage = flags.only === undefined || flags.only === 'storage'
/** storage.*: the PostgreSQL + S3 transfer (MiB) and the case of the failover runs. */
const STORAGE_MB = flags.quick ? { transfer: 256, failover: 64 } : { transfer: 1024, failover: 256 }
const PACKAGE_MB = flags['package-size'] !== undefined ? Number(flags['package-size']) : flags.quick ? 256 : 4096
if (!Number.isSafeInteger(PACKAGE_MB) || PACKAGE_MB < 1) usage('--package-size takes MiB')
// In the default run since it takes a few minutes (issue 13: unless it takes over 10).
const runScale = (flags.scale ?? !flags.quick) && (flags.only === undefined || flags.only === 'manifest')

/** `1g`, `4g`, `256m`: the key suffix of a size. */
function label(sizeMb: number): string {
  return sizeMb % 1024 === 0 ? `${sizeMb / 1024}g` : `${sizeMb}m`
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const NODE_ARGS = (flags['node-args'] ?? '').split(/\s+/).filter((arg) => arg.length > 0)

/**
 * The nodes run the compiled package (`npm run build`, made afresh here) unless `--sources`: it
 * is what an agency runs (the npm package and the Docker image run `dist/`), and type stripping
 * adds its own memory (about 20 MB a node) and start-up time to every figure.
 */
const COMPILED_BIN = flags.sources ? undefined : buildPackage()

function buildPackage(): string {
  const root = fileURLToPath(new URL('..', import.meta.url))
  progress('compiling the package the nodes run (npm run build)')
  execFileSync(process.execPath, [join(root, 'tools', 'build.ts')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  return join(root, 'dist', 'bin', 'caseway.js')
}

async function nodeOptions(): Promise<NodeOptions> {
  const options: NodeOptions = CONFIG === undefined ? {} : { config: CONFIG }
  if (COMPILED_BIN !== undefined) options.bin = COMPILED_BIN
  const nodeArgs = [...NODE_ARGS]
  if (flags['cpu-prof'] !== undefined) {
    const dir = resolve(flags['cpu-prof'])
    await mkdir(dir, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`)
  }
  if (nodeArgs.length > 0) options.nodeArgs = nodeArgs
  return options
}

/** Copies both nodes' logs to `--keep-logs` (as `<run>-sender.log`, `<run>-receiver.log`). */
async function keepLogs(pair: NodePair, run: string): Promise<void> {
  if (flags['keep-logs'] === undefined) return
  const dir = resolve(flags['keep-logs'])
  await mkdir(dir, { recursive: true })
  await copyFile(pair.a.logFile, join(dir, `${run}-sender.log`))
  await copyFile(pair.b.logFile, join(dir, `${run}-receiver.log`))
}

async function createCase(pair: NodePair, title: string): Promise<string> {
  return (await pair.a.api.createCase({ title })).id
}

/** B shows the share as a complete external case holding exactly `digests`. */
async function checkReceived(pair: NodePair, shareId: string, digests: string[]): Promise<void> {
  const summary = (await pair.b.api.listExternalCases()).find((candidate) => candidate.shareId === shareId)
  if (summary === undefined || summary.status !== 'complete') throw new Error(`B has no complete external case for share ${shareId}`)
  const detail = await pair.b.api.getExternalCase(summary.id)
  const received = detail.evidence.map((item) => item.digest).sort()
  const expected = [...digests].sort()
  if (received.length !== expected.length || received.some((digest, index) => digest !== expected[index])) {
    throw new Error(`B's external case lists other evidence than A shared`)
  }
}

interface CasewayTransfer {
  ms: number
  MBps: number
  upload_MBps: number
  peak_rss_mb: { sender: number; receiver: number }
  idle_rss_mb: { sender: number; receiver: number }
  /** Peak RSS after the upload, before the share (the sender's upload may set its peak). */
  upload_rss_mb: { sender: number; receiver: number }
  /** CPU time each node spent from POST /shares to delivered. */
  cpu_ms: { sender: number; receiver: number }
  phases: Phases
}

/** On a fresh pair: upload (not timed), then time POST /shares → `delivered` on A. */
async function casewayTransfer(file: GeneratedFile, dir: string, run: string): Promise<CasewayTransfer> {
  progress(`caseway ${run}: starting nodes A and B`)
  const pair = await startPair(dir, await nodeOptions())
  try {
    const caseId = await createCase(pair, `Bench transfer ${run}`)
    progress(`caseway ${run}: uploading ${file.size / MiB} MiB to A (not timed)`)
    const uploadStart = performance.now()
    const evidence = await pair.a.api.uploadEvidence(caseId, { name: `bench-${run}.bin`, category: 'video', mediaType: 'video/mp4' }, () =>
      createReadStream(file.path, { highWaterMark: MiB }),
    )
    const uploadMs = performance.now() - uploadStart
    if (evidence.size !== file.size || evidence.digest !== file.digest) {
      throw new Error(`A stored ${evidence.size} bytes ${evidence.digest}, expected ${file.size} ${file.digest}`)
    }
    progress(`caseway ${run}: uploaded at ${round(file.size / MiB / (uploadMs / 1000))} MiB/s; sharing A → B (timed)`)
    const uploadRss = { sender: await peakRssMb(pair.a.pid), receiver: await peakRssMb(pair.b.pid) }
    const cpuBefore = { sender: await cpuMs(pair.a.pid), receiver: await cpuMs(pair.b.pid) }
    const since = Date.now()
    const start = performance.now()
    const share = await pair.a.api.createShare({ caseId, partnerOrg: pair.b.org, scope: 'case' })
    await waitDelivered(pair.a.api, share.id, POLL_MS)
    const ms = performance.now() - start
    const cpu = { sender: (await cpuMs(pair.a.pid)) - cpuBefore.sender, receiver: (await cpuMs(pair.b.pid)) - cpuBefore.receiver }
    progress(`caseway ${run}: delivered in ${round(ms / 1000, 2)} s (${round(file.size / MiB / (ms / 1000))} MiB/s)`)
    await checkReceived(pair, share.id, [file.digest])
    const phases = await readPhases(pair.a.logFile, pair.b.logFile, since)
    const peak = await stopPair(pair)
    progress(`caseway ${run}: peak RSS sender ${peak.sender} MiB, receiver ${peak.receiver} MiB (idle ${pair.idleRss.sender} / ${pair.idleRss.receiver})`)
    return {
      ms,
      MBps: file.size / MiB / (ms / 1000),
      upload_MBps: file.size / MiB / (uploadMs / 1000),
      peak_rss_mb: peak,
      idle_rss_mb: pair.idleRss,
      upload_rss_mb: uploadRss,
      cpu_ms: cpu,
      phases,
    }
  } finally {
    await shutdownPair(pair)
    await keepLogs(pair, `transfer-${run}`)
    await removeDir(dir)
  }
}

interface SizeResult {
  caseway_MBps: number
  baseline_MBps: number
  peak_rss_mb: { sender: number; receiver: number }
  details: Record<string, unknown>
}

/** One size: the file once, then baseline and Caseway alternately `REPEAT` times. */
async function transferSize(root: string, pki: BaselinePki, sizeMb: number): Promise<SizeResult> {
  const key = label(sizeMb)
  progress(`generating a ${key} file`)
  const file = await generateFile(join(root, `evidence-${key}.bin`), sizeMb * MiB)
  const baselines: BaselineResult[] = []
  const runs: CasewayTransfer[] = []
  try {
    for (let round_ = 1; round_ <= REPEAT; round_++) {
      const run = REPEAT === 1 ? key : `${key}-${round_}`
      progress(`baseline ${run}: https mTLS server → client process (hash, write, fsync)`)
      const baseline = await runBaseline(pki, file, root)
      progress(`baseline ${run}: ${round(baseline.ms / 1000, 2)} s (${round(baseline.MBps)} MiB/s)`)
      baselines.push(baseline)
      runs.push(await casewayTransfer(file, join(root, `pair-${key}-${round_}`), run))
    }
  } finally {
    await removeDir(file.path)
  }
  return {
    caseway_MBps: median(runs.map((run) => run.MBps)),
    baseline_MBps: median(baselines.map((baseline) => baseline.MBps)),
    peak_rss_mb: {
      sender: Math.max(...runs.map((run) => run.peak_rss_mb.sender)),
      receiver: Math.max(...runs.map((run) => run.peak_rss_mb.receiver)),
    },
    details: {
      bytes: file.size,
      baseline_MBps: baselines.map((baseline) => round(baseline.MBps)),
      caseway_MBps: runs.map((run) => round(run.MBps)),
      baseline_ms: baselines.map((baseline) => Math.round(baseline.ms)),
      caseway_ms: runs.map((run) => Math.round(run.ms)),
      // CPU time per run: on a small machine the cost in CPU decides the speed, and it is not skewed by other load.
      baseline_cpu_ms: baselines.map((baseline) => ({ server: Math.round(baseline.cpuMs.server), client: Math.round(baseline.cpuMs.client) })),
      caseway_cpu_ms: runs.map((run) => ({ sender: Math.round(run.cpu_ms.sender), receiver: Math.round(run.cpu_ms.receiver) })),
      upload_MBps: runs.map((run) => round(run.upload_MBps)),
      idle_rss_mb: runs[0]!.idle_rss_mb,
      after_upload_rss_mb: runs.map((run) => run.upload_rss_mb),
      phases: runs.map((run) => run.phases),
    },
  }
}

interface ManifestResult {
  items: number
  /** POST /shares → B's external case lists every item. */
  visible_ms: number
  /** POST /shares → delivered on A (chunks pulled, verified, receipt recorded). */
  delivered_ms: number
  /** Items a second uploaded in batches of {@link UPLOAD_BATCH_ITEMS} (CW-LOC-056), {@link UPLOAD_PARALLELISM} requests at a time. */
  upload_items_per_s: number
  /** Items a second uploaded one per request, {@link UPLOAD_PARALLELISM} at a time (the first items of the run). */
  upload_single_items_per_s: number
  /**
   * CPU per uploaded item (ms), in batches and singly: the node's (every thread, user and kernel)
   * and the bench's, which plays the client on the same cores. With n cores their sum bounds the
   * rate at n × 1000 / sum.
   */
  upload_cpu_ms_per_item: { node: number; client: number }
  upload_single_cpu_ms_per_item: { node: number; client: number }
  idle_rss_mb: { sender: number; receiver: number }
  upload_rss_mb: { sender: number; receiver: number }
  peak_rss_mb: { sender: number; receiver: number }
  /** Each node's heap at its RSS peak from the share on (its `/metrics`): live and garbage heap vs native memory. */
  peak_heap_mb: { sender: HeapPeak | undefined; receiver: HeapPeak | undefined }
  phases: Phases
  /** Items added by the update (revision 2). */
  update_items?: number
  /** POST /shares/{id}/update → B lists revision 2 with its chunks verified (polled). */
  update_received_ms?: number
  /** POST /external-cases/{id}/updates/apply (all updates of revision 2): the timed request. */
  update_apply_ms?: number
  /** Where the time of revision 2 went (from POST /shares/{id}/update). */
  update_phases?: Phases
}

/** Items the update adds: 1,000 (with --quick a tenth of the manifest's items: 100). */
const UPDATE_ITEMS = flags.quick ? Math.max(1, Math.round(ITEMS / 10)) : 1_000
/** `items` small items shared A → B, then (with `update`) a revision adding {@link UPDATE_ITEMS}. */
async function manifestRun(dir: string, items: number, update: boolean): Promise<ManifestResult> {
  progress(`manifest: starting nodes A and B`)
  const scale = items > SHARE_BY_SELECTION_ITEMS
  const pair = await startPair(dir, scale ? withLargestManifests(await nodeOptions()) : await nodeOptions())
  try {
    const caseId = await createCase(pair, 'Bench manifest')
    const singly = Math.min(SINGLE_UPLOAD_ITEMS, Math.floor(items / 2))
    progress(
      `manifest: uploading ${items} small items to A through the API, ${singly} one per request, then in batches of ${UPLOAD_BATCH_ITEMS} (parallelism ${UPLOAD_PARALLELISM})`,
    )
    const single = await measuredUpload(pair, () => uploadItems(pair, caseId, 0, singly, 1))
    const batched = await measuredUpload(pair, () => uploadItems(pair, caseId, singly, items - singly, UPLOAD_BATCH_ITEMS))
    const evidenceIds = [...single.ids, ...batched.ids]
    const uploadRss = { sender: await peakRssMb(pair.a.pid), receiver: await peakRssMb(pair.b.pid) }

    progress(`manifest: sharing ${items} items A → B as an evidence share (timed until B's external case lists them all)`)
    const heapWatches = { sender: watchHeap(pair.a.api.baseUrl), receiver: watchHeap(pair.b.api.baseUrl) }
    const since = Date.now()
    const start = performance.now()
    const share = await pair.a.api.createShare(
      scale ? { caseId, partnerOrg: pair.b.org, scope: 'case' } : { caseId, partnerOrg: pair.b.org, scope: 'evidence', evidenceIds },
    )
    let visibleMs: number | undefined
    let externalId = ''
    for (;;) {
      const found = (await pair.b.api.listExternalCases()).find((candidate) => candidate.shareId === share.id)
      if (found !== undefined) {
        const detail = await pair.b.api.getExternalCase(found.id)
        if (detail.evidence.length === items) {
          visibleMs = performance.now() - start
          externalId = found.id
          break
        }
      }
      if (performance.now() - start > patienceMs(items)) throw new Error(`no external case on B after ${patienceMs(items) / 60_000} minutes`)
      await sleep(POLL_MS)
    }
    progress(`manifest: B lists the external case with ${items} items after ${Math.round(visibleMs)} ms; waiting for delivery`)
    await waitDelivered(pair.a.api, share.id, POLL_MS)
    const deliveredMs = performance.now() - start
    progress(`manifest: delivered after ${Math.round(deliveredMs)} ms`)
    const phases = await readPhases(pair.a.logFile, pair.b.logFile, since)
    // A revision of a whole-case share is made by its case, not by a list of items: not measured here.
    const updated = update && !scale ? await updateRun(pair, caseId, share.id, externalId, items) : {}
    const peakHeap = { sender: await heapWatches.sender(), receiver: await heapWatches.receiver() }
    const peak = await stopPair(pair)
    return {
      items,
      visible_ms: visibleMs,
      delivered_ms: deliveredMs,
      upload_items_per_s: batched.itemsPerS,
      upload_cpu_ms_per_item: batched.cpuMsPerItem,
      upload_single_items_per_s: single.itemsPerS,
      upload_single_cpu_ms_per_item: single.cpuMsPerItem,
      idle_rss_mb: pair.idleRss,
      upload_rss_mb: uploadRss,
      peak_rss_mb: peak,
      peak_heap_mb: peakHeap,
      phases,
      ...updated,
    }
  } finally {
    await shutdownPair(pair)
    await keepLogs(pair, 'manifest')
    await removeDir(dir)
  }
}

/**
 * Above this many items the bench shares the whole case rather than a selection: the list of
 * evidence ids of a selection is one JSON body of the local API (`limits.jsonBodyBytes`, 1 MiB
 * by default: about 25,000 ids).
 */
const SHARE_BY_SELECTION_ITEMS = 20_000

/**
 * `options` with the largest manifest SPEC.md CW-FMT-005 lets a receiver accept (64 MiB): a
 * manifest of 100,000 small items is about 55 MiB, over the default of 32 MiB.
 */
function withLargestManifests(options: NodeOptions): NodeOptions {
  return { ...options, config: benchConfig(options, { limits: { manifestBytes: 64 * MiB } }) }
}

/** How long a run of `items` may take before the bench gives up: 10 minutes, more for a large share. */
function patienceMs(items: number): number {
  return Math.max(600_000, items * 60)
}

/** `upload`'s items a second and CPU per item (A's and the bench's). */
async function measuredUpload(
  pair: NodePair,
  upload: () => Promise<string[]>,
): Promise<{ ids: string[]; itemsPerS: number; cpuMsPerItem: { node: number; client: number } }> {
  const [nodeCpuBefore, clientCpuBefore] = [await cpuMs(pair.a.pid), process.cpuUsage()]
  const start = performance.now()
  const ids = await upload()
  const ms = performance.now() - start
  const clientCpu = process.cpuUsage(clientCpuBefore)
  const node = ((await cpuMs(pair.a.pid)) - nodeCpuBefore) / ids.length
  return { ids, itemsPerS: ids.length / (ms / 1000), cpuMsPerItem: { node, client: (clientCpu.user + clientCpu.system) / 1000 / ids.length } }
}

/**
 * Uploads items `from` … `from + count - 1` to A's case, `perRequest` to a request (1: the
 * single upload, more: the batch upload), {@link UPLOAD_PARALLELISM} requests at a time; their
 * evidence ids in order.
 */
async function uploadItems(pair: NodePair, caseId: string, from: number, count: number, perRequest: number): Promise<string[]> {
  const ids: string[] = new Array<string>(count)
  const item = (index: number) => ({
    metadata: { name: `item-${index}.txt`, category: 'document', mediaType: 'text/plain' },
    content: Buffer.from(`Caseway benchmark item ${index}\n`.padEnd(ITEM_BYTES - 1, '.') + '\n'),
  })
  let next = 0
  let reported = 0
  const worker = async () => {
    while (next < count) {
      const offset = next
      const size = Math.min(perRequest, count - offset)
      next += size
      const batch = Array.from({ length: size }, (_, k) => item(from + offset + k))
      const stored =
        perRequest === 1
          ? [await pair.a.api.uploadEvidence(caseId, batch[0]!.metadata, batch[0]!.content)]
          : await pair.a.api.uploadEvidenceBatch(caseId, batch)
      stored.forEach((evidence, k) => (ids[offset + k] = evidence.id))
      if (offset + size - reported >= 5000) {
        reported = offset + size
        progress(`manifest: ${from + reported} items uploaded`)
      }
    }
  }
  await Promise.all(Array.from({ length: UPLOAD_PARALLELISM }, worker))
  return ids
}

/**
 * After delivery of revision 1: A adds {@link UPDATE_ITEMS} items to the evidence share
 * (revision 2); once B lists the pending revision with its chunks verified, time applying all
 * of its updates.
 */
async function updateRun(
  pair: NodePair,
  caseId: string,
  shareId: string,
  externalId: string,
  sharedItems: number,
): Promise<Required<Pick<ManifestResult, 'update_items' | 'update_received_ms' | 'update_apply_ms' | 'update_phases'>>> {
  progress(`update: uploading ${UPDATE_ITEMS} more items to A (not timed)`)
  const added = await uploadItems(pair, caseId, sharedItems, UPDATE_ITEMS, UPLOAD_BATCH_ITEMS)
  const since = Date.now()
  const start = performance.now()
  const revised = await pair.a.api.updateShare(shareId, added)
  if (revised.revision !== 2) throw new Error(`the update made revision ${revised.revision}, expected 2`)
  progress(`update: revision 2 adds ${UPDATE_ITEMS} items; waiting until B has received and verified it`)
  for (;;) {
    const available = await pair.b.api.listUpdates(externalId)
    const pending = available.updates.find((update) => update.revision === 2)
    if (pending?.transfer === 'rejected') throw new Error('B rejected revision 2')
    if (pending?.transfer === 'verified') {
      if (pending.evidence.length !== UPDATE_ITEMS) throw new Error(`revision 2 lists ${pending.evidence.length} evidence updates, expected ${UPDATE_ITEMS}`)
      break
    }
    if (performance.now() - start > 600_000) throw new Error('revision 2 not verified at B after 10 minutes')
    await sleep(POLL_MS)
  }
  const receivedMs = performance.now() - start
  const phases = await readPhases(pair.a.logFile, pair.b.logFile, since)
  progress(`update: B verified revision 2 after ${Math.round(receivedMs)} ms; applying all its updates (timed)`)
  const applyStart = performance.now()
  const applied = await pair.b.api.applyUpdates(externalId, 2)
  const applyMs = performance.now() - applyStart
  if (applied.applied.length !== UPDATE_ITEMS || applied.remaining !== 0)
    throw new Error(`applied ${applied.applied.length} updates (${applied.remaining} remaining), expected ${UPDATE_ITEMS}`)
  const detail = await pair.b.api.getExternalCase(externalId)
  if (detail.evidence.length !== sharedItems + UPDATE_ITEMS)
    throw new Error(`B's external case lists ${detail.evidence.length} items after the update, expected ${sharedItems + UPDATE_ITEMS}`)
  progress(`update: applied ${UPDATE_ITEMS} updates in ${Math.round(applyMs)} ms`)
  return { update_items: UPDATE_ITEMS, update_received_ms: receivedMs, update_apply_ms: applyMs, update_phases: phases }
}

/** package.*: the baseline on the case's one file, then the three packages of it from the download listener. */
async function packageFigures(root: string, pki: BaselinePki): Promise<{ zip: number; tar: number; iso: number; baseline: number; run: PackageRun }> {
  const key = label(PACKAGE_MB)
  progress(`package: generating a ${key} file`)
  const file = await generateFile(join(root, `package-${key}.bin`), PACKAGE_MB * MiB)
  try {
    progress(`package baseline ${key}: https mTLS server → client process (hash, write, fsync)`)
    const baseline = await runBaseline(pki, file, root)
    progress(`package baseline ${key}: ${round(baseline.MBps)} MiB/s`)
    const dir = join(root, 'package')
    await mkdir(dir)
    const run = await packageRun(dir, file, pki, await nodeOptions())
    await removeDir(dir)
    return { ...run.MBps, baseline: baseline.MBps, run }
  } finally {
    await removeDir(file.path)
  }
}

function targetsMet(output: Record<string, unknown>): Record<string, boolean> {
  const met: Record<string, boolean> = {}
  const transfer = output['transfer'] as { ratio?: number; peak_rss_mb?: Record<string, number> } | undefined
  if (transfer?.ratio !== undefined) met['ratio'] = transfer.ratio >= TARGETS.ratio
  if (transfer?.peak_rss_mb !== undefined) met['peak_rss_mb'] = Object.values(transfer.peak_rss_mb).every((mb) => mb <= TARGETS.peak_rss_mb)
  const manifest = output['manifest'] as { items10k_ms?: number; delivered_ms?: number; items?: number; peak_rss_mb?: Record<string, number> } | undefined
  if (manifest?.items10k_ms !== undefined) met['items10k_ms'] = manifest.items10k_ms <= TARGETS.items10k_ms
  if (manifest?.items === 10_000 && manifest.delivered_ms !== undefined) met['items10k_delivered_ms'] = manifest.delivered_ms <= TARGETS.items10k_delivered_ms
  if (manifest?.peak_rss_mb !== undefined) met['manifest_peak_rss_mb'] = Object.values(manifest.peak_rss_mb).every((mb) => mb <= TARGETS.manifest_peak_rss_mb)
  const update = output['update'] as { apply_ms?: number; received_ms?: number } | undefined
  if (update?.apply_ms !== undefined) met['update_apply_ms'] = update.apply_ms <= TARGETS.update_apply_ms
  if (update?.received_ms !== undefined) met['update_received_ms'] = update.received_ms <= TARGETS.update_received_ms
  const upload = output['upload'] as { items_per_s?: number } | undefined
  if (upload?.items_per_s !== undefined) met['upload_items_per_s'] = upload.items_per_s >= TARGETS.upload_items_per_s
  const scale = output['scale'] as { items100k_listed_ms: number; items100k_delivered_ms: number; peak_rss_mb: { receiver: number } } | undefined
  if (scale !== undefined) {
    met['items100k_listed_ms'] = scale.items100k_listed_ms <= TARGETS.items100k_listed_ms
    met['items100k_delivered_ms'] = scale.items100k_delivered_ms <= TARGETS.items100k_delivered_ms
    met['scale_peak_rss_mb'] = scale.peak_rss_mb.receiver <= TARGETS.scale_peak_rss_mb
  }
  const pkg = output['package'] as { ratio?: number; peak_rss_mb?: number } | undefined
  if (pkg?.ratio !== undefined) met['package_ratio'] = pkg.ratio >= TARGETS.package_ratio
  if (pkg?.peak_rss_mb !== undefined) met['package_peak_rss_mb'] = pkg.peak_rss_mb <= TARGETS.package_peak_rss_mb
  const storage = output['storage'] as { replicas?: { failover_ms: { sender: number; receiver: number }; lease_s: number } } | undefined
  if (storage?.replicas !== undefined) {
    const bound = TARGETS.failover_lease_factor * storage.replicas.lease_s * 1000
    met['failover_ms'] = storage.replicas.failover_ms.sender <= bound && storage.replicas.failover_ms.receiver <= bound
  }
  const chain = output['chain'] as { verify_ms?: number } | undefined
  if (chain?.verify_ms !== undefined) met['chain_verify_ms'] = chain.verify_ms <= TARGETS.chain_verify_ms
  return met
}

async function main(): Promise<void> {
  installCleanup()
  const loadBefore = loadavg()[0]!
  const root = trackDir(await mkdtemp(join(tmpdir(), 'caseway-bench-')))
  progress(
    `temporary directory ${root}; sizes ${SIZES_MB.map(label).join(', ')}; ${ITEMS} items of ${ITEM_BYTES} bytes${runScale ? `, then ${SCALE_ITEMS}` : ''}; ${REPEAT} run(s) each`,
  )
  const output: Record<string, unknown> = {}
  const details: Record<string, unknown> = {}

  const pkiDir = join(root, 'baseline-pki')
  await mkdir(pkiDir)
  const pki = await createBaselinePki(pkiDir)

  if (runTransfer) {
    const transfer: Record<string, unknown> = { size_mb: SIZES_MB[0] }
    const peak: Record<string, number> = {}
    for (const [index, sizeMb] of SIZES_MB.entries()) {
      const key = label(sizeMb)
      const result = await transferSize(root, pki, sizeMb)
      const suffix = index === 0 ? '' : `_${key}`
      transfer[`caseway_MBps${suffix}`] = round(result.caseway_MBps)
      transfer[`baseline_MBps${suffix}`] = round(result.baseline_MBps)
      transfer[`ratio${suffix}`] = round(result.caseway_MBps / result.baseline_MBps, 3)
      peak[`sender_${key}`] = result.peak_rss_mb.sender
      peak[`receiver_${key}`] = result.peak_rss_mb.receiver
      details[`transfer_${key}`] = result.details
    }
    transfer['peak_rss_mb'] = peak
    output['transfer'] = transfer
  }

  if (runManifest) {
    const runs: ManifestResult[] = []
    for (let round_ = 1; round_ <= REPEAT; round_++) runs.push(await manifestRun(join(root, `pair-manifest-${round_}`), ITEMS, true))
    const mid = (pick: (run: ManifestResult) => number) => Math.round(median(runs.map(pick)))
    const first = runs[0]!
    const key = ITEMS === 10_000 ? 'items10k_ms' : `items${ITEMS}_ms`
    output['manifest'] = {
      [key]: mid((run) => run.visible_ms),
      delivered_ms: mid((run) => run.delivered_ms),
      items: ITEMS,
      item_bytes: ITEM_BYTES,
      peak_rss_mb: {
        sender: Math.max(...runs.map((run) => run.peak_rss_mb.sender)),
        receiver: Math.max(...runs.map((run) => run.peak_rss_mb.receiver)),
      },
    }
    if (first.update_items !== undefined) {
      output['update'] = {
        apply_ms: mid((run) => run.update_apply_ms ?? 0),
        received_ms: mid((run) => run.update_received_ms ?? 0),
        items: first.update_items,
        on_items: ITEMS,
      }
      details['update'] = { received_ms: runs.map((run) => Math.round(run.update_received_ms ?? 0)), phases: runs.map((run) => run.update_phases) }
    }
    output['upload'] = {
      items_per_s: round(median(runs.map((run) => run.upload_items_per_s))),
      single_items_per_s: round(median(runs.map((run) => run.upload_single_items_per_s))),
      item_bytes: ITEM_BYTES,
      parallelism: UPLOAD_PARALLELISM,
      batch_items: UPLOAD_BATCH_ITEMS,
    }
    details['manifest'] = {
      visible_ms: runs.map((run) => Math.round(run.visible_ms)),
      delivered_ms: runs.map((run) => Math.round(run.delivered_ms)),
      upload_items_per_s: runs.map((run) => round(run.upload_items_per_s)),
      upload_cpu_ms_per_item: runs.map((run) => ({ node: round(run.upload_cpu_ms_per_item.node, 2), client: round(run.upload_cpu_ms_per_item.client, 2) })),
      upload_single_items_per_s: runs.map((run) => round(run.upload_single_items_per_s)),
      upload_single_cpu_ms_per_item: runs.map((run) => ({
        node: round(run.upload_single_cpu_ms_per_item.node, 2),
        client: round(run.upload_single_cpu_ms_per_item.client, 2),
      })),
      // The local API's per-token rate limit (limits.rateLimit.localPerMinute) paces the untimed upload.
      upload_rate_limit_waits: rateLimitWaitCount(),
      idle_rss_mb: first.idle_rss_mb,
      after_upload_rss_mb: runs.map((run) => run.upload_rss_mb),
      peak_rss_mb: runs.map((run) => run.peak_rss_mb),
      // RSS far above heap_total_mb + external_mb is native memory or a second isolate; heap_total_mb far above
      // heap_used_mb is garbage V8 keeps (its growth policy), not per-item state.
      peak_heap_mb: runs.map((run) => run.peak_heap_mb),
      phases: runs.map((run) => run.phases),
    }
  }

  if (runScale) {
    const result = await manifestRun(join(root, 'pair-scale'), SCALE_ITEMS, false)
    output['scale'] = {
      items100k_listed_ms: Math.round(result.visible_ms),
      items100k_delivered_ms: Math.round(result.delivered_ms),
      peak_rss_mb: result.peak_rss_mb,
    }
    details['scale'] = {
      item_bytes: ITEM_BYTES,
      upload_items_per_s: round(result.upload_items_per_s),
      after_upload_rss_mb: result.upload_rss_mb,
      peak_heap_mb: result.peak_heap_mb,
      phases: result.phases,
    }
  }

  if (runPackage) {
    const { zip, tar, iso, baseline, run } = await packageFigures(root, pki)
    output['package'] = {
      size_mb: PACKAGE_MB,
      zip_MBps: round(zip),
      tar_MBps: round(tar),
      iso_MBps: round(iso),
      baseline_MBps: round(baseline),
      ratio: round(zip / baseline, 3),
      first_byte_ms: run.first_byte_ms,
      peak_rss_mb: run.peak_rss_mb,
    }
    details['package'] = { build_ms: run.build_ms, bytes: run.bytes, idle_rss_mb: run.idle_rss_mb, after_upload_rss_mb: run.after_upload_rss_mb }
  }

  if (runStorage) {
    const result = await storageRun(STORAGE_MB.transfer, STORAGE_MB.failover)
    output['storage'] = {
      postgres_s3: { size_mb: result.postgres_s3.size_mb, MBps: round(result.postgres_s3.MBps), delivered_ms: result.postgres_s3.delivered_ms },
      replicas: result.replicas,
    }
  }

  if (runChain) {
    progress('chain: 6 organizations, a 5-hop grant chain with 100 evidence digests; verifying it 50 times after a warm-up')
    const result = await chainRun()
    output['chain'] = { verify_ms: round(result.verify_ms, 2) }
    details['chain'] = { min_ms: round(result.min_ms, 2), max_ms: round(result.max_ms, 2), hops: result.hops, evidence: result.evidence, runs: result.runs }
    progress(`chain: median ${round(result.verify_ms, 2)} ms`)
  }

  output['targets'] = TARGETS
  output['met'] = targetsMet(output)
  output['machine'] = {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gb: round(totalmem() / 1024 ** 3),
    node: process.version,
    // Other work on the machine skews every number: the 1-minute load average before and after.
    loadavg_1m: { start: round(loadBefore, 2), end: round(loadavg()[0]!, 2) },
    quick: flags.quick,
    repeat: REPEAT,
    cpu_profiled: flags['cpu-prof'] !== undefined,
    nodes_run: COMPILED_BIN === undefined ? 'sources' : 'compiled package',
    ...(CONFIG === undefined ? {} : { config_overrides: CONFIG }),
    ...(NODE_ARGS.length === 0 ? {} : { node_args: NODE_ARGS }),
  }
  output['details'] = details
  process.stdout.write(JSON.stringify(output) + '\n')
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(1)
  },
)
