/**
 * The embedded blob store: one file per blob under `dir/sha256/ab/cd/<64 hex>`.
 *
 * `put` streams into a temporary file in `dir/tmp/` (same filesystem, created exclusively with
 * mode 0600) while hashing; only when the digest matches is the file fsynced, renamed into place
 * and its directory fsynced. A crash at any point leaves at most a stale temporary file; a
 * visible blob is always complete and correct. A blob already stored is not written again: its
 * source is still read and checked, and its modification time refreshed (the collector's grace
 * period counts from it). `maxBytes` is enforced as bytes arrive, so an oversized source is not
 * read to its end.
 *
 * `putBatch` stores small chunks whose bytes are in memory as a group: each is hashed first (one
 * that does not match is never written), the temporary files are written and fsynced at once
 * (the libuv pool runs the syncs side by side), renamed into place, and then each directory
 * touched is fsynced once (instead of a file sync, a directory sync and the fan-out directories'
 * syncs per blob, one blob after another). It resolves only after all of that, so a caller
 * records nothing before its blob is durable, and a crash midway leaves complete, verified blobs
 * and temporaries, as `put` does.
 *
 * Several replicas may share the directory (a network filesystem): a temporary file is named
 * `<replica>~<instance>~<n>` (n counts this instance's temporaries), and open deletes only those
 * of earlier instances of its own replica (crashed or stopped: a replica runs one instance at a
 * time) and those older than `staleAfterMs` (24 h by default, far longer than writing one
 * chunk), never another live replica's upload in flight — as the S3 store does with its
 * temporary keys.
 *
 * Digests are checked against `^sha256:[0-9a-f]{64}$` before they come near a path.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, opendir, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { RequestError } from '#protocol'
import type { BlobPut, BlobStore, ByteRange, StoredBlob } from './blob_store.ts'
import { checkedMaxBytes, checkRange, digestHex, drainVerified, sourceChunks, verified } from './blob_source.ts'
import { crashPoint } from '../operations/crash_points.ts'
import { POOLED_BUFFER_BYTES, PooledBuffers } from './pooled_buffers.ts'

const DIR_MODE = 0o700
const FILE_MODE = 0o600
const DEFAULT_STALE_AFTER_MS = 24 * 60 * 60 * 1000
/** Separates the parts of a temporary file's name: never in a (sanitised) replica id. */
const TEMP_SEPARATOR = '~'
const HEX_NAME = /^[0-9a-f]{64}$/
const FAN_OUT_NAME = /^[0-9a-f]{2}$/

/** Read size when streaming a blob out. */
const READ_BUFFER_BYTES = 1024 * 1024
/** How much of a blob being stored is gathered before one write. */
const WRITE_BUFFER_BYTES = POOLED_BUFFER_BYTES

export interface FsBlobStoreOptions {
  /** This replica's id in temporary file names (default: `<host name>-<pid>`); distinct per replica. */
  readonly replicaId?: string
  /** Temporary files older than this are deleted at open, whoever wrote them (default 24 h). */
  readonly staleAfterMs?: number
}

/** Opens (creating if needed) a filesystem blob store in `dir` and removes crash leftovers (see the module comment). */
export async function openFsBlobStore(dir: string, options: FsBlobStoreOptions = {}): Promise<BlobStore> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty string')
  const store = new FsBlobStore(dir, options)
  await mkdir(join(dir, 'sha256'), { recursive: true, mode: DIR_MODE })
  await mkdir(store.tmpDir, { recursive: true, mode: DIR_MODE })
  await store.removeStaleTemporaries(options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS)
  return store
}

class FsBlobStore implements BlobStore {
  readonly #root: string
  readonly tmpDir: string
  readonly #replicaId: string
  /** New for every store instance: tells this instance's temporary files from a crashed predecessor's. */
  readonly #instanceId = randomBytes(8).toString('hex')
  /** Names this instance's temporary files: unique within it (the instance id sets them apart from others'), and cheaper than random bytes per blob. */
  #nextTemp = 0

  constructor(dir: string, options: FsBlobStoreOptions) {
    this.#root = join(dir, 'sha256')
    this.tmpDir = join(dir, 'tmp')
    this.#replicaId = (options.replicaId ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9._-]/g, '_') || 'replica'
  }

