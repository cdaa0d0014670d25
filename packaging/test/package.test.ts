/**
 * A package in each format: independent tools (unzip, tar, bsdtar, xorriso) extract it, every
 * file's bytes match, and `verifyPackage` accepts the archive and the extracted folder.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { verifyPackage } from '#packaging'
import { createTestOrgPki, evidenceOnDisk, run, writeTestPackage } from './helpers.ts'

const pki = await createTestOrgPki()

const extractors = {
  zip: [(file: string, dir: string) => run('unzip', ['-q', file, '-d', dir]), (file: string, dir: string) => run('bsdtar', ['-xf', file, '-C', dir])],
  tar: [(file: string, dir: string) => run('tar', ['-xf', file, '-C', dir]), (file: string, dir: string) => run('bsdtar', ['-xf', file, '-C', dir])],
  iso: [
    (file: string, dir: string) => run('xorriso', ['-osirrox', 'on', '-indev', file, '-extract', '/', dir]),
    (file: string, dir: string) => run('bsdtar', ['-xf', file, '-C', dir]),
  ],
} as const

for (const format of ['zip', 'tar', 'iso'] as const) {
  // spec: CW-PKG-001, CW-PKG-003, CW-PKG-004
  t.test(`${format}: independent tools extract it byte for byte and it verifies`, async (t) => {
    const dir = t.testdir({ out: {} })
    const evidence = await evidenceOnDisk(dir, [
      { name: 'interview.mp4', folders: ['Interviews', 'Day 1'], content: Buffer.alloc(70_000, 1), transcript: 'WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n' },
      { name: 'photo 1.jpg', folders: ['Scene'], content: Buffer.from('jpeg bytes') },
      { name: 'empty.txt', content: Buffer.alloc(0) },
    ])
    const file = join(dir, `case.${format}`)
    const built = await writeTestPackage(pki, evidence, file, { format }, { maxExtentSize: 32_768 })
    const verified = await verifyPackage(file)
    t.equal(verified.kind, format)
    t.equal(verified.manifest.jti, 'pkg-1')
    for (const [i, extract] of extractors[format].entries()) {
      const out = join(dir, `x${i}`)
      const result = await run('mkdir', ['-p', out]).then(() => extract(file, out))
      t.equal(result.code, 0, result.stderr)
      for (const member of built.members) {
        const source = built.sources.get(member.path)!
        const expected = source.kind === 'generated' ? Buffer.from(source.bytes) : await readFile(evidence.files.get(`${source.kind}:${source.id}`)!)
        t.ok(expected.equals(await readFile(join(out, member.path))), `${member.path} matches`)
      }
      const again = await verifyPackage(out)
      t.equal(again.kind, 'dir')
    }
    if (format === 'iso') {
      // A second independent ISO reader: isoinfo lists the Joliet tree and the primary tree.
      const joliet = await run('isoinfo', ['-J', '-f', '-i', file])
      t.equal(joliet.code, 0, joliet.stderr)
      const listed = new Set(joliet.stdout.trim().split('\n'))
      for (const member of built.members) t.ok(listed.has('/' + member.path), `isoinfo -J lists ${member.path}`)
      const primary = await run('isoinfo', ['-f', '-i', file])
      t.equal(primary.code, 0, primary.stderr)
      t.match(primary.stdout, '/EVIDENCE/INTERVIEWS/DAY_1/INTERVIEW.MP4;1', 'the primary tree has d-character names')
    }
  })
}

// spec: CW-PKG-006
t.test('the same input streams byte-identical archives, and any range is that slice', async (t) => {
  const dir = t.testdir()
  const evidence = await evidenceOnDisk(dir, [{ name: 'a.bin', content: Buffer.alloc(5000, 3) }])
  const fixed = { createdAt: 1_800_000_000, expiresAt: 1_900_000_000 }
  for (const format of ['zip', 'tar', 'iso'] as const) {
    const built = await writeTestPackage(pki, evidence, join(dir, `1.${format}`), { format, ...fixed })
    const one = await readFile(join(dir, `1.${format}`))
    const { layoutPackage, packageContent, streamLayout } = await import('#packaging')
    const layout = layoutPackage(built)
    t.equal(layout.size, one.length, `${format}: the layout knows the size`)
    const open = packageContent(built, (_id, _kind, start, end) => [Buffer.alloc(5000, 3).subarray(start, end)])
    const whole: Uint8Array[] = []
    for await (const chunk of streamLayout(layout, open)) whole.push(chunk)
    t.ok(Buffer.concat(whole).equals(one), `${format}: a second run is byte-identical`)
    for (const [start, end] of [
      [0, 1],
      [100, Math.floor(one.length / 2)],
      [one.length - 700, one.length],
      [511, 513],
      [2047, 2049],
    ] as const) {
      const part: Uint8Array[] = []
      for await (const chunk of streamLayout(layout, open, { start, end })) part.push(chunk)
      t.ok(Buffer.concat(part).equals(one.subarray(start, end)), `${format}: range ${start}-${end}`)
    }
    await t.rejects(streamLayout(layout, open, { start: 0, end: one.length + 1 }).next(), RangeError)
  }
})
