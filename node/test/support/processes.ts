/**
 * Real node processes for the integration tests: each organization is a node directory made
 * by `initNode` (on 127.0.0.1, free ports) and a child process running `caseway start`. A test
 * can stop it cleanly (SIGTERM), crash it (SIGKILL), freeze it (SIGSTOP/SIGCONT) and start it
 * again on the same ports and data. `t.teardown` kills whatever is still running.
 *
 * @module
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocalClient } from '../../../client/local_client.ts'
import { initLoopbackNode, type LoopbackNode, type LoopbackNodeOptions } from '../../../testkit/loopback_node.ts'
import { startNodeProcess, type ExitStatus, type NodeProcess } from '../../../testkit/node_process.ts'

export { freePort, freePorts, startNodeProcess, type NodeProcess, type ExitStatus } from '../../../testkit/node_process.ts'

/** What the helpers need of tap's `t`. */
export interface TestHandle {
  teardown(fn: () => unknown): void
}

/** A script that runs a node like `caseway start`, with its clock shifted (see `start_node_with_clock.ts`). */
export const START_WITH_CLOCK = fileURLToPath(new URL('./start_node_with_clock.ts', import.meta.url))

export interface StartOptions {
  /** Run the node with its clock this far ahead of real time (a test-only entry point). */
  clockOffsetMs?: number
  /** More environment for this run only (e.g. `CASEWAY_CRASH_POINT`, to arm a crash point). */
  env?: NodeJS.ProcessEnv
  /** How long the start may take (default: `startNodeProcess`'s). */
  timeoutMs?: number
}

/** An organization whose node runs as a child process. */
export interface OrgProcess {
  readonly org: string
  readonly name: string
  readonly node: LoopbackNode
  /** The admin token init minted (admin.token). */
  readonly token: string
  /** Local API client (the ports never change, so it survives restarts). */
  readonly api: LocalClient
  /** The running process (the last one started). */
  readonly process: NodeProcess
  readonly running: boolean
  /** Starts the node again on the same directory and ports. */
  start(options?: StartOptions): Promise<NodeProcess>
  /** SIGTERM and wait (a clean stop). */
  stop(): Promise<ExitStatus>
  /** SIGKILL and wait (a crash). */
  kill(): Promise<ExitStatus>
  /** SIGSTOP: the process is frozen, its sockets stay open. */
  pause(): void
  /** SIGCONT. */
  resume(): void
  /** The node's JSON log lines so far (all runs). */
  logs(): Promise<Array<Record<string, unknown>>>
}

export interface StartOrgOptions {
  org: string
  name: string
  settings?: LoopbackNodeOptions['settings']
  /**
   * Parent directory of the node directory (default: a new temporary directory, removed at
   * teardown; not `t.testdir()`, which starts afresh on every call and so cannot hold two
   * organizations made concurrently).
   */
  dir?: string
  /** How long the first start may take (default: `startNodeProcess`'s). */
  startTimeoutMs?: number
}

/** Creates an organization's node directory and starts its node as a child process. */
export async function startOrg(t: TestHandle, options: StartOrgOptions): Promise<OrgProcess> {
  // CASEWAY_KEEP_TEST_DIRS=1 keeps the node directories (and their logs) for a post-mortem.
  const keep = options.dir !== undefined || process.env['CASEWAY_KEEP_TEST_DIRS'] === '1'
  let parent: string | undefined = options.dir
  let current: NodeProcess | undefined
  let paused = false
  // Registered before anything starts, so a failed start-up elsewhere leaves no process behind;
  // one teardown, so the process is gone before its directory is removed.
  t.teardown(async () => {
    if (current !== undefined) {
      if (paused) current.child.kill('SIGCONT')
      await current.stop('SIGKILL')
    }
    if (!keep && parent !== undefined) await rm(parent, { recursive: true, force: true })
  })
  parent ??= await mkdtemp(join(tmpdir(), `caseway-it-${options.org}-`))
  const node = await initLoopbackNode({
    org: options.org,
    name: options.name,
    dir: join(parent, options.org),
    // At debug, a node logs each chunk request it answers: what chunkRequests counts.
    settings: { ...options.settings, log: { level: 'debug', ...options.settings?.log } },
  })
  current = await startNodeProcess({
    dir: node.dir,
    adminToken: true,
    logFile: node.logFile,
    ...(options.startTimeoutMs === undefined ? {} : { timeoutMs: options.startTimeoutMs }),
  })
  const now = () => current!
  const token = now().adminToken!
  const api = new LocalClient({ baseUrl: now().localUrl, token })
  const alive = () => now().child.exitCode === null && now().child.signalCode === null

  return {
    org: options.org,
    name: options.name,
    node,
    token,
    api,
    get process() {
      return now()
    },
    get running() {
      return alive()
    },
    async start(startOptions = {}) {
      if (alive()) throw new Error(`${options.org} is still running`)
      const offset = startOptions.clockOffsetMs
      const env = { ...startOptions.env, ...(offset === undefined ? {} : { CASEWAY_TEST_CLOCK_OFFSET_MS: String(offset) }) }
      const started = await startNodeProcess({
        dir: node.dir,
        logFile: node.logFile,
        env,
        ...(startOptions.timeoutMs === undefined ? {} : { timeoutMs: startOptions.timeoutMs }),
        ...(offset === undefined ? {} : { argv: [START_WITH_CLOCK, node.dir] }),
      })
      current = started
      paused = false
      return started
    },
    stop: () => now().stop('SIGTERM'),
    kill: () => now().stop('SIGKILL'),
    pause() {
      now().child.kill('SIGSTOP')
      paused = true
    },
    resume() {
      now().child.kill('SIGCONT')
      paused = false
    },
    async logs() {
      return parseNodeLog(await readFile(node.logFile, 'utf8').catch(() => ''))
    },
  }
}

