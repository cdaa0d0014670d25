/**
 * A ZIP reader for verification: the central directory (ZIP64 included) names the members;
 * each member's data is found through its local header. STORE and DEFLATE.
 *
 * @module
 */
import { open } from 'node:fs/promises'
import { createInflateRaw } from 'node:zlib'
import { readAt, rangeOf, unreadable, type PackageReader, type ReadEntry } from './entry.ts'

function u64(buffer: Buffer, at: number): number {
  const value = buffer.readUInt32LE(at) + buffer.readUInt32LE(at + 4) * 0x1_0000_0000
  if (!Number.isSafeInteger(value)) throw unreadable('ZIP value beyond 2^53')
  return value
}

/** The largest central directory read (a million members take about 80 MB). */
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024

export async function openZip(path: string): Promise<PackageReader> {
  const handle = await open(path, 'r')
  const { size } = await handle.stat()
  const tailLength = Math.min(size, 22 + 0xffff)
  const tail = await readAt(handle, size - tailLength, tailLength)
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  if (eocd < 0 || eocd + 22 > tail.length) {
    await handle.close()
    throw unreadable('not a ZIP archive: no end of central directory')
  }
  let count = tail.readUInt16LE(eocd + 10)
  let cdSize = tail.readUInt32LE(eocd + 12)
  let cdOffset = tail.readUInt32LE(eocd + 16)
  const eocdAt = size - tailLength + eocd
  if (eocdAt >= 20) {
    const locator = await readAt(handle, eocdAt - 20, 20)
    if (locator.readUInt32LE(0) === 0x07064b50) {
      const record = await readAt(handle, u64(locator, 8), 56)
      if (record.readUInt32LE(0) !== 0x06064b50) throw unreadable('ZIP64 end of central directory missing')
      count = u64(record, 32)
      cdSize = u64(record, 40)
      cdOffset = u64(record, 48)
    }
  }
  if (cdOffset + cdSize > size) throw unreadable('ZIP central directory beyond the end of the file')

  if (cdSize > MAX_CENTRAL_DIRECTORY) throw unreadable('ZIP central directory too large')
  async function* entries(): AsyncGenerator<ReadEntry> {
    const directory = await readAt(handle, cdOffset, cdSize)
    let at = 0
    const end = cdSize
    for (let i = 0; i < count; i++) {
      if (at + 46 > end) throw unreadable('ZIP central directory truncated')
      const fixed = directory.subarray(at, at + 46)
      if (fixed.readUInt32LE(0) !== 0x02014b50) throw unreadable('ZIP central directory entry invalid')
      const flags = fixed.readUInt16LE(8)
      const method = fixed.readUInt16LE(10)
      let compressed = fixed.readUInt32LE(20)
      let uncompressed = fixed.readUInt32LE(24)
      const nameLength = fixed.readUInt16LE(28)
      const extraLength = fixed.readUInt16LE(30)
      const commentLength = fixed.readUInt16LE(32)
      const mode = fixed.readUInt32LE(38) >>> 16
      let local = fixed.readUInt32LE(42)
      if (at + 46 + nameLength + extraLength > end) throw unreadable('ZIP central directory truncated')
      const variable = directory.subarray(at + 46, at + 46 + nameLength + extraLength)
      const rawName = Buffer.from(variable.subarray(0, nameLength))
      const name = rawName.toString(flags & 0x0800 ? 'utf8' : 'latin1')
      for (let e = nameLength; e + 4 <= variable.length;) {
        const id = variable.readUInt16LE(e)
        const length = variable.readUInt16LE(e + 2)
        if (id === 0x0001) {
          let z = e + 4
          if (uncompressed === 0xffffffff) {
            uncompressed = u64(variable, z)
            z += 8
          }
          if (compressed === 0xffffffff) {
            compressed = u64(variable, z)
            z += 8
          }
          if (local === 0xffffffff) local = u64(variable, z)
        }
        e += 4 + length
      }
      at += 46 + nameLength + extraLength + commentLength
      const isDir = name.endsWith('/')
      const fileType = mode & 0o170000
      const type: ReadEntry['type'] = isDir ? 'dir' : fileType === 0 || fileType === 0o100000 ? 'file' : 'other'
      if (method !== 0 && method !== 8) throw unreadable(`ZIP member ${name} uses compression method ${method}`, name)
      yield {
        path: isDir ? name.slice(0, -1) : name,
        type,
        size: uncompressed,
        open: async function* () {
          const header = await readAt(handle, local, 30)
          if (header.readUInt32LE(0) !== 0x04034b50) throw unreadable(`ZIP local header of ${name} invalid`, name)
          // Tools that stream a ZIP read the local header's name: it must be the one verified.
          const localName = await readAt(handle, local + 30, header.readUInt16LE(26))
          if (!localName.equals(rawName)) throw unreadable(`ZIP local header of ${name} names another file`, name)
          const dataStart = local + 30 + header.readUInt16LE(26) + header.readUInt16LE(28)
          if (dataStart + compressed > size) throw unreadable(`ZIP member ${name} beyond the end of the file`, name)
          const raw = rangeOf(path, dataStart, dataStart + compressed)
          yield* method === 0 ? raw : ((raw as NodeJS.ReadableStream).pipe(createInflateRaw()) as unknown as AsyncIterable<Uint8Array>)
        },
      }
    }
  }
  return { kind: 'zip', entries, close: () => handle.close() }
}
