/**
 * Named crash points, for the tests that prove a crash at a given moment loses nothing. A test
 * starts a real node process with `CASEWAY_CRASH_POINT=<name>`; when the code reaches
 * `crashPoint('<name>')` the process is killed with SIGKILL on the spot — no `finally`, no
 * shutdown hook, no flushed buffer, as a power cut or the OOM killer would. Without the variable
 * (every production node) `crashPoint` is a string comparison against undefined.
 *
 * Points are named `<area>.<moment>` and listed in {@link CRASH_POINTS}, so a crash matrix can
 * iterate over them and a typo in a test fails the type check instead of never crashing.
 * Only this module reads the variable.
 *
 * @module
 */

export const CRASH_POINTS = [
  /** An action's transaction (state, outbox rows, job rows) committed; no consumer has run yet. */
  'outbox.after-commit',
] as const

export type CrashPointName = (typeof CRASH_POINTS)[number]

/** The environment variable that arms one crash point. */
export const CRASH_POINT_VARIABLE = 'CASEWAY_CRASH_POINT'

/**
 * `<name>` crashes the first time the point is reached; `<name>:<n>` the n-th time (a matrix
 * crashes the second upload, the third offer, …). Read once: fixed for the life of the process.
 */
const [armed, nth] = parseArmed(process.env[CRASH_POINT_VARIABLE])
let reached = 0

function parseArmed(value: string | undefined): [string | undefined, number] {
  const match = value === undefined ? null : /^([a-z0-9.-]+)(?::([1-9][0-9]*))?$/.exec(value)
  return match === null ? [undefined, 0] : [match[1], Number(match[2] ?? 1)]
}

/** Kills this process with SIGKILL when `name` is the armed crash point; otherwise does nothing. */
export function crashPoint(name: CrashPointName): void {
  if (armed !== name || ++reached < nth) return
  // Synchronous write: the test reads it to know the crash came from here and not from a bug.
  process.stderr.write(`caseway: crash point ${name} reached: SIGKILL\n`)
  process.kill(process.pid, 'SIGKILL')
}