/**
 * The lines of a node's JSON log. A node killed while writing a line (pino writes in slices)
 * leaves it cut short: at the end of the file, or run on by the first line of the node started
 * after it; that line is skipped (both entries are lost). Any other line that is not JSON throws.
 */
export function parseNodeLog(text: string): Record<string, unknown>[] {
  const lines = text.split('\n')
  return lines.flatMap((line, index) => {
    if (!line.startsWith('{')) return []
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch (error) {
      if (index === lines.length - 1 || line.indexOf('{"level":', 1) > 0) return []
      throw error
    }
  })
}

/** Each organization pins the other's partner bundle, with the CA fingerprint computed from its CA file. */
export async function pair(a: OrgProcess, b: OrgProcess): Promise<void> {
  await a.api.importPartner(b.node.bundle, b.node.caFingerprint)
  await b.api.importPartner(a.node.bundle, a.node.caFingerprint)
}

/** A stored blob file: enough to tell whether it was written again. */
export interface BlobFile {
  path: string
  ino: number
  size: number
}

/** The blobs of a node's filesystem store, by digest (`blobs/sha256/ab/cd/<hex>`). */
export async function blobFiles(node: LoopbackNode): Promise<Map<string, BlobFile>> {
  const blobs = node.config.storage.blobs
  if (blobs.kind !== 'fs') throw new Error('blobFiles reads a filesystem blob store')
  const root = join(node.config.dir, blobs.dir, 'sha256')
  const found = new Map<string, BlobFile>()
  for (const first of await readdir(root).catch(() => [] as string[])) {
    for (const second of await readdir(join(root, first)).catch(() => [] as string[])) {
      for (const name of await readdir(join(root, first, second)).catch(() => [] as string[])) {
        const path = join(root, first, second, name)
        const info = await stat(path).catch(() => undefined)
        if (info?.isFile() === true) found.set(`sha256:${name}`, { path, ino: info.ino, size: info.size })
      }
    }
  }
  return found
}

/** How many times the node served each chunk digest (from its request log lines). */
export function chunkRequests(logs: ReadonlyArray<Record<string, unknown>>, shareId: string): Map<string, number> {
  const prefix = `/federation/v1/shares/${encodeURIComponent(shareId)}/chunks/`
  const batchPath = `/federation/v1/shares/${encodeURIComponent(shareId)}/chunk-batches`
  const counts = new Map<string, number>()
  for (const line of logs) {
    // EP-20: one line per batch, naming its chunks (federation/app.ts); each chunk counts as one request.
    if ((line['msg'] === 'chunk batch answered' || line['msg'] === 'chunk batch refused') && line['url'] === batchPath && Array.isArray(line['digests'])) {
      for (const digest of line['digests'] as unknown[]) if (typeof digest === 'string') counts.set(digest, (counts.get(digest) ?? 0) + 1)
      continue
    }
    // One line per chunk request when it is answered, at debug, or at info when refused (http/observability.ts).
    if (line['msg'] !== 'chunk request answered' && line['msg'] !== 'chunk request refused') continue
    const url = line['url']
    if (line['method'] !== 'GET' || typeof url !== 'string' || !url.startsWith(prefix)) continue
    const digest = decodeURIComponent(url.slice(prefix.length))
    counts.set(digest, (counts.get(digest) ?? 0) + 1)
  }
  return counts
}
