/**
 * `caseway backup`, `backup verify` and `restore` against a real node process holding a case
 * with evidence (issue 14): the backup is taken while the node runs, restored into a fresh
 * directory, and a node started there serves the evidence byte for byte. A flipped byte in a
 * blob, a truncated archive and a tampered index are each named by verify and refused by
 * restore, which leaves its target as it was.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { LocalClient } from '../../client/local_client.ts'
import { blobFiles, startOrg, startNodeProcess } from '../../node/test/support/processes.ts'
import { generatedContent } from '../../testkit/content.ts'
import { caseway, lines } from '../support/cli.ts'

t.setTimeout(300_000)

// Small chunks: the evidence is stored as several blobs.
const metro = await startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings: { transfers: { chunkSize: 65536 } } })
const files = t.testdir()
const SIZE = 300_000

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const pieces: Buffer[] = []
  for await (const piece of source) pieces.push(Buffer.from(piece))
  return Buffer.concat(pieces)
}

const content = await collect(generatedContent(SIZE, 'backup'))
const created = await metro.api.createCase({ caseNumber: '2026-0042', title: 'Lobby robbery' })
const evidence = await metro.api.uploadEvidence(created.id, { name: 'lobby.mp4', category: 'video', mediaType: 'video/mp4' }, content)
const backup = join(files, 'metro.tar')
/** `sha256:<hex>` of the index, as `caseway backup` printed it. */
let indexDigest = ''

