/**
 * Buffers for blob bytes, taken from a pool and given back once nothing holds them (issue 13).
 * Read into fresh buffers, every gigabyte a node serves allocated a gigabyte outside the V8
 * heap: each buffer's pages faulted in and unmapped again (a second of system CPU per GiB), and
 * the growth of external memory started a full collection of the node's heap every few tens of
 * megabytes (two more seconds per GiB, more as the heap grows). A plain Node.js server with a
 * near-empty heap hardly notices either; a node with fifty megabytes of compiled schemas and
 * state does. Measured alone, reading 1 GiB with a 40 MB heap: 3.7 s of CPU into fresh 1 MiB
 * buffers, 0.5 s into reused ones.
 *
 * One {@link PooledBuffers} serves one answer (or one blob being written): its users take views
 * of pooled buffers in turn (small blobs side by side in one buffer), and nothing goes back to
 * the pool before the holder has {@link PooledBuffers.ended ended} — an answer's connection has
 * written or dropped every byte — and every reader has closed (no read in flight into a view).
 * Only then may another answer read into the same memory.
 *
 * @module
 */

/** Size of a pooled buffer: the largest single read of a blob. */
export const POOLED_BUFFER_BYTES = 1024 * 1024

/** Buffers kept for reuse: enough for the answers in flight of a transfer (a few 4 MiB chunks each). */
const POOL_KEPT_MAX = 32

/** With nothing taken for this long, the pool is let go: an idle node's memory comes back down. */
const POOL_IDLE_MS = 10_000

const free: Buffer[] = []
let idleTimer: NodeJS.Timeout | undefined

function takePooled(): Buffer {
  clearTimeout(idleTimer)
  idleTimer = undefined
  return free.pop() ?? Buffer.allocUnsafeSlow(POOLED_BUFFER_BYTES)
}

function givePooled(buffers: readonly Buffer[]): void {
  for (const buffer of buffers) if (free.length < POOL_KEPT_MAX) free.push(buffer)
  clearTimeout(idleTimer)
  idleTimer = setTimeout(() => void free.splice(0), POOL_IDLE_MS).unref()
}

/** Buffers free in the pool now (for tests). */
export function pooledBuffersFree(): number {
  return free.length
}

/** The buffers one answer (or one write) uses, and when that memory may be reused. */
export class PooledBuffers {
  readonly #taken: Buffer[] = []
  #used = POOLED_BUFFER_BYTES
  #openReaders = 0
  #ended = false
  #given = false

  /**
   * A view of `bytes` bytes (at most {@link POOLED_BUFFER_BYTES}) to read into, valid until the
   * answer has ended and every reader has closed. After the answer ended (a reader still
   * finishing a read) the view is fresh memory, never the pool's.
   */
  take(bytes: number): Buffer {
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > POOLED_BUFFER_BYTES) throw new TypeError(`a read buffer holds 1 to ${POOLED_BUFFER_BYTES} bytes`)
    if (this.#ended) return Buffer.allocUnsafe(bytes)
    if (this.#used + bytes > POOLED_BUFFER_BYTES) {
      this.#taken.push(takePooled())
      this.#used = 0
    }
    const view = this.#taken[this.#taken.length - 1]!.subarray(this.#used, this.#used + bytes)
    this.#used += bytes
    return view
  }

  /** A reader starts reading into these buffers; `closed` is called once it will read no more. */
  opened(): { closed(): void } {
    this.#openReaders++
    let closed = false
    return {
      closed: () => {
        if (closed) return
        closed = true
        this.#openReaders--
        this.#giveBackIfDone()
      },
    }
  }

  /** The holder is done: an answer's connection, or a write, holds none of these bytes any more. */
  ended(): void {
    this.#ended = true
    this.#giveBackIfDone()
  }

  #giveBackIfDone(): void {
    if (!this.#ended || this.#openReaders > 0 || this.#given) return
    this.#given = true
    givePooled(this.#taken.splice(0))
  }
}
