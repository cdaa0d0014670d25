/**
 * The backup archive's format and its one reader (`caseway backup verify` and `restore`).
 *
 * A backup is a pax TAR whose first member, `MANIFEST`, is the index: a few header lines, then
 * one line per member in archive order, `<sha256 hex> <size> <mode, octal> <path>`. Every other
 * member sits under `data/`, laid out as in the node directory: the database snapshot, the
 * configuration, the PKI, and the blobs, each blob named by its SHA-256. Reading walks the
 * index and the archive in step, so memory stays flat whatever the number of blobs, and the
 * first member that is missing, extra, of another size, or of other bytes is named.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { VerificationError, type VerificationCode } from '#protocol'
import { openPackage, type ReadEntry } from '#packaging'

export const MANIFEST_PATH = 'MANIFEST'
/** Where the node directory's files sit in the archive. */
export const DATA_PREFIX = 'data/'
const FORMAT_LINE = 'caseway-backup 1'
/** Longest header line read; a longer one is not an index this reader knows. */
const MAX_LINE = 64 * 1024

export interface BackupHeader {
  org: string
  /** ISO 8601 time the snapshot was taken. */
  created: string
  /** Schema version of the database snapshot. */
  schema: number
  /** Archive path of the database snapshot. */
  database: string
  /** Archive path of the blob store directory (blobs are `<blobs>/sha256/ab/cd/<hex>`). */
  blobs: string
  /** How many members the index lists after itself. */
  members: number
}

export interface BackupMember {
  path: string
  size: number
  /** Hex SHA-256 of the content. */
  sha256: string
  /** Permission bits to restore (0600 for keys and the database). */
  mode: number
}

export function renderHeader(header: BackupHeader): string {
  return [
    FORMAT_LINE,
    `org ${header.org}`,
    `created ${header.created}`,
    `schema ${header.schema}`,
    `database ${header.database}`,
    `blobs ${header.blobs}`,
    `members ${header.members}`,
    '',
  ].join('\n')
}

export function renderMember(member: BackupMember): string {
  return `${member.sha256} ${member.size} ${member.mode.toString(8).padStart(4, '0')} ${member.path}\n`
}

/** Whether `path` is a member path a reader may create: under `data/`, no empty, `.` or `..` part. */
export function isDataPath(path: string): boolean {
  if (!path.startsWith(DATA_PREFIX) || path.includes('\0') || path.includes('\n')) return false
  return path
    .slice(DATA_PREFIX.length)
    .split('/')
    .every((part) => part !== '' && part !== '.' && part !== '..')
}

/** A fault at member `at` (the CLI prints it after the message). */
function invalid(code: VerificationCode, at: string, message: string): VerificationError {
  return new VerificationError(code, message, { at })
}

const HEADER_KEYS = ['org', 'created', 'schema', 'database', 'blobs', 'members'] as const

function parseHeader(lines: readonly string[]): BackupHeader {
  const bad = (message: string) => invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, message)
  if (lines[0] !== FORMAT_LINE) throw bad(`not a Caseway backup index (first line ${JSON.stringify(lines[0] ?? '')})`)
  const values = new Map<string, string>()
  HEADER_KEYS.forEach((key, index) => {
    const line = lines[index + 1] ?? ''
    if (!line.startsWith(`${key} `)) throw bad(`line ${index + 2} must be "${key} …"`)
    values.set(key, line.slice(key.length + 1))
  })
  const count = (key: string): number => {
    const text = values.get(key)!
    if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) throw bad(`${key} is not a number`)
    return Number(text)
  }
  const header: BackupHeader = {
    org: values.get('org')!,
    created: values.get('created')!,
    schema: count('schema'),
    database: values.get('database')!,
    blobs: values.get('blobs')!,
    members: count('members'),
  }
  if (!isDataPath(header.database) || !isDataPath(header.blobs)) throw bad('database and blobs must be paths under data/')
  return header
}

const MEMBER_LINE = /^([0-9a-f]{64}) (0|[1-9][0-9]{0,15}) ([0-7]{3,4}) (.+)$/

/** The member a line of the index lists, or `undefined` for a line of another shape. */
export function memberOf(line: string): BackupMember | undefined {
  const match = MEMBER_LINE.exec(line)
  if (match === null) return undefined
  const [, sha256, size, mode, path] = match as unknown as [string, string, string, string, string]
  return { path, size: Number(size), sha256, mode: parseInt(mode, 8) }
}

function parseMember(line: string, header: BackupHeader): BackupMember {
  const member = memberOf(line)
  if (member === undefined) throw invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, `unreadable member line ${JSON.stringify(line.slice(0, 200))}`)
  const { path, sha256 } = member
  if (!isDataPath(path)) throw invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, `member path outside data/: ${JSON.stringify(path.slice(0, 200))}`)
  if (member.mode > 0o777) throw invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, `${path}: mode ${member.mode.toString(8)} has more than permission bits`)
  // A blob is named by its digest: an index that lists other bytes under that name is not believed.
  if (path.startsWith(`${header.blobs}/`)) {
    const name = path.slice(path.lastIndexOf('/') + 1)
    if (path !== `${header.blobs}/sha256/${name.slice(0, 2)}/${name.slice(2, 4)}/${name}` || name !== sha256) {
      throw invalid('CW_ERR_PACKAGE_MEMBER_ALTERED', path, `the index gives the blob digest ${sha256}, not its name`)
    }
  }
  return member
}

