/**
 * What a package reader yields: each member in archive order, its content opened on demand.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { VerificationError } from '#protocol'

export interface ReadEntry {
  /** The member's path as the archive names it (`/`-separated, no leading `/`). */
  path: string
  /** `file`, `dir`, or `other` (links, devices: never in a Caseway package). */
  type: 'file' | 'dir' | 'other'
  size: number
  /** The content; for a file only. */
  open(): AsyncIterable<Uint8Array>
}

/** Reads the members of a package: call `entries()` as often as needed (each call restarts). */
export interface PackageReader {
  readonly kind: 'zip' | 'tar' | 'iso' | 'dir'
  entries(): AsyncIterable<ReadEntry>
  close(): Promise<void>
}

export function unreadable(message: string, at?: string): VerificationError {
  return new VerificationError('CW_ERR_PACKAGE_INVALID', message, at === undefined ? undefined : { at })
}

/** Exactly `length` bytes at `position`, or a `CW_ERR_PACKAGE_INVALID` for a truncated file. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done)
    if (bytesRead === 0) throw unreadable('package is truncated')
    done += bytesRead
  }
  return buffer
}

/** A stream of bytes `start` (inclusive) to `end` (exclusive) of the file at `path`. */
export function rangeOf(path: string, start: number, end: number): AsyncIterable<Uint8Array> {
  if (end <= start) return (async function* () {})()
  return createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 })
}
