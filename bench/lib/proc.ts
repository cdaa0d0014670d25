/** Process helpers (Linux /proc). @module */
import { readFile } from 'node:fs/promises'

/** Peak resident set size (`VmHWM`) of process `pid`, in MiB. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)
  if (match === null) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Math.round((Number(match[1]) / 1024) * 10) / 10
}

/** The command line of process `pid` (arguments joined by spaces). */
export async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((part) => part.length > 0)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** CPU time (user + system) process `pid` has used so far, in ms. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may contain spaces), from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
}

/** `getconf CLK_TCK`: 100 on every Linux Node.js supports. */
const CLOCK_TICKS_PER_SECOND = 100