/** Where a reader's checked bytes go: each member's content is offered once, in archive order. */
export interface BackupSink {
  /** Called for each member before its bytes; returns a writer for them, or `undefined` to only check them. */
  open(member: BackupMember, header: BackupHeader): Promise<MemberWriter | undefined>
}

export interface MemberWriter {
  write(chunk: Uint8Array): Promise<void>
  /** All bytes were written and checked. */
  finish(): Promise<void>
  /** The member failed: drop what was written. */
  abort(): Promise<void>
}

/** What a read found: the index header, how many members and bytes it checked, and the index's own SHA-256. */
export interface ReadBackup {
  header: BackupHeader
  members: number
  bytes: number
  manifestSha256: string
}

/** Lines of `source`, each at most {@link MAX_LINE} characters (readline keeps memory per line only). */
function lineReader(source: AsyncIterable<Uint8Array>, onBytes: (chunk: Uint8Array) => void): AsyncIterator<string> {
  const bytes = Readable.from(
    (async function* () {
      for await (const chunk of source) {
        onBytes(chunk)
        yield chunk
      }
    })(),
  )
  const lines = createInterface({ input: bytes, crlfDelay: Infinity })[Symbol.asyncIterator]()
  return {
    async next() {
      const next = await lines.next()
      if (!next.done && next.value.length > MAX_LINE) throw invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, 'a line is too long')
      return next
    },
  }
}

/**
 * Reads the backup at `file`, checking every member against the index as its bytes flow and
 * handing them to `sink`. Throws a `VerificationError` whose `at` is the first bad member:
 * `CW_ERR_PACKAGE_MEMBER_ALTERED` (other size or bytes), `…_MISSING` (listed but absent:
 * out of order, or the archive ends early), `…_UNLISTED` (in the archive, not in the index),
 * `CW_ERR_PACKAGE_INVALID` (no readable index).
 */
export async function readBackup(file: string, sink: BackupSink): Promise<ReadBackup> {
  const reader = await openPackage(file)
  try {
    if (reader.kind !== 'tar') throw invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, 'not a TAR archive')
    const entries = reader.entries()[Symbol.asyncIterator]()
    let expected: BackupMember | undefined
    const next = async (): Promise<ReadEntry | undefined> => {
      try {
        const step = await entries.next()
        return step.done === true ? undefined : step.value
      } catch (err) {
        // The reader stops at a cut or garbled header: the member expected there is the one lost.
        if (err instanceof VerificationError)
          throw invalid('CW_ERR_PACKAGE_MEMBER_MISSING', expected?.path ?? MANIFEST_PATH, `archive truncated or unreadable here (${err.message})`)
        throw err
      }
    }
    const first = await next()
    if (first === undefined || first.path !== MANIFEST_PATH || first.type !== 'file') {
      throw invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, 'the archive does not start with its index')
    }
    const manifestHash = createHash('sha256')
    const lines = lineReader(first.open(), (chunk) => manifestHash.update(chunk))
    const headerLines: string[] = []
    for (let i = 0; i <= HEADER_KEYS.length; i++) {
      const line = await lines.next()
      if (line.done === true) break
      headerLines.push(line.value)
    }
    const header = parseHeader(headerLines)
    let members = 0
    let bytes = 0
    let databaseSeen = false
    for (;;) {
      const line = await lines.next()
      expected = line.done === true ? undefined : parseMember(line.value, header)
      const entry = await next()
      if (expected === undefined) {
        if (entry !== undefined) throw invalid('CW_ERR_PACKAGE_MEMBER_UNLISTED', entry.path, 'in the archive but not in its index')
        break
      }
      if (entry === undefined) throw invalid('CW_ERR_PACKAGE_MEMBER_MISSING', expected.path, 'listed in the index, absent from the archive (truncated?)')
      if (entry.path !== expected.path)
        throw invalid('CW_ERR_PACKAGE_MEMBER_MISSING', expected.path, `listed here in the index, the archive has ${JSON.stringify(entry.path)}`)
      if (entry.type !== 'file') throw invalid('CW_ERR_PACKAGE_MEMBER_ALTERED', entry.path, 'not a regular file')
      if (entry.size !== expected.size) throw invalid('CW_ERR_PACKAGE_MEMBER_ALTERED', entry.path, `${entry.size} bytes, the index says ${expected.size}`)
      await copyChecked(entry, expected, sink.open(expected, header))
      if (expected.path === header.database) databaseSeen = true
      members += 1
      bytes += expected.size
    }
    if (members !== header.members) throw invalid('CW_ERR_PACKAGE_INVALID', MANIFEST_PATH, `lists ${members} members, its header says ${header.members}`)
    if (!databaseSeen) throw invalid('CW_ERR_PACKAGE_MEMBER_MISSING', header.database, 'the database snapshot is not in the archive')
    return { header, members, bytes, manifestSha256: manifestHash.digest('hex') }
  } finally {
    await reader.close()
  }
}

async function copyChecked(entry: ReadEntry, member: BackupMember, opened: Promise<MemberWriter | undefined>): Promise<void> {
  const writer = await opened
  const hash = createHash('sha256')
  try {
    for await (const chunk of entry.open()) {
      hash.update(chunk)
      await writer?.write(chunk)
    }
    if (hash.digest('hex') !== member.sha256) throw invalid('CW_ERR_PACKAGE_MEMBER_ALTERED', member.path, 'its bytes differ from their SHA-256 in the index')
    await writer?.finish()
  } catch (err) {
    await writer?.abort()
    throw err
  }
}
