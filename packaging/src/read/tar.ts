/**
 * A TAR reader for verification: ustar headers, pax extended headers (`path`, `size`), GNU
 * long names (`L`) and base-256 sizes; member data read by position.
 *
 * @module
 */
import { open } from 'node:fs/promises'
import { readAt, rangeOf, unreadable, type PackageReader, type ReadEntry } from './entry.ts'

const BLOCK = 512

function text(block: Buffer, at: number, width: number): string {
  const field = block.subarray(at, at + width)
  const nul = field.indexOf(0)
  return field.subarray(0, nul < 0 ? width : nul).toString('utf8')
}

function number(block: Buffer, at: number, width: number): number {
  if (block[at]! & 0x80) {
    let value = 0
    for (let i = at + 1; i < at + width; i++) value = value * 256 + block[i]!
    return value
  }
  const digits = text(block, at, width).trim()
  if (!/^[0-7]*$/.test(digits)) throw unreadable('TAR header number invalid')
  return digits === '' ? 0 : parseInt(digits, 8)
}

function parsePax(bytes: Buffer): Map<string, string> {
  const records = new Map<string, string>()
  let at = 0
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at)
    if (space < 0) break
    const length = Number(bytes.subarray(at, space).toString('ascii'))
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > bytes.length) throw unreadable('TAR pax header invalid')
    const record = bytes.subarray(space + 1, at + length - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1))
    at += length
  }
  return records
}

export async function openTar(path: string): Promise<PackageReader> {
  const handle = await open(path, 'r')
  const { size } = await handle.stat()
  async function* entries(): AsyncGenerator<ReadEntry> {
    let at = 0
    let pax = new Map<string, string>()
    let longName: string | undefined
    while (at + BLOCK <= size) {
      const block = await readAt(handle, at, BLOCK)
      if (block.every((byte) => byte === 0)) return
      let sum = 0
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!
      if (sum !== number(block, 148, 8)) throw unreadable(`TAR header checksum invalid at offset ${at}`)
      const type = String.fromCharCode(block[156] || 0x30)
      let length = number(block, 124, 12)
      if (pax.has('size')) length = Number(pax.get('size'))
      if (!Number.isSafeInteger(length) || length < 0) throw unreadable('TAR member size invalid')
      const dataStart = at + BLOCK
      if (dataStart + length > size) throw unreadable('TAR member beyond the end of the file')
      at = dataStart + Math.ceil(length / BLOCK) * BLOCK
      if (type === 'x' || type === 'L') {
        if (length > 1 << 20) throw unreadable('TAR extended header too large')
        const bytes = await readAt(handle, dataStart, length)
        if (type === 'x') pax = parsePax(bytes)
        else longName = bytes.toString('utf8').replace(/\0+$/, '')
        continue
      }
      if (type === 'g') continue
      const prefix = text(block, 345, 155)
      const name = pax.get('path') ?? longName ?? (prefix === '' ? text(block, 0, 100) : `${prefix}/${text(block, 0, 100)}`)
      pax = new Map()
      longName = undefined
      const kind: ReadEntry['type'] = type === '0' || type === '7' ? 'file' : type === '5' ? 'dir' : 'other'
      yield { path: name.replace(/\/$/, ''), type: kind, size: length, open: () => rangeOf(path, dataStart, dataStart + length) }
    }
  }
  return { kind: 'tar', entries, close: () => handle.close() }
}
