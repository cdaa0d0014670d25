/**
 * Running a node as a child process, the way an operator does: `caseway start --dir <dir>`
 * with the Node.js that runs us. Start-up is over when the node prints its `local` line on
 * stderr; stopping is SIGTERM (clean) or SIGKILL (a crash), each awaited with a bound.
 * Used by `caseway demo` and, through `node/test/support/processes.ts`, by the integration tests.
 *
 * The child's stdout (its JSON logs) goes to `logFile` (appended) or nowhere: it is never left
 * in an unread pipe, which would block a node that logs a lot.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

/** `bin/caseway.js` of this checkout. */
export const CASEWAY_BIN = fileURLToPath(new URL('../bin/caseway.js', import.meta.url))

export interface StartNodeProcessOptions {
  /** The node directory (`caseway init` made it). */
  dir: string
  /** Read the node's admin token from `admin.token` in its directory (minted by init) once it is up. */
  adminToken?: boolean
  /** File the child's stdout (JSON logs) is appended to; discarded when absent. */
  logFile?: string
  /** Bound on start-up, until the `local` line (default 30 s). */
  timeoutMs?: number
  /**
   * The program and arguments to run instead of `bin/caseway.js start --dir <dir>` (run with
   * `process.execPath`); it must print the same `federation …` / `local …` lines on stderr.
   */
  argv?: readonly string[]
  env?: NodeJS.ProcessEnv
  /** The Node.js to run it with (default `process.execPath`); an older one makes `bin/caseway.js` re-run itself on the pinned one. */
  execPath?: string
  /** Called with the child as soon as it is spawned (before start-up is over). */
  onSpawn?: (child: ChildProcess) => void
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface NodeProcess {
  readonly pid: number
  readonly child: ChildProcess
  /** `http://127.0.0.1:<port>`, from the `local` line. */
  readonly localUrl: string
  /** As printed on the `federation` line (the bound address). */
  readonly federationUrl: string
  /** With `adminToken`: the token in the node directory's `admin.token`. */
  readonly adminToken: string | undefined
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitStatus>
  /** What the child wrote on stderr so far. */
  stderr(): string
  /** Resolves once the child's stderr matches `pattern` (rejects if it exits first). */
  stderrMatches(pattern: RegExp): Promise<string>
  /**
   * Sends `signal` (default SIGTERM) and waits for the exit; a child still running after
   * `timeoutMs` (default 15 s) is killed with SIGKILL. Safe to call again or after the exit.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>
}

const DEFAULT_START_TIMEOUT_MS = 30_000
const DEFAULT_STOP_TIMEOUT_MS = 15_000
const MAX_STDERR = 64 * 1024

/** A TCP port free on 127.0.0.1 right now (the kernel's choice; released before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))))
    })
  })
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/** Starts a node process and resolves once it prints its `local` line (with its admin token from `admin.token`, when asked). */
export async function startNodeProcess(options: StartNodeProcessOptions): Promise<NodeProcess> {
  const args = options.argv !== undefined ? [...options.argv] : [CASEWAY_BIN, 'start', '--dir', options.dir]
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, 'a', 0o600)
  let child: ChildProcess
  try {
    child = spawn(options.execPath ?? process.execPath, args, {
      stdio: ['ignore', logFd ?? 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    })
  } finally {
    if (logFd !== undefined) closeSync(logFd)
  }
  options.onSpawn?.(child)
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', () => resolve({ code: null, signal: null }))
  })

  let stderr = ''
  let localUrl: string | undefined
  let federationUrl: string | undefined
  const wanted = () => localUrl !== undefined
  const watchers = new Set<() => void>()
  let ready: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    ready = resolve
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-MAX_STDERR)
    localUrl ??= /^local\s+(http:\/\/\S+)\s*$/m.exec(stderr)?.[1]
    federationUrl ??= /^federation\s+(https:\/\/\S+)\s*$/m.exec(stderr)?.[1]
    if (wanted()) ready()
    for (const watcher of watchers) watcher()
  })
  const stderrMatches = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = pattern.exec(stderr)?.[0]
        if (found === undefined) return
        watchers.delete(check)
        resolve(found)
      }
      watchers.add(check)
      check()
      void exited.then(() => {
        if (!watchers.has(check)) return
        watchers.delete(check)
        reject(new Error(`exited before its stderr matched ${pattern}: ${lastLine(stderr)}`))
      })
    })

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitStatus> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    }
    return exited
  }

  const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    started.then(() => 'started' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    }),
  ])
  clearTimeout(timer)
  if (outcome !== 'started') {
    await stop('SIGKILL')
    const tail = lastLine(stderr)
    const why = outcome === 'timeout' ? `did not print its local line within ${Math.round(timeoutMs / 1000)} s` : `exited during start-up`
    throw new Error(`node in ${options.dir} ${why}${tail === '' ? '' : `: ${tail}`}`)
  }

  const adminToken = options.adminToken === true ? (await readFile(join(options.dir, 'admin.token'), 'utf8')).trim() : undefined
  return {
    pid: child.pid!,
    child,
    localUrl: localUrl!,
    federationUrl: federationUrl ?? '',
    adminToken,
    exited,
    stderr: () => stderr,
    stderrMatches,
    stop,
  }
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
  return lines.at(-1) ?? ''
}
