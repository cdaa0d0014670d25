/**
 * Generated evidence content for the demo and the integration tests: a deterministic
 * pseudo-random byte stream (the AES-128-CTR keystream of a seed), produced piece by piece so
 * that a file of any size costs no more memory than one piece. The same seed and size give
 * the same bytes, so a test can recompute what it uploaded without keeping it.
 *
 * @module
 */
import { createCipheriv, createHash } from 'node:crypto'

/** Bytes per piece the generator yields (1 MiB). */
export const PIECE_SIZE = 1 << 20

function keystream(seed: string): (length: number) => Buffer {
  const key = createHash('sha256').update(`caseway-demo-key:${seed}`).digest().subarray(0, 16)
  const iv = createHash('sha256').update(`caseway-demo-iv:${seed}`).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, iv)
  return (length) => cipher.update(Buffer.alloc(length))
}

/** `size` pseudo-random bytes determined by `seed`, in pieces of at most {@link PIECE_SIZE}. */
export async function* generatedContent(size: number, seed: string): AsyncGenerator<Uint8Array> {
  if (!Number.isSafeInteger(size) || size < 0) throw new TypeError('size must be a non-negative integer')
  const next = keystream(seed)
  for (let remaining = size; remaining > 0; remaining -= PIECE_SIZE) yield next(Math.min(PIECE_SIZE, remaining))
}

/** `sha256:<hex>` of `generatedContent(size, seed)`, computed by generating it again. */
export async function generatedDigest(size: number, seed: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of generatedContent(size, seed)) hash.update(piece)
  return `sha256:${hash.digest('hex')}`
}
