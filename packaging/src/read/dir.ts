/**
 * An extracted package: a folder walked in sorted order; links are reported, never followed.
 *
 * @module
 */
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { rangeOf, type PackageReader, type ReadEntry } from './entry.ts'

export function openDirectory(root: string): PackageReader {
  async function* walk(dir: string, prefix: string): AsyncGenerator<ReadEntry> {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name)
      const path = prefix === '' ? name : `${prefix}/${name}`
      const stat = await lstat(full)
      if (stat.isDirectory()) {
        yield { path, type: 'dir', size: 0, open: () => rangeOf(full, 0, 0) }
        yield* walk(full, path)
      } else {
        yield { path, type: stat.isFile() ? 'file' : 'other', size: stat.size, open: () => rangeOf(full, 0, stat.size) }
      }
    }
  }
  return { kind: 'dir', entries: () => walk(root, ''), close: async () => {} }
}
