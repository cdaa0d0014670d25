/**
 * `caseway package verify` refuses a tampered package and names the first bad member: a
 * flipped byte, a swapped file, a missing or extra member, a manifest re-signed by another CA,
 * a CA that does not match the fingerprint received out of band.
 */
import { cp, mkdtemp, readFile, rm, writeFile, appendFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { certificateFingerprint } from '#protocol'
import { buildPackage, verifyPackage } from '#packaging'
import { caseway } from '../../test/support/cli.ts'
import { createTestOrgPki, evidenceOnDisk, run, writeTestPackage } from './helpers.ts'

const pki = await createTestOrgPki()
const root = t.testdir({ src: {} })
const evidence = await evidenceOnDisk(join(root, 'src'), [
  { name: 'a.mp4', folders: ['Video'], content: Buffer.alloc(9000, 1) },
  { name: 'b.jpg', folders: ['Photos'], content: Buffer.alloc(3000, 2) },
])
const zip = join(root, 'case.zip')
const tar = join(root, 'case.tar')
const iso = join(root, 'case.iso')
await writeTestPackage(pki, evidence, zip, { format: 'zip' })
await writeTestPackage(pki, evidence, tar, { format: 'tar' })
await writeTestPackage(pki, evidence, iso, { format: 'iso' })
const fingerprint = certificateFingerprint(pki.caPem)

/** A fresh folder under the test's root. */
const fresh = (): Promise<string> => mkdtemp(join(root, 'x-'))

async function extracted(_t?: unknown): Promise<string> {
  const dir = await fresh()
  await run('unzip', ['-q', zip, '-d', dir])
  return dir
}

// spec: CW-PKG-007
t.test('a good package verifies in every form, with and without the fingerprint', async (t) => {
  const result = await caseway(['package', 'verify', zip, '--ca-fingerprint', fingerprint])
  t.equal(result.code, 0, result.stderr)
  t.match(
    result.stdout,
    /^verified: zip package pkg-1 of case case-1, signed by Org metro-pd \(metro-pd\) on .*; 10 files intact, audit trail intact to entry 5; CA sha256:[0-9a-f]{64} \(matches the fingerprint given\)\n$/,
  )
  t.equal(result.stderr, '')
  for (const file of [tar, iso]) {
    const verified = await verifyPackage(file, { caFingerprint: fingerprint })
    t.equal(verified.fingerprintChecked, true)
    t.equal(verified.manifest.audit?.seq, 5)
  }
  const bare = await caseway(['package', 'verify', await extracted(t)])
  t.equal(bare.code, 0, bare.stderr)
  t.match(bare.stderr, new RegExp(`warning: .*Compare ${fingerprint}`), 'without a fingerprint it prints one and warns')
})

// spec: CW-PKG-007, CW-PKG-009
t.test('a flipped byte in any member is refused and the member named', async (t) => {
  const dir = await extracted(t)
  for (const member of ['evidence/Video/a.mp4', 'table-of-contents.csv', 'audit-trail.jsonl', 'VERIFY.txt', 'message.txt']) {
    const copy = join(await fresh(), 'p')
    await cp(dir, copy, { recursive: true })
    const bytes = await readFile(join(copy, member))
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01
    await writeFile(join(copy, member), bytes)
    if (member === 'message.txt') {
      const result = await caseway(['package', 'verify', copy])
      t.equal(result.code, 1, member)
      t.equal(result.stdout, '')
      t.match(result.stderr, `caseway: CW_ERR_PACKAGE_MEMBER_ALTERED: ${member} differs from the signed manifest (SHA-256) (at ${member})\n`)
    } else {
      await t.rejects(verifyPackage(copy), {
        code: 'CW_ERR_PACKAGE_MEMBER_ALTERED',
        at: member,
        message: `${member} differs from the signed manifest (SHA-256)`,
      })
    }
  }
  // in the archive itself: flip a byte inside a's data in the ZIP
  const bytes = await readFile(zip)
  const at = bytes.indexOf(Buffer.alloc(64, 1))
  bytes[at + 10]! ^= 0x80
  const broken = join(await fresh(), 'broken.zip')
  await writeFile(broken, bytes)
  await t.rejects(verifyPackage(broken), { code: 'CW_ERR_PACKAGE_MEMBER_ALTERED', at: 'evidence/Video/a.mp4' })
})

// spec: CW-PKG-007
t.test('a swapped, missing or extra member is refused and named', async (t) => {
  {
    const dir = await extracted(t)
    const a = join(dir, 'evidence/Video/a.mp4')
    const b = join(dir, 'evidence/Photos/b.jpg')
    await rename(a, a + '.tmp')
    await rename(b, a)
    await rename(a + '.tmp', b)
    await t.rejects(verifyPackage(dir), { code: 'CW_ERR_PACKAGE_MEMBER_ALTERED', at: 'evidence/Photos/b.jpg' }, 'swapped')
  }
  {
    const dir = await extracted(t)
    await rm(join(dir, 'evidence/Photos/b.jpg'))
    await t.rejects(verifyPackage(dir), { code: 'CW_ERR_PACKAGE_MEMBER_MISSING', at: 'evidence/Photos/b.jpg' }, 'missing')
  }
  {
    const dir = await extracted(t)
    await writeFile(join(dir, 'evidence/Photos/planted.jpg'), 'x')
    await t.rejects(verifyPackage(dir), { code: 'CW_ERR_PACKAGE_MEMBER_UNLISTED', at: 'evidence/Photos/planted.jpg' }, 'extra')
  }
  {
    const dir = await extracted(t)
    await appendFile(join(dir, 'SHA256SUMS'), '0'.repeat(64) + '  evidence/x\n')
    await t.rejects(verifyPackage(dir), { code: 'CW_ERR_PACKAGE_INVALID', at: 'SHA256SUMS' }, 'SHA256SUMS changed')
  }
  {
    const dir = await extracted(t)
    await rm(join(dir, 'package-manifest.jws'))
    const result = await caseway(['package', 'verify', dir])
    t.equal(result.code, 1)
    t.match(result.stderr, 'CW_ERR_PACKAGE_INVALID: package-manifest.jws is missing')
  }
})

// spec: CW-PKG-007
t.test('a ZIP whose local header names another file than its central directory is refused', async (t) => {
  const bytes = await readFile(zip)
  const name = Buffer.from('evidence/Video/a.mp4')
  let at = bytes.indexOf(name)
  while (at >= 0 && bytes.readUInt32LE(at - 30) !== 0x04034b50) at = bytes.indexOf(name, at + 1)
  t.ok(at > 0 && at < bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])), 'the local header of a.mp4')
  bytes.write('evidence/Video/b.mp4', at)
  const file = join(await fresh(), 'renamed.zip')
  await writeFile(file, bytes)
  await t.rejects(verifyPackage(file), { code: 'CW_ERR_PACKAGE_INVALID', at: 'evidence/Video/a.mp4' })
})

