/**
 * Retry delays: exponential backoff with jitter, capped.
 *
 * @module
 */

/**
 * Delay before retrying after failed attempt number `attempt` (1 = the first run failed):
 * `baseMs · 2^(attempt−1)`, capped at `maxMs`, then jittered down by up to half
 * ("equal jitter"), so retries of many jobs spread out but never come back almost at once.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new TypeError('attempt must be a positive integer')
  const exponential = baseMs * 2 ** Math.min(attempt - 1, 52)
  const capped = Math.min(maxMs, exponential)
  return Math.round(capped / 2 + (capped / 2) * random())
}
