/**
 * `caseway backup verify` and `caseway restore`.
 *
 * Both read the archive once through `readBackup`, which checks every member against the
 * index as it flows. Verify keeps only the database snapshot (in a private temporary
 * directory) to open it; restore writes every member, with the mode the index gives, into a
 * new directory beside the target, and only once every byte and the snapshot are checked
 * and fsynced renames it into place. A failure leaves the target as it was.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { RequestError, VerificationError } from '#protocol'
import { checkSnapshot } from '../store/sqlite/snapshot.ts'
import { DATA_PREFIX, MANIFEST_PATH, readBackup, type BackupHeader, type BackupSink, type MemberWriter, type ReadBackup } from './backup_index.ts'

/** A sink that writes members under `root` (as their archive paths), each `only` passes, fsynced. */
function directorySink(root: string, only: (path: string, header: BackupHeader) => boolean = () => true): BackupSink {
  return {
    async open(member, header) {
      if (!only(member.path, header)) return undefined
      const path = join(root, member.path)
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      // `wx`: a path listed twice is refused rather than overwritten.
      const file: FileHandle = await open(path, 'wx', member.mode)
      await file.chmod(member.mode)
      const writer: MemberWriter = {
        async write(chunk) {
          // A write may take fewer bytes than it was given.
          for (let done = 0; done < chunk.length;) done += (await file.write(chunk, done, chunk.length - done)).bytesWritten
        },
        async finish() {
          await file.sync()
          await file.close()
        },
        async abort() {
          await file.close().catch(() => undefined)
        },
      }
      return writer
    },
  }
}

/**
 * Reads and checks the archive, then opens its database snapshot; throws a `VerificationError`
 * naming the first bad member. `index`, the hex SHA-256 `caseway backup` printed, pins the
 * index itself: without it, whoever can rewrite the archive can rewrite its index too.
 */
async function readChecked(file: string, root: string, index: string | undefined, only?: (path: string, header: BackupHeader) => boolean): Promise<ReadBackup> {
  const read = await readBackup(file, directorySink(root, only))
  if (index !== undefined && read.manifestSha256 !== index) {
    throw new VerificationError('CW_ERR_PACKAGE_MEMBER_ALTERED', `the index's SHA-256 is ${read.manifestSha256}, not the one given`, { at: MANIFEST_PATH })
  }
  const fault = checkSnapshot(join(root, read.header.database), read.header.schema)
  if (fault !== undefined) {
    throw new VerificationError('CW_ERR_PACKAGE_MEMBER_ALTERED', `the database snapshot: ${fault}`, { at: read.header.database })
  }
  return read
}

/** Checks the backup at `file` offline: every member against the index, every blob against its digest, the snapshot as a database. */
export async function verifyBackup(file: string, options: { index?: string } = {}): Promise<ReadBackup> {
  const scratch = await mkdtemp(join(tmpdir(), 'caseway-verify-'))
  try {
    // Only the database snapshot is kept, to be opened.
    return await readChecked(file, scratch, options.index, (path, header) => path === header.database)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

export interface RestoreOptions {
  file: string
  /** The node directory to restore into. */
  dir: string
  /** Replace a directory that is not empty. */
  force?: boolean
  /** The hex SHA-256 of the index, as `caseway backup` printed it. */
  index?: string
}

async function entriesOf(dir: string): Promise<string[] | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new RequestError('CW_ERR_CONFLICT', `${dir} exists and is not a directory`)
    return await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Restores the backup at `options.file` into `options.dir`, all or nothing. */
export async function restoreBackup(options: RestoreOptions): Promise<ReadBackup> {
  const target = resolve(options.dir)
  const existing = await entriesOf(target)
  if (existing !== undefined && existing.length > 0 && options.force !== true) {
    throw new RequestError('CW_ERR_CONFLICT', `${target} is not empty: restore into a new directory, or give --force to replace it`)
  }
  const parent = dirname(target)
  await mkdir(parent, { recursive: true })
  const suffix = randomBytes(6).toString('hex')
  // Beside the target, so that the final step is a rename on one filesystem.
  const staging = join(parent, `.${basename(target)}.restore-${suffix}`)
  await mkdir(staging, { mode: 0o700 })
  try {
    const read = await readChecked(options.file, staging, options.index)
    const restored = join(staging, DATA_PREFIX.slice(0, -1))
    if (existing === undefined) {
      await rename(restored, target)
    } else {
      // The old directory is moved aside, not deleted, until the new one is in place.
      const old = join(parent, `.${basename(target)}.old-${suffix}`)
      await rename(target, old)
      try {
        await rename(restored, target)
      } catch (err) {
        await rename(old, target)
        throw err
      }
      await rm(old, { recursive: true, force: true })
    }
    await syncDirectory(parent)
    return read
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
