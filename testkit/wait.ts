/**
 * Bounded polling for the demo and the integration tests: every wait has a limit and, when it
 * runs out, a message that says what was awaited and what was seen last.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'

export interface WaitOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number
  /** Pause between two checks (default 100 ms). */
  intervalMs?: number
}

/** Thrown when a bounded wait runs out. */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout'
}

/**
 * Calls `check` until it returns something other than `undefined`, and returns that. `check`
 * may describe what it saw through `seen` (shown in the timeout message). An error thrown by
 * `check` ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  check: (seen: (state: string) => void) => Promise<T | undefined> | T | undefined,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const intervalMs = options.intervalMs ?? 100
  const deadline = Date.now() + timeoutMs
  let last: string | undefined
  const seen = (state: string) => {
    last = state
  }
  for (;;) {
    const value = await check(seen)
    if (value !== undefined) return value
    if (Date.now() >= deadline) {
      throw new WaitTimeout(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last === undefined ? '' : ` (last seen: ${last})`}`)
    }
    await sleep(intervalMs)
  }
}
