/**
 * Failed authentications on the local API, counted per client address (CW-LOC-012): after
 * `limit` failures within a one-minute window, every request from that address is answered
 * `429 CW_ERR_RATE_LIMITED` with `Retry-After` until the window ends, whatever token it
 * presents, and no token is looked at. The general request limit is keyed by token, so a
 * guesser that changes the token with every try would never meet it; this one it meets.
 *
 * Fixed windows in memory, dated by the node's clock; the table is bounded, so a flood of
 * addresses cannot grow it without limit (the oldest windows go first).
 *
 * @module
 */
import type { Clock } from '../context.ts'

/** Addresses remembered at most; beyond this the oldest windows are forgotten. */
export const MAX_TRACKED_ADDRESSES = 10_000
const WINDOW_MS = 60_000

interface Window {
  startedAt: number
  failures: number
}

export class FailedAuthLimiter {
  readonly #limit: number
  readonly #clock: Clock
  /** Insertion order is window-start order: a window is re-inserted when it restarts. */
  readonly #windows = new Map<string, Window>()

  /** `limit`: failures per address and minute; 0 = no limit. */
  constructor(limit: number, clock: Clock) {
    this.#limit = limit
    this.#clock = clock
  }

  /** Seconds until `address` may try again; 0 when it may now. */
  retryAfter(address: string): number {
    if (this.#limit === 0) return 0
    const window = this.#current(address)
    if (window === undefined || window.failures < this.#limit) return 0
    return Math.max(1, Math.ceil((window.startedAt + WINDOW_MS - this.#clock.now().getTime()) / 1000))
  }

  /** Counts a failed authentication from `address`. */
  fail(address: string): void {
    if (this.#limit === 0) return
    let window = this.#current(address)
    if (window === undefined) {
      window = { startedAt: this.#clock.now().getTime(), failures: 0 }
      this.#windows.delete(address)
      this.#windows.set(address, window)
      this.#prune()
    }
    window.failures += 1
  }

  /** The live window of `address`, if any. */
  #current(address: string): Window | undefined {
    const window = this.#windows.get(address)
    if (window === undefined) return undefined
    if (this.#clock.now().getTime() - window.startedAt >= WINDOW_MS) {
      this.#windows.delete(address)
      return undefined
    }
    return window
  }

  #prune(): void {
    const now = this.#clock.now().getTime()
    for (const [address, window] of this.#windows) {
      if (this.#windows.size <= MAX_TRACKED_ADDRESSES && now - window.startedAt < WINDOW_MS) break
      this.#windows.delete(address)
    }
  }
}
