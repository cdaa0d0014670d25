/**
 * ZIP layout (APPNOTE 6.3.10): every member STOREd (evidence is already compressed), its CRC-32
 * and sizes known in advance so no data descriptor is needed, UTF-8 names (flag bit 11), and
 * ZIP64 records exactly where a size, an offset or the member count needs them (> 4 GiB
 * members, > 65,535 members, a central directory beyond 4 GiB).
 *
 * @module
 */
import { assertMembers, SegmentList, writeU64LE, type Layout, type PackageMember } from './layout.ts'

const MAX32 = 0xffffffff
const MAX16 = 0xffff
const UTF8_FLAG = 0x0800
/** Made by: UNIX (3), spec version 4.5, so the external attributes carry a mode. */
const VERSION_MADE_BY = (3 << 8) | 45
const encoder = new TextEncoder()

/** MS-DOS date and time of `seconds`, in UTC so every run writes the same bytes. */
function dosDateTime(seconds: number): { date: number; time: number } {
  const d = new Date(seconds * 1000)
  const year = Math.min(Math.max(d.getUTCFullYear(), 1980), 2107)
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  }
}

function localHeader(member: PackageMember, name: Uint8Array): Uint8Array {
  const zip64 = member.size >= MAX32
  const out = new Uint8Array(30 + name.length + (zip64 ? 20 : 0))
  const v = new DataView(out.buffer)
  const { date, time } = dosDateTime(member.mtime)
  v.setUint32(0, 0x04034b50, true)
  v.setUint16(4, zip64 ? 45 : 20, true)
  v.setUint16(6, UTF8_FLAG, true)
  v.setUint16(8, 0, true) // STORE
  v.setUint16(10, time, true)
  v.setUint16(12, date, true)
  v.setUint32(14, member.crc32, true)
  v.setUint32(18, zip64 ? MAX32 : member.size, true)
  v.setUint32(22, zip64 ? MAX32 : member.size, true)
  v.setUint16(26, name.length, true)
  v.setUint16(28, zip64 ? 20 : 0, true)
  out.set(name, 30)
  if (zip64) {
    const at = 30 + name.length
    v.setUint16(at, 0x0001, true)
    v.setUint16(at + 2, 16, true)
    writeU64LE(v, at + 4, member.size)
    writeU64LE(v, at + 12, member.size)
  }
  return out
}

function centralHeader(member: PackageMember, name: Uint8Array, offset: number): Uint8Array {
  const bigSize = member.size >= MAX32
  const bigOffset = offset >= MAX32
  const extraLength = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0
  const out = new Uint8Array(46 + name.length + extraLength)
  const v = new DataView(out.buffer)
  const { date, time } = dosDateTime(member.mtime)
  v.setUint32(0, 0x02014b50, true)
  v.setUint16(4, VERSION_MADE_BY, true)
  v.setUint16(6, extraLength > 0 ? 45 : 20, true)
  v.setUint16(8, UTF8_FLAG, true)
  v.setUint16(10, 0, true)
  v.setUint16(12, time, true)
  v.setUint16(14, date, true)
  v.setUint32(16, member.crc32, true)
  v.setUint32(20, bigSize ? MAX32 : member.size, true)
  v.setUint32(24, bigSize ? MAX32 : member.size, true)
  v.setUint16(28, name.length, true)
  v.setUint16(30, extraLength, true)
  v.setUint16(32, 0, true) // comment
  v.setUint16(34, 0, true) // disk
  v.setUint16(36, 0, true) // internal attributes
  v.setUint32(38, (0o100644 << 16) >>> 0, true) // regular file, rw-r--r--
  v.setUint32(42, bigOffset ? MAX32 : offset, true)
  out.set(name, 46)
  if (extraLength > 0) {
    let at = 46 + name.length
    v.setUint16(at, 0x0001, true)
    v.setUint16(at + 2, extraLength - 4, true)
    at += 4
    if (bigSize) {
      writeU64LE(v, at, member.size) // uncompressed
      writeU64LE(v, at + 8, member.size) // compressed
      at += 16
    }
    if (bigOffset) writeU64LE(v, at, offset)
  }
  return out
}

function endRecords(count: number, cdOffset: number, cdSize: number, zip64EndOffset: number): Uint8Array {
  const zip64 = count > MAX16 || cdOffset >= MAX32 || cdSize >= MAX32
  const out = new Uint8Array((zip64 ? 56 + 20 : 0) + 22)
  const v = new DataView(out.buffer)
  let at = 0
  if (zip64) {
    v.setUint32(0, 0x06064b50, true)
    writeU64LE(v, 4, 44)
    v.setUint16(12, VERSION_MADE_BY, true)
    v.setUint16(14, 45, true)
    v.setUint32(16, 0, true)
    v.setUint32(20, 0, true)
    writeU64LE(v, 24, count)
    writeU64LE(v, 32, count)
    writeU64LE(v, 40, cdSize)
    writeU64LE(v, 48, cdOffset)
    v.setUint32(56, 0x07064b50, true)
    v.setUint32(60, 0, true)
    writeU64LE(v, 64, zip64EndOffset)
    v.setUint32(72, 1, true)
    at = 76
  }
  v.setUint32(at, 0x06054b50, true)
  v.setUint16(at + 4, 0, true)
  v.setUint16(at + 6, 0, true)
  v.setUint16(at + 8, Math.min(count, MAX16), true)
  v.setUint16(at + 10, Math.min(count, MAX16), true)
  v.setUint32(at + 12, Math.min(cdSize, MAX32), true)
  v.setUint32(at + 16, Math.min(cdOffset, MAX32), true)
  v.setUint16(at + 20, 0, true)
  return out
}

/**
 * The layout of a ZIP archive of `members`, in the given order.
 *
 * @throws {TypeError} for a member that is not a relative package path, a path longer than
 * 65,535 UTF-8 bytes, or a bad size, CRC or time.
 */
export function layoutZip(members: readonly PackageMember[]): Layout {
  assertMembers(members)
  const list = new SegmentList()
  const names = members.map((member) => {
    const name = encoder.encode(member.path)
    if (name.length > MAX16) throw new TypeError(`member path longer than 65,535 bytes: ${member.path.slice(0, 40)}…`)
    return name
  })
  const offsets: number[] = []
  members.forEach((member, index) => {
    offsets.push(list.offset)
    const name = names[index]!
    list.bytes(30 + name.length + (member.size >= MAX32 ? 20 : 0), () => localHeader(member, names[index]!))
    list.content(index, 0, member.size)
  })
  const cdOffset = list.offset
  members.forEach((member, index) => {
    const name = names[index]!
    const offset = offsets[index]!
    const bigSize = member.size >= MAX32
    const bigOffset = offset >= MAX32
    const extra = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0
    list.bytes(46 + name.length + extra, () => centralHeader(member, name, offset))
  })
  const cdSize = list.offset - cdOffset
  const zip64EndOffset = list.offset
  const end = endRecords(members.length, cdOffset, cdSize, zip64EndOffset)
  list.fixed(end)
  return Object.freeze({ format: 'zip', members: Object.freeze([...members]), size: list.offset, segments: list.segments })
}
