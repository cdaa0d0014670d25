/**
 * A clock a test moves by hand, for the `clock` a node context takes: time stands still until
 * the test advances it, so timestamps are exact and ordered without waiting.
 *
 * @module
 */

export interface ManualClock {
  now(): Date
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void
  /** The current time in whole Unix seconds. */
  seconds(): number
}

/** A clock at `start` (default: now, rounded down to a whole second). */
export function manualClock(start: Date | number = Math.floor(Date.now() / 1000) * 1000): ManualClock {
  let ms = typeof start === 'number' ? start : start.getTime()
  return {
    now: () => new Date(ms),
    advance: (by) => {
      ms += by
    },
    seconds: () => Math.floor(ms / 1000),
  }
}
