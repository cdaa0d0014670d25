/**
 * ISO 9660 layout (ECMA-119, interchange level 3) with a Joliet tree: the primary tree has
 * d-character names (for readers that know nothing else), the Joliet tree the package paths
 * in UCS-2. Files larger than one extent (4 GiB − 2 KiB) are written as several extents, one
 * directory record each with the multi-extent flag on all but the last. No Rock Ridge: its
 * long names need continuation areas, and Joliet already carries them.
 *
 * A small writer of our own: no maintained npm package writes ISO images.
 *
 * @module
 */
import { assertMembers, SegmentList, type Layout, type PackageMember } from './layout.ts'

const SECTOR = 2048
/** The largest extent a directory record can describe that is a whole number of sectors. */
export const ISO_MAX_EXTENT = 0xfffff800
/** Joliet's record limit: 33 + identifier bytes ≤ 255. */
const MAX_JOLIET_ID_BYTES = 206

export interface IsoOptions {
  /** Volume identifier (d-characters, ≤ 32), default `CASEWAY`. */
  volumeId?: string
  /** Extent size in bytes, a multiple of 2048; default {@link ISO_MAX_EXTENT}. Lowered only by tests. */
  maxExtentSize?: number
}

interface FileNode {
  kind: 'file'
  member: number
  primary: Uint8Array
  joliet: Uint8Array
  /** First sector of its data; set once laid out. */
  lba: number
}

interface DirNode {
  kind: 'dir'
  primary: Uint8Array
  joliet: Uint8Array
  parent: DirNode | undefined
  children: Map<string, DirNode | FileNode>
  number: number
  primaryLba: number
  jolietLba: number
  primarySize: number
  jolietSize: number
}

const ascii = new TextEncoder()

function ucs2(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2)
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    out[2 * i] = unit >> 8
    out[2 * i + 1] = unit & 0xff
  }
  return out
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

function dChars(text: string): string {
  return text
    .normalize('NFKD')
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_')
}

/** A d-character identifier unique in its folder: `BASE.EXT;1` for files, `BASE` for folders. */
function primaryName(name: string, isDir: boolean, taken: Set<string>): string {
  const dot = isDir ? -1 : name.lastIndexOf('.')
  const base = dChars(dot > 0 ? name.slice(0, dot) : name).slice(0, 24) || '_'
  const ext = dot > 0 ? dChars(name.slice(dot + 1)).slice(0, 5) : ''
  for (let n = 0; ; n++) {
    const suffix = n === 0 ? '' : `_${n}`
    const candidate = base.slice(0, 24 - suffix.length) + suffix
    const full = isDir ? candidate : `${candidate}.${ext};1`
    if (!taken.has(full)) {
      taken.add(full)
      return full
    }
  }
}

function bothEndian32(view: DataView, at: number, value: number): void {
  view.setUint32(at, value, true)
  view.setUint32(at + 4, value, false)
}

function bothEndian16(view: DataView, at: number, value: number): void {
  view.setUint16(at, value, true)
  view.setUint16(at + 2, value, false)
}

function recordLength(id: Uint8Array): number {
  return 33 + id.length + (id.length % 2 === 0 ? 1 : 0)
}

function dirRecord(id: Uint8Array, lba: number, size: number, flags: number, mtime: number): Uint8Array {
  const out = new Uint8Array(recordLength(id))
  const v = new DataView(out.buffer)
  out[0] = out.length
  bothEndian32(v, 2, lba)
  bothEndian32(v, 10, size)
  const d = new Date(mtime * 1000)
  out.set([d.getUTCFullYear() - 1900, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0], 18)
  out[25] = flags
  bothEndian16(v, 28, 1)
  out[32] = id.length
  out.set(id, 33)
  return out
}

function longDate(seconds: number): Uint8Array {
  const out = new Uint8Array(17)
  if (seconds < 0) {
    out.set(ascii.encode('0000000000000000'))
    return out
  }
  const d = new Date(seconds * 1000)
  const two = (n: number): string => String(n).padStart(2, '0')
  out.set(
    ascii.encode(
      `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}00`,
    ),
  )
  return out
}

