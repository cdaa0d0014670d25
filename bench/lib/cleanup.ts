/**
 * Everything the benchmark leaves behind — child processes and temporary directories — is
 * registered here and removed on exit, on error and on SIGINT/SIGTERM.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { rm } from 'node:fs/promises'

const children = new Set<ChildProcess>()
const dirs = new Set<string>()

/** Tracks `child` until it exits. */
export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Tracks `dir` for removal; returns it. */
export function trackDir(dir: string): string {
  dirs.add(dir)
  return dir
}

/** Removes a tracked directory now. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  dirs.delete(dir)
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Synchronous last-resort cleanup (process exit): kill what still runs, remove the directories. */
function cleanupNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {
      // best effort
    }
  }
  dirs.clear()
}

/** Installs the exit and signal handlers (once). */
export function installCleanup(): void {
  process.once('exit', cleanupNow)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}: cleaning up\n`)
      cleanupNow()
      process.exit(130)
    })
  }
}
