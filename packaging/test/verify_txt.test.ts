/**
 * VERIFY.txt's OpenSSL and sha256sum steps work: every command it shows (`    $ …`) runs, in
 * order, in an extracted package, and a tampered package fails them.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { certificateFingerprint } from '#protocol'
import { createTestOrgPki, evidenceOnDisk, run, writeTestPackage } from './helpers.ts'

const pki = await createTestOrgPki()

async function commandsOf(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'VERIFY.txt'), 'utf8')
  return [...text.matchAll(/^ {4}\$ (.+)$/gm)].map((m) => m[1]!)
}

// spec: CW-PKG-004
t.test("VERIFY.txt's OpenSSL and sha256sum commands verify an extracted package", async (t) => {
  const dir = t.testdir({ src: {}, out: {} })
  const evidence = await evidenceOnDisk(join(dir, 'src'), [
    { name: 'clip.mp4', folders: ['Video'], content: Buffer.alloc(20_000, 5) },
    { name: 'statement.pdf', content: Buffer.from('%PDF-1.7 statement') },
  ])
  const out = join(dir, 'out')
  const built = await writeTestPackage(pki, evidence, join(dir, 'case.tar'), { format: 'tar' })
  t.equal((await run('tar', ['-xf', join(dir, 'case.tar'), '-C', out])).code, 0)
  const commands = await commandsOf(out)
  t.ok(commands.length >= 9, `${commands.length} commands`)
  const result = await run('sh', ['-e', '-c', commands.join('\n')], { cwd: out })
  t.equal(result.code, 0, result.stderr)
  const hex = certificateFingerprint(pki.caPem).slice(7)
  t.match(result.stdout.replaceAll(':', '').toLowerCase(), `sha256 fingerprint=${hex}`, 'a. the CA fingerprint as Caseway prints it')
  t.match(result.stdout, 'signing.crt: OK', 'b. the chain')
  t.match(result.stdout, 'Verified OK', 'c. the signature')
  t.match(result.stdout, `"sha256sums":"${built.manifest.sha256sums}"`, 'd. the signed SHA256SUMS digest…')
  t.match(result.stdout, `${built.manifest.sha256sums.slice(7)}  SHA256SUMS`, '…equals the file')
  t.match(result.stdout, 'evidence/Video/clip.mp4: OK', 'e. every file')
  t.notMatch(result.stdout, 'FAILED')

  // Tampered: an altered manifest fails the signature; an altered file fails sha256sum.
  const manifest = await readFile(join(out, 'package-manifest.json'), 'utf8')
  await writeFile(join(out, 'package-manifest.json'), manifest.replace('"pkg-1"', '"pkg-2"'))
  const forged = await run('sh', ['-e', '-c', commands.join('\n')], { cwd: out })
  t.not(forged.code, 0)
  t.match(forged.stdout + forged.stderr, 'Verification failure')
  await writeFile(join(out, 'package-manifest.json'), manifest)
  await writeFile(join(out, 'evidence/Video/clip.mp4'), Buffer.alloc(20_000, 6))
  const altered = await run('sh', ['-e', '-c', commands.join('\n')], { cwd: out })
  t.not(altered.code, 0)
  t.match(altered.stdout, 'evidence/Video/clip.mp4: FAILED')
})
