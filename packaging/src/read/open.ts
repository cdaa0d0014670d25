/**
 * Opens a package for reading, whatever it is: a folder, or a ZIP, TAR or ISO file told by its
 * magic bytes, not its name.
 *
 * @module
 */
import { open, stat } from 'node:fs/promises'
import { openDirectory } from './dir.ts'
import { unreadable, type PackageReader } from './entry.ts'
import { openIso } from './iso.ts'
import { openTar } from './tar.ts'
import { openZip } from './zip.ts'

export async function openPackage(path: string): Promise<PackageReader> {
  const info = await stat(path)
  if (info.isDirectory()) return openDirectory(path)
  const handle = await open(path, 'r')
  const head = Buffer.alloc(32774)
  try {
    await handle.read(head, 0, head.length, 0)
  } finally {
    await handle.close()
  }
  if (head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50) return openZip(path)
  if (head.subarray(32769, 32774).toString('ascii') === 'CD001') return openIso(path)
  if (head.subarray(257, 262).toString('ascii') === 'ustar') return openTar(path)
  throw unreadable('not a case package: neither a folder nor a ZIP, TAR or ISO file')
}
