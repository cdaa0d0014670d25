/**
 * Test files: fast pseudo-random bytes, distinct in every 4 MiB block (a 16 MiB random buffer
 * repeated, with the block index in the first 8 bytes of each block, so no two chunks of the
 * node's default chunk size are identical and nothing dedupes). The SHA-256 is computed while
 * writing.
 *
 * @module
 */
import { createHash, randomFillSync } from 'node:crypto'
import { open } from 'node:fs/promises'

export const MiB = 1024 * 1024
const BLOCK = 4 * MiB
const POOL = 16 * MiB

export interface GeneratedFile {
  path: string
  size: number
  /** `sha256:<hex>` of the whole file. */
  digest: string
}

export async function generateFile(path: string, size: number): Promise<GeneratedFile> {
  const pool = randomFillSync(Buffer.allocUnsafe(POOL))
  const blocksInPool = POOL / BLOCK
  const hash = createHash('sha256')
  const file = await open(path, 'wx', 0o600)
  try {
    let written = 0
    for (let index = 0; written < size; index++) {
      const length = Math.min(BLOCK, size - written)
      const offset = (index % blocksInPool) * BLOCK
      const block = pool.subarray(offset, offset + length)
      if (length >= 8) block.writeBigUInt64BE(BigInt(index), 0)
      hash.update(block)
      let done = 0
      while (done < length) done += (await file.write(block, done, length - done, written + done)).bytesWritten
      written += length
    }
    await file.sync()
  } finally {
    await file.close()
  }
  return { path, size, digest: 'sha256:' + hash.digest('hex') }
}