/**
 * The layout of an ISO 9660 image of `members`.
 *
 * @throws {TypeError} for bad members, a path component too long for a Joliet record, or a
 * path that is both a file and a folder.
 */
export function layoutIso(members: readonly PackageMember[], options: IsoOptions = {}): Layout {
  assertMembers(members)
  const extentSize = options.maxExtentSize ?? ISO_MAX_EXTENT
  if (!Number.isSafeInteger(extentSize) || extentSize <= 0 || extentSize % SECTOR !== 0 || extentSize > ISO_MAX_EXTENT) {
    throw new TypeError('"maxExtentSize" option must be a positive multiple of 2048 up to 0xfffff800')
  }
  const volumeId = dChars(options.volumeId ?? 'CASEWAY').slice(0, 32)
  const mtime = members.reduce((latest, m) => Math.max(latest, m.mtime), 0)

  // The tree.
  const newDir = (name: string, parent: DirNode | undefined, taken: Set<string>): DirNode => ({
    kind: 'dir',
    primary: parent === undefined ? new Uint8Array([0]) : ascii.encode(primaryName(name, true, taken)),
    joliet: parent === undefined ? new Uint8Array([0]) : ucs2(name),
    parent,
    children: new Map(),
    number: 0,
    primaryLba: 0,
    jolietLba: 0,
    primarySize: 0,
    jolietSize: 0,
  })
  const root = newDir('', undefined, new Set())
  const takenIn = new Map<DirNode, Set<string>>([[root, new Set()]])
  members.forEach((member, index) => {
    const parts = member.path.split('/')
    let dir = root
    for (const [i, part] of parts.entries()) {
      if (ucs2(part).length > MAX_JOLIET_ID_BYTES) throw new TypeError(`path component too long for Joliet: ${part.slice(0, 40)}…`)
      const existing = dir.children.get(part)
      const taken = takenIn.get(dir)!
      if (i === parts.length - 1) {
        if (existing !== undefined) throw new TypeError(`path is both a file and a folder: ${member.path}`)
        dir.children.set(part, { kind: 'file', member: index, primary: ascii.encode(primaryName(part, false, taken)), joliet: ucs2(part), lba: 0 })
      } else {
        if (existing?.kind === 'file') throw new TypeError(`path is both a file and a folder: ${member.path}`)
        let next = existing
        if (next === undefined) {
          next = newDir(part, dir, taken)
          takenIn.set(next, new Set())
          dir.children.set(part, next)
        }
        dir = next
      }
    }
  })

  // Folders in path-table order: by level, then parent number, then identifier.
  const sortedChildren = (dir: DirNode, tree: 'primary' | 'joliet'): (DirNode | FileNode)[] =>
    [...dir.children.values()].sort((a, b) => compareBytes(a[tree], b[tree]))
  const order = (tree: 'primary' | 'joliet'): DirNode[] => {
    const out: DirNode[] = [root]
    for (let i = 0; i < out.length; i++) {
      for (const child of sortedChildren(out[i]!, tree)) if (child.kind === 'dir') out.push(child)
    }
    return out
  }
  const primaryOrder = order('primary')
  const jolietOrder = order('joliet')

  const extentsOf = (size: number): number => Math.max(1, Math.ceil(size / extentSize))
  /** The records of a folder's extent, each with the bytes it takes (records never cross a sector). */
  const recordsOf = (dir: DirNode, tree: 'primary' | 'joliet'): { id: Uint8Array; node: DirNode | FileNode | 'self' | 'parent'; part: number }[] => {
    const out: { id: Uint8Array; node: DirNode | FileNode | 'self' | 'parent'; part: number }[] = [
      { id: new Uint8Array([0]), node: 'self', part: 0 },
      { id: new Uint8Array([1]), node: 'parent', part: 0 },
    ]
    for (const child of sortedChildren(dir, tree)) {
      const parts = child.kind === 'file' ? extentsOf(members[child.member]!.size) : 1
      for (let part = 0; part < parts; part++) out.push({ id: child[tree], node: child, part })
    }
    return out
  }
  const extentBytes = (dir: DirNode, tree: 'primary' | 'joliet'): number => {
    let used = 0
    for (const record of recordsOf(dir, tree)) {
      const length = recordLength(record.id)
      if ((used % SECTOR) + length > SECTOR) used += SECTOR - (used % SECTOR)
      used += length
    }
    return Math.ceil(used / SECTOR) * SECTOR
  }
  const pathTableSize = (dirs: DirNode[], tree: 'primary' | 'joliet'): number =>
    dirs.reduce((sum, dir) => sum + 8 + dir[tree].length + (dir[tree].length % 2), 0)

  // Sector allocation.
  const sectors = (bytes: number): number => Math.ceil(bytes / SECTOR)
  const primaryTableSize = pathTableSize(primaryOrder, 'primary')
  const jolietTableSize = pathTableSize(jolietOrder, 'joliet')
  let lba = 19
  const primaryL = lba
  lba += sectors(primaryTableSize)
  const primaryM = lba
  lba += sectors(primaryTableSize)
  const jolietL = lba
  lba += sectors(jolietTableSize)
  const jolietM = lba
  lba += sectors(jolietTableSize)
  primaryOrder.forEach((dir, i) => {
    dir.number = i + 1
    dir.primarySize = extentBytes(dir, 'primary')
    dir.primaryLba = lba
    lba += dir.primarySize / SECTOR
  })
  const jolietNumber = new Map<DirNode, number>()
  jolietOrder.forEach((dir, i) => {
    jolietNumber.set(dir, i + 1)
    dir.jolietSize = extentBytes(dir, 'joliet')
    dir.jolietLba = lba
    lba += dir.jolietSize / SECTOR
  })
  const files: FileNode[] = []
  const collect = (dir: DirNode): void => {
    for (const child of sortedChildren(dir, 'joliet')) {
      if (child.kind === 'file') files.push(child)
      else collect(child)
    }
  }
  collect(root)
  for (const file of files) {
    file.lba = lba
    lba += sectors(members[file.member]!.size)
  }
  const totalSectors = lba

  // Rendering.
  const renderDir = (dir: DirNode, tree: 'primary' | 'joliet'): Uint8Array => {
    const size = tree === 'primary' ? dir.primarySize : dir.jolietSize
    const out = new Uint8Array(size)
    let used = 0
    for (const record of recordsOf(dir, tree)) {
      let bytes: Uint8Array
      if (record.node === 'self' || record.node === 'parent') {
        const target = record.node === 'self' ? dir : (dir.parent ?? dir)
        bytes = dirRecord(
          record.id,
          tree === 'primary' ? target.primaryLba : target.jolietLba,
          tree === 'primary' ? target.primarySize : target.jolietSize,
          0x02,
          mtime,
        )
      } else if (record.node.kind === 'dir') {
        const target = record.node
        bytes = dirRecord(
          record.id,
          tree === 'primary' ? target.primaryLba : target.jolietLba,
          tree === 'primary' ? target.primarySize : target.jolietSize,
          0x02,
          mtime,
        )
      } else {
        const member = members[record.node.member]!
        const parts = extentsOf(member.size)
        const start = record.part * extentSize
        const length = Math.min(extentSize, member.size - start)
        const last = record.part === parts - 1
        bytes = dirRecord(record.id, length === 0 ? 0 : record.node.lba + start / SECTOR, length, last ? 0 : 0x80, member.mtime)
      }
      if ((used % SECTOR) + bytes.length > SECTOR) used += SECTOR - (used % SECTOR)
      out.set(bytes, used)
      used += bytes.length
    }
    return out
  }
  const renderPathTable = (dirs: DirNode[], tree: 'primary' | 'joliet', littleEndian: boolean): Uint8Array => {
    const size = pathTableSize(dirs, tree)
    const out = new Uint8Array(sectors(size) * SECTOR)
    const v = new DataView(out.buffer)
    const numbers = tree === 'primary' ? new Map(dirs.map((d) => [d, d.number])) : jolietNumber
    let at = 0
    for (const dir of dirs) {
      const id = dir[tree]
      out[at] = id.length
      v.setUint32(at + 2, tree === 'primary' ? dir.primaryLba : dir.jolietLba, littleEndian)
      v.setUint16(at + 6, numbers.get(dir.parent ?? dir)!, littleEndian)
      out.set(id, at + 8)
      at += 8 + id.length + (id.length % 2)
    }
    return out
  }
  const descriptor = (joliet: boolean): Uint8Array => {
    const out = new Uint8Array(SECTOR)
    const v = new DataView(out.buffer)
    const text = (value: string, at: number, width: number): void => {
      if (joliet) {
        const bytes = ucs2(value.padEnd(width / 2, ' ').slice(0, width / 2))
        out.set(bytes, at)
      } else {
        out.set(ascii.encode(value.padEnd(width, ' ').slice(0, width)), at)
      }
    }
    out[0] = joliet ? 2 : 1
    out.set(ascii.encode('CD001'), 1)
    out[6] = 1
    text('', 8, 32)
    text(volumeId, 40, 32)
    bothEndian32(v, 80, totalSectors)
    if (joliet) out.set(ascii.encode('%/E'), 88)
    bothEndian16(v, 120, 1)
    bothEndian16(v, 124, 1)
    bothEndian16(v, 128, SECTOR)
    bothEndian32(v, 132, joliet ? jolietTableSize : primaryTableSize)
    v.setUint32(140, joliet ? jolietL : primaryL, true)
    v.setUint32(148, joliet ? jolietM : primaryM, false)
    out.set(dirRecord(new Uint8Array([0]), joliet ? root.jolietLba : root.primaryLba, joliet ? root.jolietSize : root.primarySize, 0x02, mtime), 156)
    text('', 190, 128)
    text('', 318, 128)
    text('', 446, 128)
    text('CASEWAY', 574, 128)
    text('', 702, 36)
    text('', 739, 36)
    text('', 776, 36)
    out.set(longDate(mtime), 813)
    out.set(longDate(mtime), 830)
    out.set(longDate(-1), 847)
    out.set(longDate(-1), 864)
    out[881] = 1
    return out
  }

  const list = new SegmentList()
  list.zeros(16 * SECTOR)
  list.bytes(SECTOR, () => descriptor(false))
  list.bytes(SECTOR, () => descriptor(true))
  list.bytes(SECTOR, () => {
    const out = new Uint8Array(SECTOR)
    out[0] = 255
    out.set(ascii.encode('CD001'), 1)
    out[6] = 1
    return out
  })
  list.bytes(sectors(primaryTableSize) * SECTOR, () => renderPathTable(primaryOrder, 'primary', true))
  list.bytes(sectors(primaryTableSize) * SECTOR, () => renderPathTable(primaryOrder, 'primary', false))
  list.bytes(sectors(jolietTableSize) * SECTOR, () => renderPathTable(jolietOrder, 'joliet', true))
  list.bytes(sectors(jolietTableSize) * SECTOR, () => renderPathTable(jolietOrder, 'joliet', false))
  for (const dir of primaryOrder) list.bytes(dir.primarySize, () => renderDir(dir, 'primary'))
  for (const dir of jolietOrder) list.bytes(dir.jolietSize, () => renderDir(dir, 'joliet'))
  for (const file of files) {
    const size = members[file.member]!.size
    list.content(file.member, 0, size)
    list.zeros(sectors(size) * SECTOR - size)
  }
  if (list.offset !== totalSectors * SECTOR) throw new Error('ISO layout is inconsistent')
  return Object.freeze({ format: 'iso', members: Object.freeze([...members]), size: list.offset, segments: list.segments })
}
