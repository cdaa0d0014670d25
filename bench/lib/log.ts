/** Progress lines on stderr (stdout carries only the final JSON), with the 1-minute load average. @module */
import { loadavg } from 'node:os'

const started = Date.now()

export function progress(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(7)
  process.stderr.write(`[bench ${seconds}s load ${loadavg()[0]!.toFixed(2)}] ${message}\n`)
}
