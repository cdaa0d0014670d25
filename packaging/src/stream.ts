/**
 * Streaming a {@link Layout}: the whole archive or one byte range, with flat memory. Content is
 * read through the caller's opener, one member window at a time.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import type { Layout, PackageMember } from './layout.ts'

/** Opens bytes `start` to `end` (exclusive) of a member's content. */
export type OpenContent = (member: PackageMember, start: number, end: number) => ContentSource | Promise<ContentSource>

/** Bytes of a member: a stream, an async iterable, or (for small generated files) an array. */
export type ContentSource = Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/** A byte range, `end` exclusive. */
export interface ByteRange {
  start: number
  end: number
}

/** Index of the first segment that ends after `offset`. */
function firstSegment(layout: Layout, offset: number): number {
  let low = 0
  let high = layout.segments.length - 1
  while (low < high) {
    const mid = (low + high) >>> 1
    const segment = layout.segments[mid]!
    if (segment.offset + segment.length <= offset) low = mid + 1
    else high = mid
  }
  return low
}

/**
 * Yields the archive's bytes, or those of `range`. A member whose content is shorter or
 * longer than its layout says fails the stream: the archive would no longer be the one the
 * layout (and any Range request) describes.
 *
 * @example
 * ```ts
 * const layout = layoutZip(members)
 * await pipeline(Readable.from(streamLayout(layout, open)), createWriteStream('case.zip'))
 * ```
 */
export async function* streamLayout(layout: Layout, openContent: OpenContent, range?: ByteRange): AsyncGenerator<Uint8Array> {
  const start = range?.start ?? 0
  const end = range?.end ?? layout.size
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > layout.size || start > end) {
    throw new RangeError(`range ${start}-${end} is outside the archive (${layout.size} bytes)`)
  }
  if (start === end) return
  for (let index = firstSegment(layout, start); index < layout.segments.length; index++) {
    const segment = layout.segments[index]!
    if (segment.offset >= end) break
    const from = Math.max(start, segment.offset) - segment.offset
    const to = Math.min(end, segment.offset + segment.length) - segment.offset
    if (segment.kind === 'bytes') {
      const bytes = segment.render()
      yield from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to)
      continue
    }
    const member = layout.members[segment.member]!
    const contentStart = segment.start + from
    const contentEnd = segment.start + to
    let expected = contentEnd - contentStart
    for await (const chunk of await openContent(member, contentStart, contentEnd)) {
      const bytes = chunk as Uint8Array
      if (bytes.length > expected) throw new Error(`member ${member.path} is longer than its layout`)
      expected -= bytes.length
      yield bytes
    }
    if (expected !== 0) throw new Error(`member ${member.path} is shorter than its layout`)
  }
}
