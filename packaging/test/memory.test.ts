/**
 * Streams, not buffers: a package of a 1 GiB member streams through the layout with memory
 * that does not grow with the member (the content here is generated, so nothing touches disk).
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { layoutIso, layoutTar, layoutZip, streamLayout, type PackageMember } from '#packaging'

const SIZE = 1024 ** 3
const block = Buffer.alloc(1 << 20, 0x5a)

async function* generated(start: number, end: number): AsyncGenerator<Uint8Array> {
  for (let at = start; at < end; at += block.length) yield block.subarray(0, Math.min(block.length, end - at))
}

// spec: CW-PKG-006
t.test('memory stays flat while a 1 GiB member streams', async (t) => {
  const members: PackageMember[] = [{ path: 'evidence/big.bin', size: SIZE, crc32: 0, mtime: 1_700_000_000 }]
  for (const layout of [layoutZip(members), layoutTar(members), layoutIso(members)]) {
    globalThis.gc?.()
    const before = process.memoryUsage().rss
    let peak = before
    let total = 0
    const hash = createHash('sha256')
    for await (const chunk of streamLayout(layout, (_m, start, end) => generated(start, end))) {
      hash.update(chunk)
      total += chunk.length
      if ((total & 0x3ffffff) < chunk.length) peak = Math.max(peak, process.memoryUsage().rss)
    }
    t.equal(total, layout.size, `${layout.format}: every byte`)
    t.ok(peak - before < 64 * 1024 * 1024, `${layout.format}: RSS grew ${Math.round((peak - before) / 1048576)} MiB for a 1 GiB member`)
  }
})
