/**
 * `caseway backup`: one archive from which a node on the embedded default (SQLite + the
 * filesystem blob store) can be restored, taken while the node may be running.
 *
 * First everything but the blobs is fixed in a private staging directory beside the archive: a `VACUUM INTO` snapshot
 * of the database (consistent, whatever the node commits meanwhile) and a copy of every other
 * file of the node directory (configuration, PKI with its private keys, admin token), with
 * their modes. The blobs are content-addressed and never change once visible, so they are read
 * in place, and each is checked against its digest while it is copied: a damaged blob fails
 * the backup instead of being archived. The index (see `backup_index.ts`) lists every member
 * before the archive is written, so it can come first; the archive is streamed to a temporary
 * file (0600: it holds private keys) renamed into place once complete.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { tarHeader, tarPadding, TAR_END_BYTES } from '#packaging'
import { loadConfig, nodePath } from '../config/load.ts'
import { snapshotDatabase } from '../store/sqlite/snapshot.ts'
import { DATA_PREFIX, MANIFEST_PATH, memberOf, renderHeader, renderMember, type BackupHeader, type BackupMember } from './backup_index.ts'

export interface BackupOptions {
  /** The node directory. */
  dir: string
  /** The archive to write (replaced if it exists, only once the new one is complete). */
  out: string
  now?: Date
}

export interface BackupResult {
  members: number
  /** Size of the archive. */
  bytes: number
  /** SHA-256 of the index: record it elsewhere to tell later that the archive is the one made. */
  manifestSha256: string
}

const READ_BUFFER_BYTES = 1024 * 1024
const BLOB_NAME = /^[0-9a-f]{64}$/
/** SQLite's companions of a database file: the snapshot replaces them all. */
const DATABASE_SUFFIXES = ['', '-wal', '-shm', '-journal']

/** `path` relative to `root` with `/` separators, or `undefined` when it lies outside. */
function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path)
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined
  return rel.split(sep).join('/')
}

function permissions(mode: number): number {
  return mode & 0o777
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BUFFER_BYTES })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

interface Plan {
  nodeDir: string
  blobDir: string
  /** Archive path of the blob store directory. */
  blobsPath: string
  staging: string
}

/** Copies the node directory's files (but the database and the blobs) into `staging/data/`, with their modes. */
async function stageFiles(plan: Plan, skip: (path: string) => boolean, from: string = plan.nodeDir): Promise<void> {
  for (const name of (await readdir(from)).sort()) {
    const path = join(from, name)
    if (skip(path)) continue
    const info = await lstat(path)
    const target = join(plan.staging, DATA_PREFIX, relative(plan.nodeDir, path))
    if (info.isDirectory()) {
      await stageFiles(plan, skip, path)
    } else if (info.isFile()) {
      if (name.includes('\n')) throw new Error(`${path}: a file name with a line break cannot be listed in the backup index`)
      await mkdir(dirname(target), { recursive: true, mode: 0o700 })
      await copyFile(path, target)
      await chmod(target, permissions(info.mode))
    } else {
      throw new Error(`${path} is not a regular file or directory: the backup copies files only`)
    }
  }
}

/** Lists the staged files (the snapshot first) into `lines`, each with its digest. */
async function listStaged(plan: Plan, database: string, write: (member: BackupMember) => Promise<void>): Promise<void> {
  const root = join(plan.staging, DATA_PREFIX)
  const walk = async (dir: string): Promise<string[]> => {
    const found: string[] = []
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name)
      if ((await lstat(path)).isDirectory()) found.push(...(await walk(path)))
      else found.push(path)
    }
    return found
  }
  const files = await walk(root)
  const databaseFile = join(root, database.slice(DATA_PREFIX.length))
  for (const path of [databaseFile, ...files.filter((file) => file !== databaseFile)]) {
    const info = await stat(path)
    await write({ path: DATA_PREFIX + inside(root, path)!, size: info.size, sha256: await sha256File(path), mode: permissions(info.mode) })
  }
}

/** Lists every blob (`sha256/ab/cd/<hex>`): its digest is its name, checked when it is copied. */
async function listBlobs(plan: Plan, write: (member: BackupMember) => Promise<void>): Promise<void> {
  const root = join(plan.blobDir, 'sha256')
  const names = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [])).sort()
  for (const first of await names(root)) {
    for (const second of await names(join(root, first))) {
      for (const name of await names(join(root, first, second))) {
        const path = join(root, first, second, name)
        if (!BLOB_NAME.test(name) || name.slice(0, 2) !== first || name.slice(2, 4) !== second) {
          throw new Error(`${path} is not a blob of the store (a blob is sha256/ab/cd/<its 64-hex SHA-256>)`)
        }
        const info = await stat(path)
        await write({ path: `${plan.blobsPath}/sha256/${first}/${second}/${name}`, size: info.size, sha256: name, mode: permissions(info.mode) })
      }
    }
  }
}

