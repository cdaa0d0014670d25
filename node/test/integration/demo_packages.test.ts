/**
 * `caseway demo --packages <dir>` (issue 15): the demo case shared with a link as case.zip
 * (downloaded through the e-mailed capability link from the download listener), case.tar (for
 * the partner's user: carried over the federation and downloaded from the partner's node) and
 * case.iso (the local API), with the sender's ca.crt. Each opens with independent tools —
 * unzip, bsdtar, xorriso — whose extracted files pass `sha256sum -c SHA256SUMS`, and `caseway
 * package verify` accepts it against the fingerprint of that ca.crt; a flipped byte in an
 * evidence member is refused, naming the member.
 */
import { execFile } from 'node:child_process'
import { X509Certificate, createHash } from 'node:crypto'
import { mkdir, open, readFile, readdir, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { CASEWAY_BIN } from '../../../testkit/node_process.ts'

const run = promisify(execFile)

async function exec(file: string, args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 90_000, ...(cwd === undefined ? {} : { cwd }), maxBuffer: 16 << 20 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

const caseway = (args: string[]) => exec(process.execPath, [CASEWAY_BIN, ...args])

const EXTRACT: Record<string, (archive: string, into: string) => [string, string[]]> = {
  'case.zip': (archive, into) => ['unzip', ['-q', archive, '-d', into]],
  'case.tar': (archive, into) => ['bsdtar', ['-xf', archive, '-C', into]],
  'case.iso': (archive, into) => ['xorriso', ['-osirrox', 'on', '-indev', archive, '-extract', '/', into]],
}

// spec: CW-PKG-001, CW-PKG-002, CW-PKG-003, CW-PKG-014, CW-PKG-017, CW-LOC-032, CW-LOC-035, CW-LOC-038, CW-LOC-039
t.test('demo --packages writes a ZIP, a TAR and an ISO that independent tools open and caseway package verify accepts', async (t) => {
  const root = t.testdir()
  const dir = join(root, 'packages')
  const demo = await caseway(['demo', '--packages', dir])
  t.equal(demo.code, 0, demo.stderr)
  t.match(
    demo.stdout,
    /The e-mail to records\.clerk@county-da\.example .* carries the link https:\/\/127\.0\.0\.1:\d+\/download\/<token> and the CA fingerprint/,
  )
  t.match(demo.stdout, /County DA's node pulled the TAR over mTLS \(EP-11\) and verified it .* downloads it from County DA's local API/)
  t.same((await readdir(dir)).sort(), ['ca.crt', 'case.iso', 'case.tar', 'case.zip'])
  const ca = new X509Certificate(await readFile(join(dir, 'ca.crt')))
  const fingerprint = `sha256:${createHash('sha256').update(ca.raw).digest('hex')}`
  t.match(demo.stdout, `--ca-fingerprint ${fingerprint}`, 'the demo names the fingerprint of the ca.crt it wrote')

  for (const name of Object.keys(EXTRACT)) {
    const archive = join(dir, name)
    const verified = await caseway(['package', 'verify', archive, '--ca-fingerprint', fingerprint])
    t.equal(verified.code, 0, `${name}: ${verified.stderr}`)
    t.match(verified.stdout, /^verified: (zip|tar|iso) package .* signed by Metro PD \(metro-pd\).* audit trail intact/)
    const into = join(root, name.replace('.', '-'))
    await mkdir(into)
    const [tool, args] = EXTRACT[name]!(archive, into)
    const extracted = await exec(tool, args)
    t.equal(extracted.code, 0, `${tool} opens ${name}: ${extracted.stderr}`)
    const sums = await exec('sha256sum', ['-c', '--strict', 'SHA256SUMS'], into)
    t.equal(sums.code, 0, `sha256sum -c accepts what ${tool} extracted: ${sums.stdout}${sums.stderr}`)
    t.match(sums.stdout, /evidence\/.*: OK/)
  }

  // A flipped byte in an evidence member of the ZIP (stored, so its bytes sit in the archive as they are).
  const tampered = join(root, 'tampered.zip')
  await copyFile(join(dir, 'case.zip'), tampered)
  const listing = await exec('unzip', ['-Z1', tampered])
  const member = listing.stdout.split('\n').find((line) => line.startsWith('evidence/') && !line.endsWith('/'))!
  const bytes = await readFile(tampered)
  // The member's name right after its local file header (30 bytes from PK\x03\x04), not where
  // the manifest or SHA256SUMS mention it; its data follows the name and the extra field.
  let name = bytes.indexOf(Buffer.from(member))
  while (bytes.readUInt32LE(name - 30) !== 0x04034b50) name = bytes.indexOf(Buffer.from(member), name + 1)
  const at = name + Buffer.byteLength(member) + bytes.readUInt16LE(name - 2) + 64
  const handle = await open(tampered, 'r+')
  await handle.write(Buffer.from([bytes[at]! ^ 0xff]), 0, 1, at)
  await handle.close()
  const refused = await caseway(['package', 'verify', tampered, '--ca-fingerprint', fingerprint])
  t.equal(refused.code, 1)
  t.match(refused.stderr, member, 'the refusal names the altered member')
})
