/**
 * An ISO 9660 reader for verification: the Joliet tree when there is one, else the primary
 * tree; multi-extent files (level 3) joined; loops and excessive depth refused.
 *
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises'
import { readAt, rangeOf, unreadable, type PackageReader, type ReadEntry } from './entry.ts'

const SECTOR = 2048
const MAX_DEPTH = 64

interface Record {
  id: Buffer
  lba: number
  size: number
  flags: number
}

function ucs2(bytes: Buffer): string {
  let out = ''
  for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode(bytes.readUInt16BE(i))
  return out
}

async function records(handle: FileHandle, lba: number, size: number): Promise<Record[]> {
  if (size > 64 * 1024 * 1024) throw unreadable('ISO directory too large')
  const bytes = await readAt(handle, lba * SECTOR, size)
  const out: Record[] = []
  for (let at = 0; at < bytes.length;) {
    const length = bytes[at]!
    if (length === 0) {
      at = (Math.floor(at / SECTOR) + 1) * SECTOR
      continue
    }
    if (length < 34 || at + length > bytes.length) throw unreadable('ISO directory record invalid')
    const idLength = bytes[at + 32]!
    out.push({ lba: bytes.readUInt32LE(at + 2), size: bytes.readUInt32LE(at + 10), flags: bytes[at + 25]!, id: bytes.subarray(at + 33, at + 33 + idLength) })
    at += length
  }
  return out
}

export async function openIso(path: string): Promise<PackageReader> {
  const handle = await open(path, 'r')
  let root: { lba: number; size: number } | undefined
  let joliet = false
  for (let sector = 16; sector < 64; sector++) {
    const descriptor = await readAt(handle, sector * SECTOR, SECTOR)
    if (descriptor.subarray(1, 6).toString('ascii') !== 'CD001') break
    const type = descriptor[0]
    if (type === 255) break
    const escape = descriptor.subarray(88, 91).toString('ascii')
    if ((type === 1 && root === undefined) || (type === 2 && /^%\/[@CE]$/.test(escape))) {
      root = { lba: descriptor.readUInt32LE(156 + 2), size: descriptor.readUInt32LE(156 + 10) }
      joliet = type === 2
    }
  }
  if (root === undefined) {
    await handle.close()
    throw unreadable('not an ISO 9660 image: no volume descriptor')
  }
  const nameOf = (id: Buffer): string => (joliet ? ucs2(id) : id.toString('latin1')).replace(/;1$/, '').replace(/\.$/, '')

  async function* walk(lba: number, size: number, prefix: string, depth: number, seen: Set<number>): AsyncGenerator<ReadEntry> {
    if (depth > MAX_DEPTH || seen.has(lba)) throw unreadable('ISO directory tree loops or is too deep')
    seen.add(lba)
    const list = await records(handle, lba, size)
    for (let i = 0; i < list.length; i++) {
      const record = list[i]!
      if (record.id.length === 1 && (record.id[0] === 0 || record.id[0] === 1)) continue
      const name = nameOf(record.id)
      const path = prefix === '' ? name : `${prefix}/${name}`
      if (record.flags & 0x02) {
        yield { path, type: 'dir', size: 0, open: () => rangeOf(path, 0, 0) }
        yield* walk(record.lba, record.size, path, depth + 1, seen)
        continue
      }
      const extents = [record]
      while (extents[extents.length - 1]!.flags & 0x80) {
        const next = list[++i]
        if (next === undefined || !next.id.equals(record.id)) throw unreadable(`ISO multi-extent file ${path} is incomplete`, path)
        extents.push(next)
      }
      const total = extents.reduce((sum, e) => sum + e.size, 0)
      const file = imagePath
      yield {
        path,
        type: 'file',
        size: total,
        open: async function* () {
          for (const extent of extents) yield* rangeOf(file, extent.lba * SECTOR, extent.lba * SECTOR + extent.size)
        },
      }
    }
  }
  const imagePath = path
  const start = root
  return { kind: 'iso', entries: () => walk(start.lba, start.size, '', 0, new Set()), close: () => handle.close() }
}