/** Where each member's content starts in a TAR file, read from its ustar headers. */
async function memberOffsets(file: string): Promise<Map<string, { offset: number; size: number }>> {
  const bytes = await readFile(file)
  const found = new Map<string, { offset: number; size: number }>()
  for (let at = 0; at + 512 <= bytes.length;) {
    const block = bytes.subarray(at, at + 512)
    if (block.every((byte) => byte === 0)) break
    const field = (from: number, width: number) =>
      block
        .subarray(from, from + width)
        .toString('latin1')
        .replace(/\0.*$/s, '')
    const size = parseInt(field(124, 12).trim(), 8)
    const prefix = field(345, 155)
    found.set(prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`, { offset: at + 512, size })
    at += 512 + Math.ceil(size / 512) * 512
  }
  return found
}

async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, 'r+')
  try {
    const byte = Buffer.alloc(1)
    await handle.read(byte, 0, 1, offset)
    byte[0] = byte[0]! ^ 0xff
    await handle.write(byte, 0, 1, offset)
  } finally {
    await handle.close()
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

t.test('backup of a running node verifies, restores, and a node started on it serves the evidence byte for byte', async (t) => {
  const made = await caseway(['backup', '--dir', metro.node.dir, '--out', backup])
  t.equal(made.code, 0, made.stderr)
  t.match(made.stdout, /^index sha256:[0-9a-f]{64}\n$/)
  t.equal((await stat(backup)).mode & 0o777, 0o600, 'the archive holds private keys: owner only')
  const manifest = (await memberOffsets(backup)).get('MANIFEST')!
  const index = (await readFile(backup)).subarray(manifest.offset, manifest.offset + manifest.size).toString('utf8')
  t.match(index, /^caseway-backup 1\norg metro-pd\n/)
  for (const key of ['pki/ca.key', 'pki/node.key', 'pki/signing.key', 'caseway.db']) t.match(index, new RegExp(` 0600 data/${key}\n`), `${key} listed 0600`)
  // An independent reader (GNU tar) sees the members and the keys' modes.
  const listing = execFileSync('tar', ['-tvf', backup], { encoding: 'utf8' })
  for (const key of ['pki/ca.key', 'pki/node.key', 'pki/signing.key', 'caseway.db'])
    t.match(listing, new RegExp(`^-rw------- .* data/${key}$`, 'm'), `tar lists ${key} as 0600`)
  const blobs = index.split('\n').filter((line) => line.includes(' data/blobs/sha256/'))
  t.ok(blobs.length >= Math.ceil(SIZE / 65536), `every chunk is a member (${blobs.length})`)

  const verified = await caseway(['backup', 'verify', backup])
  t.equal(verified.code, 0, verified.stderr)
  t.match(verified.stdout, /^ok \d+ members \d+ bytes index sha256:[0-9a-f]{64}\n$/)
  t.equal(verified.stdout.split('index ')[1], made.stdout.split('index ')[1], 'verify reports the index backup printed')
  indexDigest = made.stdout.trim().split(' ')[1]!
  const pinned = await caseway(['backup', 'verify', backup, '--index', indexDigest])
  t.equal(pinned.code, 0, pinned.stderr)

  await metro.stop()
  const restoredDir = join(files, 'restored')
  const restored = await caseway(['restore', backup, '--dir', restoredDir, '--index', indexDigest])
  t.equal(restored.code, 0, restored.stderr)
  for (const key of ['pki/ca.key', 'pki/node.key', 'pki/signing.key', 'caseway.db', 'caseway.json', 'admin.token']) {
    t.equal((await stat(join(restoredDir, key))).mode & 0o777, 0o600, `${key} restored 0600`)
  }
  t.equal((await stat(restoredDir)).mode & 0o777, 0o700, 'the node directory is owner only')

  const node = await startNodeProcess({ dir: restoredDir, adminToken: true })
  t.teardown(() => node.stop('SIGKILL'))
  const api = new LocalClient({ baseUrl: node.localUrl, token: node.adminToken! })
  t.same(
    (await api.listCases()).map((c) => c.id),
    [created.id],
    'the case is there',
  )
  const download = await api.downloadEvidence(evidence.id, { keepBytes: true })
  t.equal(download.size, SIZE)
  t.ok(download.bytes!.equals(content), 'the evidence reads back byte for byte')
  await node.stop()
})

t.test('a damaged archive: verify names the first bad member and exits 1; restore refuses and leaves the target untouched', async (t) => {
  const offsets = await memberOffsets(backup)
  const blob = [...offsets.keys()].find((path) => path.startsWith('data/blobs/sha256/'))!
  const cases: Array<{ name: string; damage: (file: string) => Promise<void>; code: string; member: string }> = [
    {
      name: 'a flipped byte in a blob',
      damage: (file) => flipByte(file, offsets.get(blob)!.offset + 1000),
      code: 'CW_ERR_PACKAGE_MEMBER_ALTERED',
      member: blob,
    },
    {
      name: 'a truncated archive',
      damage: (file) => truncate(file, offsets.get(blob)!.offset + 100),
      code: 'CW_ERR_PACKAGE_MEMBER_MISSING',
      member: blob,
    },
    {
      name: 'a tampered index (another digest for the configuration)',
      damage: async (file) => {
        const bytes = await readFile(file)
        const config = await readFile(join(files, 'restored', 'caseway.json'))
        const at = bytes.indexOf(`${sha256(config)} `)
        bytes.write(sha256(Buffer.from('forged')), at, 'latin1')
        await writeFile(file, bytes)
      },
      code: 'CW_ERR_PACKAGE_MEMBER_ALTERED',
      member: 'data/caseway.json',
    },
    {
      name: 'a tampered index (a blob listed under another digest)',
      damage: async (file) => {
        const bytes = await readFile(file)
        const hex = blob.slice(blob.lastIndexOf('/') + 1)
        bytes.write(sha256(Buffer.from('forged')), bytes.indexOf(`${hex} `), 'latin1')
        await writeFile(file, bytes)
      },
      code: 'CW_ERR_PACKAGE_MEMBER_ALTERED',
      member: blob,
    },
  ]
  for (const [index, damaged] of cases.entries()) {
    const file = join(files, `damaged-${index}.tar`)
    await copyFile(backup, file)
    await damaged.damage(file)

    const verified = await caseway(['backup', 'verify', file])
    t.equal(verified.code, 1, `${damaged.name}: verify exits 1`)
    t.equal(lines(verified.stderr).length, 1, `${damaged.name}: one line`)
    t.match(
      verified.stderr,
      new RegExp(`^caseway: ${damaged.code}: .*\\(at ${damaged.member.replace(/[.]/g, '\\.')}\\)\\n$`),
      `${damaged.name}: names ${damaged.member}`,
    )

    const parent = join(files, `target-${index}`)
    await mkdir(parent)
    const fresh = await caseway(['restore', file, '--dir', join(parent, 'node')])
    t.equal(fresh.code, 1, `${damaged.name}: restore refuses`)
    t.match(fresh.stderr, damaged.code)
    t.same(await readdir(parent), [], `${damaged.name}: nothing written, no directory left behind`)

    const existing = join(parent, 'existing')
    await mkdir(existing)
    await writeFile(join(existing, 'keep'), 'kept')
    const forced = await caseway(['restore', file, '--dir', existing, '--force'])
    t.equal(forced.code, 1, `${damaged.name}: restore --force refuses too`)
    t.same(await readdir(parent), ['existing'], `${damaged.name}: nothing beside the target`)
    t.same(await readdir(existing), ['keep'], `${damaged.name}: the target is untouched`)
  }
})

t.test('a rewritten index passes on its own, but not against the SHA-256 that backup printed', async (t) => {
  const file = join(files, 'rewritten.tar')
  const bytes = await readFile(backup)
  // Same length, so every member stays where it was and still matches its line.
  bytes.write('org metro-pe\n', bytes.indexOf('org metro-pd\n'), 'latin1')
  await writeFile(file, bytes)
  t.equal((await caseway(['backup', 'verify', file])).code, 0, 'consistent on its own')
  const pinned = await caseway(['backup', 'verify', file, '--index', indexDigest])
  t.equal(pinned.code, 1)
  t.match(pinned.stderr, /^caseway: CW_ERR_PACKAGE_MEMBER_ALTERED: .*\(at MANIFEST\)\n$/)
  const parent = join(files, 'rewritten-target')
  await mkdir(parent)
  const refused = await caseway(['restore', file, '--dir', join(parent, 'node'), '--index', indexDigest])
  t.equal(refused.code, 1)
  t.same(await readdir(parent), [], 'nothing restored')
  const bad = await caseway(['backup', 'verify', file, '--index', 'abc'])
  t.equal(bad.code, 2, 'a malformed --index is a usage error')
})

t.test('restore refuses a directory that is not empty without --force, and replaces it with --force', async (t) => {
  const target = join(files, 'occupied')
  await mkdir(target)
  await writeFile(join(target, 'stray'), 'stray')
  const refused = await caseway(['restore', backup, '--dir', target])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^caseway: CW_ERR_CONFLICT: .*not empty.*--force/)
  t.same(await readdir(target), ['stray'], 'untouched')

  const forced = await caseway(['restore', backup, '--dir', target, '--force'])
  t.equal(forced.code, 0, forced.stderr)
  const restored = await readdir(target)
  t.notOk(restored.includes('stray'), 'the old contents are gone')
  t.ok(restored.includes('caseway.json') && restored.includes('caseway.db'))
  t.same(
    (await readdir(files)).filter((name) => name.startsWith('.')),
    [],
    'nothing left beside it',
  )
})

t.test('a blob damaged on disk fails the backup and writes no archive', async (t) => {
  const [first] = [...(await blobFiles(metro.node)).values()]
  await flipByte(first!.path, 0)
  const out = join(files, 'from-damaged.tar')
  const made = await caseway(['backup', '--dir', metro.node.dir, '--out', out])
  t.equal(made.code, 1)
  t.match(made.stderr, /^caseway: .*its bytes do not match its digest/)
  t.notOk(
    (await readdir(files)).some((name) => name.startsWith('from-damaged') || name.startsWith('.caseway-backup')),
    'no archive, no partial file, no staging left',
  )
})