/** The bytes of one member, from the staging directory or, for a blob, the store; a blob's are checked against its name. */
async function* memberBytes(plan: Plan, member: BackupMember): AsyncGenerator<Uint8Array> {
  const blob = member.path.startsWith(`${plan.blobsPath}/`)
  const path = blob ? join(plan.blobDir, member.path.slice(plan.blobsPath.length + 1)) : join(plan.staging, member.path)
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BUFFER_BYTES })) {
    const bytes = chunk as Buffer
    size += bytes.length
    if (size > member.size) break
    hash.update(bytes)
    yield bytes
  }
  if (size !== member.size || hash.digest('hex') !== member.sha256) {
    throw new Error(`${path}: its bytes do not match its ${blob ? 'digest (a damaged blob: the backup is not written)' : 'copy'}`)
  }
}

async function* archive(plan: Plan, manifest: string, membersFile: string, mtime: number): AsyncGenerator<Uint8Array> {
  const head = Buffer.from(manifest, 'utf8')
  const listed = await stat(membersFile)
  const manifestSize = head.length + listed.size
  yield tarHeader({ path: MANIFEST_PATH, size: manifestSize, mtime, mode: 0o600 }, 0)
  yield head
  for await (const chunk of createReadStream(membersFile)) yield chunk as Buffer
  yield new Uint8Array(tarPadding(manifestSize))
  let index = 1
  // The index is read back line by line: its members are written in the order it lists them.
  for await (const line of createInterface({ input: createReadStream(membersFile), crlfDelay: Infinity })) {
    const member = memberOf(line)!
    yield tarHeader({ path: member.path, size: member.size, mtime, mode: member.mode }, index++)
    yield* memberBytes(plan, member)
    yield new Uint8Array(tarPadding(member.size))
  }
  yield new Uint8Array(TAR_END_BYTES)
}

/** Writes a backup of the node in `options.dir` to `options.out`. */
export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const config = await loadConfig(options.dir)
  const blobs = config.storage.blobs
  if (blobs.kind !== 'fs') {
    throw new Error(
      `caseway backup covers the embedded default (SQLite and the filesystem blob store); this node keeps its blobs in S3: back up the bucket itself (see the README)`,
    )
  }
  const nodeDir = resolve(config.dir)
  const database = nodePath(config, config.storage.database)
  const blobDir = nodePath(config, blobs.dir)
  const databasePath = inside(nodeDir, database)
  const blobsPath = inside(nodeDir, blobDir)
  if (databasePath === undefined || blobsPath === undefined || inside(nodeDir, nodePath(config, config.pki.dir)) === undefined) {
    throw new Error('the database, the blob store and the PKI must lie inside the node directory for a backup to restore them with it')
  }
  const out = resolve(options.out)
  const partial = `${out}.partial-${randomBytes(6).toString('hex')}`
  const plan: Plan = { nodeDir, blobDir, blobsPath: DATA_PREFIX + blobsPath, staging: await mkdtemp(join(dirname(out), '.caseway-backup-')) }
  try {
    const snapshot = join(plan.staging, DATA_PREFIX, databasePath)
    await mkdir(dirname(snapshot), { recursive: true, mode: 0o700 })
    const created = options.now ?? new Date()
    const schema = snapshotDatabase(database, snapshot)
    await chmod(snapshot, permissions((await stat(database)).mode))
    const skipped = new Set([...DATABASE_SUFFIXES.map((suffix) => database + suffix), blobDir, out, plan.staging])
    await stageFiles(plan, (path) => skipped.has(path) || (dirname(path) === dirname(out) && basename(path).startsWith(`${basename(out)}.partial-`)))

    const membersFile = join(plan.staging, 'members')
    const lines = createWriteStream(membersFile, { mode: 0o600 })
    let members = 0
    const write = async (member: BackupMember): Promise<void> => {
      members += 1
      if (!lines.write(renderMember(member))) await once(lines, 'drain')
    }
    await listStaged(plan, DATA_PREFIX + databasePath, write)
    await listBlobs(plan, write)
    lines.end()
    await finished(lines)

    const header: BackupHeader = {
      org: config.org,
      created: created.toISOString(),
      schema,
      database: DATA_PREFIX + databasePath,
      blobs: plan.blobsPath,
      members,
    }
    const manifest = renderHeader(header)
    const mtime = Math.floor(created.getTime() / 1000)
    await writeFile(partial, '', { mode: 0o600, flag: 'wx' })
    await pipeline(Readable.from(archive(plan, manifest, membersFile, mtime)), createWriteStream(partial, { flags: 'r+', flush: true }))
    await rename(partial, out)
    const manifestHash = createHash('sha256').update(manifest)
    for await (const chunk of createReadStream(membersFile)) manifestHash.update(chunk as Buffer)
    return { members, bytes: (await stat(out)).size, manifestSha256: manifestHash.digest('hex') }
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  } finally {
    await rm(plan.staging, { recursive: true, force: true })
  }
}