  async removeStaleTemporaries(staleAfterMs: number): Promise<void> {
    const oldest = Date.now() - staleAfterMs
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name)
      // Names without a replica are from before replicas shared a store: their age decides.
      const ours = name.split(TEMP_SEPARATOR)[0] === this.#replicaId && name.includes(TEMP_SEPARATOR)
      if (ours || (await modifiedBefore(path, oldest))) await rm(path, { force: true, recursive: true })
    }
  }

  /** `sha256:abcd…` → `dir/sha256/ab/cd/abcd…`; anything else is a `TypeError`. */
  #path(digest: string): string {
    const hex = digestHex(digest)
    return join(this.#root, hex.slice(0, 2), hex.slice(2, 4), hex)
  }

  #tempPath(name = String(this.#nextTemp++)): string {
    return join(this.tmpDir, [this.#replicaId, this.#instanceId, name].join(TEMP_SEPARATOR))
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined
  }

  async size(digest: string): Promise<number | undefined> {
    const path = this.#path(digest)
    try {
      const info = await stat(path)
      return info.isFile() ? info.size : undefined
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async put(digest: string, source: AsyncIterable<Uint8Array> | Uint8Array, options?: { maxBytes?: number }): Promise<void> {
    const target = this.#path(digest)
    const maxBytes = checkedMaxBytes(options?.maxBytes)
    const chunks = sourceChunks(source)

    if (await refreshed(target)) {
      // Already stored (and now young again): still consume and check the bytes, but write nothing.
      await drainVerified(chunks, digest, maxBytes)
      return
    }
    const temp = this.#tempPath()
    const file = await open(temp, 'wx', FILE_MODE)
    let closed = false
    try {
      // A blob given whole is written as it is: a write buffer for it would only be garbage.
      const knownBytes = source instanceof Uint8Array ? source.byteLength : maxBytes
      await writeCoalesced(file, verified(chunks, digest, maxBytes), Math.min(WRITE_BUFFER_BYTES, Math.max(1, knownBytes ?? WRITE_BUFFER_BYTES)))
      if ((await this.size(digest)) !== undefined) {
        // A concurrent put stored it meanwhile (identical bytes, by construction).
        await file.close()
        closed = true
        await unlink(temp)
        return
      }
      await file.sync()
      await file.close()
      closed = true
      crashPoint('blob.written')
      const parent = dirname(target)
      const created = await mkdir(parent, { recursive: true, mode: DIR_MODE })
      await rename(temp, target)
      crashPoint('blob.renamed')
      for (const dir of this.#toSync(parent, created)) await syncDirectory(dir)
    } catch (err) {
      if (!closed) await file.close().catch(() => undefined)
      await rm(temp, { force: true })
      throw err
    }
  }

  /**
   * The directories to sync once a blob was renamed into `parent`: `parent`, and, when mkdir
   * created fan-out directories (`created` is the topmost), the parent of each one created —
   * new directories must survive a crash too — and nothing above it.
   */
  #toSync(parent: string, created: string | undefined): string[] {
    const dirs = [parent]
    if (created === undefined) return dirs
    for (let dir = dirname(parent); ; dir = dirname(dir)) {
      dirs.push(dir)
      if (dir === dirname(created) || dir === this.#root) return dirs
    }
  }

  async putBatch(blobs: readonly BlobPut[]): Promise<PromiseSettledResult<void>[]> {
    if (!Array.isArray(blobs)) throw new TypeError('blobs must be an array')
    const outcomes: PromiseSettledResult<void>[] = blobs.map(() => ({ status: 'fulfilled', value: undefined }))
    const fail = (index: number, reason: unknown): void => {
      outcomes[index] = { status: 'rejected', reason }
    }
    // 1. Each blob checked and hashed before anything is written, then its temporary file
    //    written and synced: all side by side.
    const written: { index: number; target: string; temp: string }[] = []
    await Promise.all(
      blobs.map(async ({ digest, bytes, maxBytes }, index) => {
        let temp: string | undefined
        try {
          const target = this.#path(digest)
          await drainVerified(sourceChunks(bytes), digest, checkedMaxBytes(maxBytes))
          // Already stored (and now young again): nothing to write.
          if (await refreshed(target)) return
          temp = this.#tempPath()
          await writeFile(temp, bytes, { flag: 'wx', mode: FILE_MODE, flush: true })
          written.push({ index, target, temp })
        } catch (err) {
          // A temporary left behind is removed at the next open; this blob fails either way.
          if (temp !== undefined) await rm(temp, { force: true }).catch(() => undefined)
          fail(index, err)
        }
      }),
    )
    // 2. Every synced file renamed into place, noting the directories that changed. A blob a
    //    concurrent put stored meanwhile is replaced by the same bytes (content-addressed).
    const dirs = new Set<string>()
    const renamed: number[] = []
    await Promise.all(
      written.map(async ({ index, target, temp }) => {
        try {
          crashPoint('blob.written')
          const parent = dirname(target)
          const created = await mkdir(parent, { recursive: true, mode: DIR_MODE })
          await rename(temp, target)
          crashPoint('blob.renamed')
          for (const dir of this.#toSync(parent, created)) dirs.add(dir)
          renamed.push(index)
        } catch (err) {
          await rm(temp, { force: true }).catch(() => undefined)
          fail(index, err)
        }
      }),
    )
    // 3. Each directory synced once. Should one fail, no blob renamed is reported stored: it is
    //    visible and correct, but not known to be durable (a retry stores it again).
    try {
      await Promise.all([...dirs].map(syncDirectory))
    } catch (err) {
      for (const index of renamed) fail(index, err)
    }
    return outcomes
  }

  async get(digest: string, range?: ByteRange, options?: { buffers?: PooledBuffers }): Promise<Readable> {
    const path = this.#path(digest)
    checkRange(range)
    let file: FileHandle
    try {
      file = await open(path, 'r')
    } catch (err) {
      if (isNotFound(err)) throw new RequestError('CW_ERR_NOT_FOUND', 'blob not found')
      throw err
    }
    let size: number
    try {
      size = (await file.stat()).size
      if (range !== undefined && range.end >= size) {
        throw new RequestError('CW_ERR_RANGE_INVALID', 'range outside the blob')
      }
    } catch (err) {
      await file.close()
      throw err
    }
    const selected = range ?? (size > 0 ? { start: 0, end: size - 1 } : undefined)
    const length = selected === undefined ? 0 : selected.end - selected.start + 1
    if (options?.buffers !== undefined) return new FileReader(file, selected?.start ?? 0, length, options.buffers)
    // The stream owns the handle (autoClose): it is closed at end, on error and on destroy.
    // Reads of up to 1 MiB: a chunk is megabytes, and 64 KiB reads made whole-file verification
    // I/O-bound. Never larger than the bytes to read: each read allocates its buffer, and a 1 MiB
    // buffer per small blob (serving or verifying ten thousand small items) was most of the
    // nodes' garbage-collection time. The known end also saves the read that finds EOF.
    return file.createReadStream({
      highWaterMark: Math.min(READ_BUFFER_BYTES, Math.max(1, length)),
      ...(selected === undefined ? {} : { start: selected.start, end: selected.end }),
    })
  }

  async *list(): AsyncGenerator<StoredBlob> {
    // Walked with directory handles, one level at a time: millions of blobs are never listed at once.
    for await (const first of await opendir(this.#root)) {
      if (!first.isDirectory() || !FAN_OUT_NAME.test(first.name)) continue
      for await (const second of await opendir(join(this.#root, first.name))) {
        if (!second.isDirectory() || !FAN_OUT_NAME.test(second.name)) continue
        for await (const file of await opendir(join(this.#root, first.name, second.name))) {
          if (!file.isFile() || !HEX_NAME.test(file.name)) continue
          const info = await stat(join(file.parentPath, file.name)).catch((err: unknown) => {
            if (isNotFound(err)) return undefined
            throw err
          })
          if (info !== undefined) yield { digest: `sha256:${file.name}`, size: info.size, modifiedAt: info.mtime }
        }
      }
    }
  }

  async delete(digest: string, options?: { unmodifiedSince?: Date }): Promise<boolean> {
    const path = this.#path(digest)
    try {
      if (options?.unmodifiedSince !== undefined && (await stat(path)).mtime > options.unmodifiedSince) return false
      await unlink(path)
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  async check(): Promise<void> {
    const probe = this.#tempPath('probe-' + randomBytes(8).toString('hex'))
    const bytes = randomBytes(32)
    try {
      await writeFile(probe, bytes, { flag: 'wx', mode: FILE_MODE })
      const back = await readFile(probe)
      if (!back.equals(bytes)) throw new Error('blob store probe read back different bytes')
    } finally {
      await rm(probe, { force: true })
    }
  }
}

/**
 * A body arrives as pieces of a TLS record or so (16–64 KiB): one write each was 64 thousand
 * writes per GiB, each a trip to the thread pool and a promise on the event loop (issue 13:
 * 16% of a receiving node's main thread). The pieces are copied into one buffer and written
 * `bufferBytes` (at most {@link WRITE_BUFFER_BYTES}, less for a blob known to be smaller) at a
 * time — copied, because a source may reuse its buffer.
 */
async function writeCoalesced(file: FileHandle, pieces: AsyncIterable<Uint8Array>, bufferBytes: number): Promise<void> {
  // Pooled: no write is in flight once this returns or throws (each is awaited).
  const buffers = new PooledBuffers()
  let buffer: Buffer | undefined
  let filled = 0
  try {
    for await (const piece of pieces) {
      if (buffer === undefined && piece.byteLength >= bufferBytes) {
        await writeAll(file, piece)
        continue
      }
      buffer ??= buffers.take(bufferBytes)
      let offset = 0
      while (offset < piece.byteLength) {
        const taken = Math.min(piece.byteLength - offset, bufferBytes - filled)
        buffer.set(piece.subarray(offset, offset + taken), filled)
        filled += taken
        offset += taken
        if (filled === bufferBytes) {
          await writeAll(file, buffer)
          filled = 0
        }
      }
    }
    if (filled > 0) await writeAll(file, buffer!.subarray(0, filled))
  } finally {
    buffers.ended()
  }
}

async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset)
    offset += bytesWritten
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Sets the file's modification time to now; false when there is no such file. */
async function refreshed(path: string): Promise<boolean> {
  const now = new Date()
  try {
    await utimes(path, now, now)
    return true
  } catch (err) {
    if (isNotFound(err)) return false
    throw err
  }
}

async function modifiedBefore(path: string, ms: number): Promise<boolean> {
  try {
    return (await stat(path)).mtimeMs < ms
  } catch (err) {
    if (isNotFound(err)) return false
    throw err
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/**
 * Streams `length` bytes of `file` from `start`, read into views of `buffers` (each read at most
 * {@link POOLED_BUFFER_BYTES}). It owns the handle: closed at the end, on error and on destroy —
 * after a read in flight has completed, so that nothing is written into a view once it reports
 * itself closed. A file that ends early fails the stream rather than sending fewer bytes.
 */
class FileReader extends Readable {
  readonly #file: FileHandle
  readonly #buffers: PooledBuffers
  readonly #reader: { closed(): void }
  #position: number
  #remaining: number
  #reading: Promise<void> | undefined

  constructor(file: FileHandle, start: number, length: number, buffers: PooledBuffers) {
    super()
    this.#file = file
    this.#buffers = buffers
    this.#reader = buffers.opened()
    this.#position = start
    this.#remaining = length
    this.once('close', () => this.#reader.closed())
  }

  override _read(): void {
    if (this.#remaining === 0) {
      this.push(null)
      return
    }
    const view = this.#buffers.take(Math.min(POOLED_BUFFER_BYTES, this.#remaining))
    this.#reading = this.#file.read(view, 0, view.byteLength, this.#position).then(
      ({ bytesRead }) => {
        this.#reading = undefined
        if (this.destroyed) return
        if (bytesRead === 0) {
          this.destroy(new Error(`blob ended ${this.#remaining} bytes early`))
          return
        }
        this.#position += bytesRead
        this.#remaining -= bytesRead
        this.push(view.subarray(0, bytesRead))
      },
      (err: unknown) => {
        this.#reading = undefined
        this.destroy(err as Error)
      },
    )
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const close = () =>
      this.#file.close().then(
        () => callback(error),
        (closeError: unknown) => callback(error ?? (closeError as Error)),
      )
    void (this.#reading ?? Promise.resolve()).then(close, close)
  }
}