// spec: CW-PKG-008
t.test('a manifest re-signed by an unknown CA is refused', async (t) => {
  const mallory = await createTestOrgPki('metro-pd')
  const forged = await buildPackage({
    packageId: 'pkg-1',
    format: 'zip',
    createdAt: Math.floor(Date.now() / 1000) - 60,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
    sender: { org: 'metro-pd', name: 'Org metro-pd' },
    case: { id: 'case-1', fields: {} },
    evidence: evidence.evidence,
    retainFolderStructure: true,
    tableOfContents: false,
    transcripts: false,
    signer: mallory.signer,
    caCertificate: mallory.caPem,
  })
  {
    // Only the signed manifest replaced: its x5c leads to a CA that is not the package's.
    const dir = await extracted(t)
    await writeFile(join(dir, 'package-manifest.jws'), forged.jws)
    const result = await caseway(['package', 'verify', dir])
    t.equal(result.code, 1)
    t.match(result.stderr, /^caseway: CW_ERR_CHAIN_UNTRUSTED: /)
  }
  {
    // The CA replaced too: only the fingerprint received out of band tells.
    const dir = await fresh()
    for (const member of forged.members) {
      const source = forged.sources.get(member.path)!
      const bytes = source.kind === 'generated' ? source.bytes : await readFile(evidence.files.get(`${source.kind}:${source.id}`)!)
      await run('mkdir', ['-p', join(dir, member.path, '..')])
      await writeFile(join(dir, member.path), bytes)
    }
    const result = await caseway(['package', 'verify', dir, '--ca-fingerprint', fingerprint])
    t.equal(result.code, 1)
    t.match(result.stderr, /^caseway: CW_ERR_FINGERPRINT_MISMATCH: ca.crt has fingerprint sha256:[0-9a-f]{64}, not the one given \(at ca.crt\)/)
    const unchecked = await verifyPackage(dir)
    t.equal(unchecked.fingerprintChecked, false, 'self-consistent without the fingerprint: only the comparison (and the CLI warning) tells')
  }
})

// spec: CW-PKG-009
t.test('an audit trail that does not chain to the signed head is refused', async (t) => {
  const dir = t.testdir({ src: {} })
  const ev = await evidenceOnDisk(join(dir, 'src'), [{ name: 'a.bin', content: Buffer.from('a') }])
  const { auditEntries } = await import('./helpers.ts')
  const entries = auditEntries('case-1', 4)
  entries[2] = { ...entries[2], type: 'edited' }
  const file = join(dir, 'bad.tar')
  await writeTestPackage(pki, ev, file, { format: 'tar', auditTrail: entries })
  await t.rejects(verifyPackage(file), { code: 'CW_ERR_AUDIT_CHAIN_BROKEN', message: 'audit entry 3: digest' })
})
