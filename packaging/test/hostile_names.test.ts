/**
 * Evidence and folder names are user input. Sixty hostile names become safe, unique package
 * paths; unzip, tar, bsdtar and xorriso extract every package inside the target folder and
 * nowhere else, every file's bytes match, and the table of contents maps each original name.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { foldPath, isSafePackagePath } from '#protocol'
import { allocatePaths, safeComponent, verifyPackage } from '#packaging'
import { createTestOrgPki, evidenceOnDisk, run, writeTestPackage, type EvidenceSpec } from './helpers.ts'

const long = 'x'.repeat(300)
const HOSTILE: readonly string[] = [
  '../escape.txt',
  '../../../../etc/passwd',
  '..',
  '.',
  '...',
  '/etc/shadow',
  '/absolute/path.txt',
  '\\\\server\\share\\x.txt',
  'C:\\Windows\\system32\\evil.dll',
  'C:evil.txt',
  'a/../../b.txt',
  'sub/../../../x',
  'nul\u0000byte.txt',
  'line\nbreak.txt',
  'carriage\rreturn.txt',
  'tab\tname.txt',
  'bell\u0007.txt',
  'esc\u001b[31mred.txt',
  'del\u007f.txt',
  'c1\u0085next.txt',
  'CON',
  'con.txt',
  'PRN.log',
  'AUX',
  'NUL.tar.gz',
  'COM1',
  'com9.txt',
  'LPT1',
  'lpt3.doc',
  'COM¹.txt',
  'trailing dot.',
  'trailing space ',
  'both. . ',
  ' leading space.txt',
  '.hidden',
  '.bashrc',
  long,
  long + '.mp4',
  '\u00e9t\u00e9.txt',
  'e\u0301te\u0301.txt',
  'Report.PDF',
  'report.pdf',
  'REPORT.pdf',
  '\ufb01le.txt',
  'ﬁle.txt',
  'ｆｕｌｌ.txt',
  'invoice\u202egpj.exe',
  'bidi\u2066isolate\u2069.txt',
  'rtl\u200fmark.txt',
  'zero\u200bwidth.txt',
  'bom\ufeff.txt',
  'colon:stream.txt',
  'star*.txt',
  'question?.txt',
  'quote".txt',
  'angle<>.txt',
  'pipe|.txt',
  'semi;colon.txt',
  '日本語のファイル名'.repeat(10) + '.mp4',
  'emoji 😀'.repeat(20) + '.jpg',
  'lone\ud800surrogate.txt',
  '',
  ' ',
  'normal.txt',
]
const FOLDERS: readonly (readonly string[])[] = [
  ['..', '..'],
  ['/abs'],
  ['CON', 'aux'],
  ['Folder.', 'Folder'],
  ['folder'],
  ['a\u0000b'],
  [long],
  ['\u202eevil'],
  ['Report.PDF'],
]

const pki = await createTestOrgPki()

t.test('every hostile name becomes a safe component', async (t) => {
  t.ok(HOSTILE.length >= 50, `${HOSTILE.length} names`)
  for (const name of HOSTILE) {
    const safe = safeComponent(name)
    t.ok(isSafePackagePath(safe), `${JSON.stringify(name)} → ${JSON.stringify(safe)}`)
    t.ok(safe.length <= 64 && Buffer.byteLength(safe) <= 255)
    t.notMatch(safe, /[\u0000-\u001f\u007f\\/:*?"<>|;\u202a-\u202e\u2066-\u2069]/)
  }
  t.equal(safeComponent('../escape.txt'), '___escape.txt')
  t.equal(safeComponent('CON'), '_CON')
  t.equal(safeComponent(long + '.mp4'), 'x'.repeat(60) + '.mp4')
})

// spec: CW-PKG-005
t.test('paths are unique after case folding and Unicode normalization, in folders and flat', async (t) => {
  for (const retainFolderStructure of [true, false]) {
    const items = HOSTILE.flatMap((name, i) => [{ folders: FOLDERS[i % FOLDERS.length]!, name }])
    const paths = allocatePaths('evidence', items, { retainFolderStructure })
    t.equal(new Set(paths.map(foldPath)).size, paths.length, 'unique')
    for (const path of paths) t.ok(isSafePackagePath(path), path)
    t.same(allocatePaths('evidence', items, { retainFolderStructure }), paths, 'deterministic')
  }
})

const extract = {
  unzip: (file: string, dir: string) => run('unzip', ['-q', '-o', file, '-d', dir]),
  tar: (file: string, dir: string) => run('tar', ['-xf', file, '-C', dir]),
  bsdtar: (file: string, dir: string) => run('bsdtar', ['-xf', file, '-C', dir]),
  xorriso: (file: string, dir: string) => run('xorriso', ['-osirrox', 'on', '-indev', file, '-extract', '/', dir]),
}

async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort()
}

// spec: CW-PKG-005
t.test('hostile names: every tool extracts inside the target, bytes match, the ToC maps every name', async (t) => {
  const root = t.testdir({ src: {} })
  const specs: EvidenceSpec[] = HOSTILE.map((name, i) => ({ name, folders: [...FOLDERS[i % FOLDERS.length]!], content: Buffer.from(`content of item ${i}\n`) }))
  const evidence = await evidenceOnDisk(join(root, 'src'), specs)
  const cases = [
    ['zip', ['unzip', 'bsdtar']],
    ['tar', ['tar', 'bsdtar']],
    ['iso', ['xorriso', 'bsdtar']],
  ] as const
  for (const retainFolderStructure of [true, false]) {
    for (const [format, tools] of cases) {
      const file = join(root, `case-${retainFolderStructure}.${format}`)
      const built = await writeTestPackage(pki, evidence, file, { format, retainFolderStructure, auditTrail: undefined })
      await verifyPackage(file)
      const csv = built.sources.get('table-of-contents.csv')!
      const toc = Buffer.from((csv as { bytes: Uint8Array }).bytes).toString('utf8')
      for (const file of built.manifest.files.filter((f) => f.role === 'evidence')) {
        t.match(toc, file.path.replaceAll('"', '""'), `ToC lists ${file.path}`)
      }
      for (const tool of tools) {
        const sandbox = join(root, `sandbox-${format}-${tool}-${retainFolderStructure}`)
        const target = join(sandbox, 'target')
        await mkdir(target, { recursive: true })
        const result = await extract[tool](file, target)
        t.equal(result.code, 0, `${tool} ${format}: ${result.stderr}`)
        t.same(await readdir(sandbox), ['target'], `${tool} ${format}: nothing written beside the target`)
        const extracted = (await listAll(target)).length
        t.ok(extracted >= built.members.length, `${tool} ${format}: ${extracted} entries`)
        for (const [index, item] of built.manifest.files.filter((f) => f.role === 'evidence').entries()) {
          const bytes = await readFile(join(target, item.path))
          t.equal(bytes.toString(), `content of item ${Number(item.evidence!.id.slice(3)) - 1}\n`, `${tool} ${format}: ${index} ${item.path}`)
        }
        await verifyPackage(target)
      }
    }
  }
})
