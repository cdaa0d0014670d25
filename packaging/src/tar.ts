/**
 * TAR layout (POSIX.1-2001 pax interchange format): a ustar header per member, preceded by a
 * pax extended header (`x`) when the path is not plain ASCII or does not fit ustar's
 * name/prefix fields, or the size does not fit its 11 octal digits (8 GiB). Two zero blocks
 * end the archive.
 *
 * Written here rather than with `tar-stream`: its packer writes as content flows and cannot
 * say in advance where member n starts or how long the archive is, which a download that
 * resumes with Range needs.
 *
 * @module
 */
import { assertMembers, SegmentList, type Layout, type PackageMember } from './layout.ts'

const BLOCK = 512
const MAX_OCTAL_SIZE = 0o77777777777
const encoder = new TextEncoder()

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK
}

/** Splits an ASCII path into ustar prefix (≤ 155) and name (≤ 100), or `undefined`. */
function ustarName(path: string): { name: string; prefix: string } | undefined {
  if (!/^[\x20-\x7e]*$/.test(path)) return undefined
  if (path.length <= 100) return { name: path, prefix: '' }
  for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
    const prefix = path.slice(0, slash)
    const name = path.slice(slash + 1)
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { name, prefix }
  }
  return undefined
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0')
}

function header(name: string, prefix: string, size: number, mtime: number, type: string, mode = 0o644): Uint8Array {
  const block = new Uint8Array(BLOCK)
  const put = (text: string, at: number, width: number): void => {
    const bytes = encoder.encode(text)
    block.set(bytes.subarray(0, width), at)
  }
  put(name, 0, 100)
  put(octal(mode, 8), 100, 8)
  put(octal(0, 8), 108, 8)
  put(octal(0, 8), 116, 8)
  if (size <= MAX_OCTAL_SIZE) {
    put(octal(size, 12), 124, 12)
  } else {
    // GNU base-256 for readers without pax; pax readers take the size record.
    block[124] = 0x80
    let rest = size
    for (let at = 135; at > 124; at--) {
      block[at] = rest % 256
      rest = Math.floor(rest / 256)
    }
  }
  put(octal(mtime, 12), 136, 12)
  put(type, 156, 1)
  put('ustar\u000000', 257, 8)
  put(prefix, 345, 155)
  block.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of block) sum += byte
  put(octal(sum, 7) + '\u0000 ', 148, 8)
  return block
}

/** One pax record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bodyLength = encoder.encode(body).length
  let length = bodyLength + 1
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length
  return `${length}${body}`
}

/** What a TAR header says of one member: its path, size, time and (default 0644) permission bits. */
export interface TarMember {
  path: string
  size: number
  mtime: number
  mode?: number
}

/**
 * The header blocks of one member: a pax extended header when needed (named after `index`,
 * the member's position), then its ustar header. Its content follows, padded by
 * {@link tarPadding}; {@link TAR_END_BYTES} zero bytes close the archive. Exported for writers that stream
 * members whose list is not known in advance.
 */
export function tarHeader(member: TarMember, index: number): Uint8Array {
  const fits = ustarName(member.path)
  const mode = member.mode ?? 0o644
  const pax = paxRecords(member, fits)
  if (pax === undefined) return header(fits!.name, fits!.prefix, member.size, member.mtime, '0', mode)
  const out = new Uint8Array(2 * BLOCK + padded(pax.length))
  out.set(header(`PaxHeaders/caseway-${index}`, '', pax.length, member.mtime, 'x'), 0)
  out.set(pax, BLOCK)
  out.set(header(fits?.name ?? `caseway-${index}`, fits?.prefix ?? '', member.size, member.mtime, '0', mode), out.length - BLOCK)
  return out
}

/** The pax records a member needs (a path ustar cannot hold, a size over 8 GiB), if any. */
function paxRecords(member: TarMember, fits: ReturnType<typeof ustarName>): Uint8Array | undefined {
  const records: string[] = []
  if (fits === undefined) records.push(paxRecord('path', member.path))
  if (member.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(member.size)))
  return records.length === 0 ? undefined : encoder.encode(records.join(''))
}

/** How many bytes {@link tarHeader} yields for `member`, without rendering it. */
function tarHeaderLength(member: TarMember): number {
  const pax = paxRecords(member, ustarName(member.path))
  return pax === undefined ? BLOCK : 2 * BLOCK + padded(pax.length)
}

/** The zero bytes that pad a member of `size` bytes to a whole block. */
export function tarPadding(size: number): number {
  return padded(size) - size
}

/** Two zero blocks: the end of an archive. */
export const TAR_END_BYTES = 2 * BLOCK

/**
 * The layout of a pax TAR archive of `members`, in the given order. Folders are implied by
 * the paths (tar and bsdtar create them).
 */
export function layoutTar(members: readonly PackageMember[]): Layout {
  assertMembers(members)
  const list = new SegmentList()
  members.forEach((member, index) => {
    // The header's length is known without rendering it: a pax block pair only when needed.
    const headerLength = tarHeaderLength(member)
    list.bytes(headerLength, () => tarHeader(member, index))
    list.content(index, 0, member.size)
    list.zeros(tarPadding(member.size))
  })
  list.zeros(TAR_END_BYTES)
  return Object.freeze({ format: 'tar', members: Object.freeze([...members]), size: list.offset, segments: list.segments })
}
