/**
 * Progress of a long transfer on stderr. On a terminal: one line redrawn in place (bytes,
 * total, percent), at most every {@link REDRAW_MS}. Anywhere else (a log, a pipe, CI): plain
 * lines, one at each 10 % step (every {@link PLAIN_STEP_BYTES} when the total is unknown) and
 * a final one, so a log holds a few lines rather than thousands of redraws.
 *
 * @module
 */

/** Where progress goes: stderr, or anything with its `isTTY` and `write`. */
export interface ProgressOutput {
  readonly isTTY?: boolean
  write(text: string): unknown
}

/** Least time between two redraws of the terminal line. */
const REDRAW_MS = 100
/** Without a known total, a plain line every this many bytes. */
const PLAIN_STEP_BYTES = 64 * 1024 * 1024

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const

/** `512 B`, `1.5 MiB`, `2.0 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`
}

export class TransferProgress {
  readonly #label: string
  readonly #total: number | undefined
  readonly #output: ProgressOutput
  readonly #now: () => number
  /** The last 10 % step (or byte step) printed as a plain line. */
  #lastStep = -1
  #lastDrawMs = Number.NEGATIVE_INFINITY
  #drawn = false
  #bytes = 0
  #abandoned = false

  /** `total` in bytes, when known; `now` in milliseconds (a test may give its own clock). */
  constructor(label: string, total: number | undefined, output: ProgressOutput = process.stderr, now: () => number = () => performance.now()) {
    this.#label = label
    this.#total = total
    this.#output = output
    this.#now = now
  }

  /** `bytes` have been transferred so far. */
  update(bytes: number): void {
    if (this.#abandoned) return
    this.#bytes = bytes
    if (this.#output.isTTY === true) {
      const nowMs = this.#now()
      if (nowMs - this.#lastDrawMs < REDRAW_MS) return
      this.#lastDrawMs = nowMs
      this.#redraw()
      return
    }
    const step = this.#total === undefined ? Math.floor(bytes / PLAIN_STEP_BYTES) : Math.floor(this.#percent() / 10)
    if (step > this.#lastStep && step > 0 && !this.#complete()) {
      this.#lastStep = step
      this.#output.write(`${this.#line()}\n`)
    }
  }

  /** Every byte is transferred: the final line (the terminal line is ended). */
  finish(): void {
    if (this.#abandoned) return
    if (this.#output.isTTY === true) {
      this.#redraw()
      this.#output.write('\n')
      this.#drawn = false
      return
    }
    this.#output.write(`${this.#line()}\n`)
  }

  /**
   * The transfer ended without {@link finish} (refused, failed): end the terminal line so that
   * the error is printed on its own. A refusal may come before the body was sent in full: what
   * the sender still reports afterwards is not printed.
   */
  abandon(): void {
    if (this.#drawn) this.#output.write('\n')
    this.#drawn = false
    this.#abandoned = true
  }

  #redraw(): void {
    // `\r` back to the start of the line, ESC[K erases what a longer previous line left.
    this.#output.write(`\r${this.#line()}\u001b[K`)
    this.#drawn = true
  }

  #complete(): boolean {
    return this.#total !== undefined && this.#bytes >= this.#total
  }

  #percent(): number {
    if (this.#total === undefined) return 0
    if (this.#total === 0) return 100
    return Math.min(100, Math.floor((this.#bytes * 100) / this.#total))
  }

  #line(): string {
    if (this.#total === undefined) return `${this.#label}: ${formatBytes(this.#bytes)}`
    return `${this.#label}: ${formatBytes(this.#bytes)} / ${formatBytes(this.#total)} ${String(this.#percent()).padStart(3)}%`
  }
}
