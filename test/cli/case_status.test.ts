/**
 * `caseway case create|list|upload` and `caseway status` against a real node process (issue
 * 16, finding 4): cases made and listed, a multi-MiB file streamed from disk with plain
 * progress lines when stderr is not a terminal, refusals as one `caseway: CW_ERR_…` line,
 * and the operator's one view of the node, up and stopped.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { LocalClient } from '../../client/local_client.ts'
import { TransferProgress } from '../../cli/progress.ts'
import { initLoopbackNode } from '../../testkit/loopback_node.ts'
import { startNodeProcess } from '../../testkit/node_process.ts'
import { caseway, lines } from '../support/cli.ts'

const root = t.testdir()
const dir = join(root, 'node')
const { config } = await initLoopbackNode({ org: 'metro-pd', name: 'Metro PD', dir })
const [federationPort, localPort] = [config.federation.port, config.local.port]
const node = await startNodeProcess({ dir, adminToken: true })
t.teardown(() => node.stop('SIGKILL'))
const admin = new LocalClient({ baseUrl: node.localUrl, token: node.adminToken! })

/** A case made through the CLI, shared by the subtests that follow. */
let caseId = ''

t.test('case create prints the new id; case list shows the case with its fields', async (t) => {
  const created = await caseway([
    'case',
    'create',
    '--field',
    'caseNumber=2026-0042',
    '--field',
    'title=Lobby robbery',
    '--field',
    'tags=cctv',
    '--field',
    'tags=night',
    '--dir',
    dir,
  ])
  t.equal(created.code, 0, created.stderr)
  caseId = created.stdout.trim()
  t.match(caseId, /^[0-9a-f-]{36}$/)

  const listed = await caseway(['case', 'list', '--dir', dir])
  t.equal(listed.code, 0, listed.stderr)
  const row = lines(listed.stdout).find((line) => line.startsWith(caseId))
  t.ok(row, listed.stdout)
  t.match(row, 'caseNumber=2026-0042 title=Lobby robbery tags=cctv,night')

  const json = await caseway(['case', 'list', '--json', '--dir', dir])
  t.equal(json.code, 0, json.stderr)
  const cases = JSON.parse(json.stdout) as Array<{ id: string; fields: Record<string, unknown> }>
  t.same(cases.find((item) => item.id === caseId)?.fields, { caseNumber: '2026-0042', title: 'Lobby robbery', tags: ['cctv', 'night'] })

  const bad = await caseway(['case', 'create', '--field', 'no-equals-sign', '--dir', dir])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^caseway: --field takes key=value/)
})

t.test('case upload streams a multi-MiB file: plain progress lines ending at 100 %, the digest of the file, the evidence listed', async (t) => {
  const file = join(root, 'lobby-cam.bin')
  const bytes = randomBytes(6 * 1024 * 1024 + 12345)
  await writeFile(file, bytes)
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`

  const uploaded = await caseway(['case', 'upload', caseId, file, '--category', 'video', '--dir', dir])
  t.equal(uploaded.code, 0, uploaded.stderr)
  const evidenceId = /^evidence\s+(\S+)$/m.exec(uploaded.stdout)?.[1]
  t.ok(evidenceId, uploaded.stdout)
  t.match(uploaded.stdout, new RegExp(`^digest\\s+${digest}$`, 'm'))
  t.match(uploaded.stdout, new RegExp(`^size\\s+${bytes.length} bytes$`, 'm'))

  // Not a terminal (a pipe): whole lines, no carriage returns, a few of them, the last at 100 %.
  t.notMatch(uploaded.stderr, /[\r\u001b]/)
  const progress = lines(uploaded.stderr)
  t.ok(progress.length >= 2 && progress.length <= 11, uploaded.stderr)
  for (const line of progress) t.match(line, /^uploading lobby-cam\.bin: \S+ \S+ \/ 6\.0 MiB +\d+%$/)
  const percents = progress.map((line) => Number(/(\d+)%$/.exec(line)![1]))
  t.same(
    percents,
    [...percents].sort((a, b) => a - b),
    'percentages only grow',
  )
  t.equal(percents.at(-1), 100)
  t.equal(percents.filter((percent) => percent === 100).length, 1, 'one final line')

  const listed = await admin.listEvidence(caseId)
  t.match(
    listed.find((item) => item.id === evidenceId),
    { name: 'lobby-cam.bin', category: 'video', size: bytes.length, digest, doNotDisclose: false },
  )

  const asJson = await caseway([
    'case',
    'upload',
    caseId,
    file,
    '--category',
    'video',
    '--name',
    'Lobby camera 2.mp4',
    '--media-type',
    'video/mp4',
    '--do-not-disclose',
    '--json',
    '--dir',
    dir,
  ])
  t.equal(asJson.code, 0, asJson.stderr)
  t.match(JSON.parse(asJson.stdout), { caseId, name: 'Lobby camera 2.mp4', mediaType: 'video/mp4', size: bytes.length, digest, doNotDisclose: true })
})

// spec: CW-LOC-056
t.test('case upload of several files sends them in batches: each listed with the digest of its file', async (t) => {
  const files = await Promise.all(
    [
      ['scene-01.jpg', randomBytes(30_000)],
      ['scene-02.jpg', randomBytes(45_000)],
      ['hallway.mp4', randomBytes(5 * 1024 * 1024 + 3)],
    ].map(async ([name, bytes]) => {
      const path = join(root, name as string)
      await writeFile(path, bytes as Buffer)
      return {
        path,
        name,
        digest: `sha256:${createHash('sha256')
          .update(bytes as Buffer)
          .digest('hex')}`,
      }
    }),
  )
  const before = (await admin.listEvidence(caseId)).length
  const uploaded = await caseway(['case', 'upload', caseId, ...files.map((file) => file.path), '--category', 'photo', '--json', '--dir', dir])
  t.equal(uploaded.code, 0, uploaded.stderr)
  const stored = JSON.parse(uploaded.stdout) as Array<{ id: string; name: string; digest: string }>
  t.same(
    stored.map((evidence) => [evidence.name, evidence.digest]),
    files.map((file) => [file.name, file.digest]),
  )
  t.equal(percentOf(lines(uploaded.stderr).at(-1)), 100, uploaded.stderr)
  t.equal((await admin.listEvidence(caseId)).length, before + 3)

  const named = await caseway(['case', 'upload', caseId, files[0]!.path, files[1]!.path, '--category', 'photo', '--name', 'x.jpg', '--dir', dir])
  t.equal(named.code, 2, 'one --name for several files is a usage error')
  const withDirectory = await caseway(['case', 'upload', caseId, files[0]!.path, root, '--category', 'photo', '--dir', dir])
  t.equal(withDirectory.code, 2)
  t.match(withDirectory.stderr, 'is not a regular file')

  // A file whose name the node refuses (a control character): its batch is refused whole, named by the file.
  const badName = join(root, 'bad\u0007name.jpg')
  await writeFile(badName, randomBytes(100))
  const refused = await caseway(['case', 'upload', caseId, files[0]!.path, badName, '--category', 'photo', '--dir', dir])
  t.equal(refused.code, 1)
  // The control character is printed escaped.
  t.match(
    lines(refused.stderr).at(-1),
    /^caseway: CW_ERR_BAD_REQUEST: .*bad\\u0007name\.jpg: name must be .*nothing of this batch of 2 is stored; no file is stored\)$/,
  )
  t.equal((await admin.listEvidence(caseId)).length, before + 3, 'nothing stored by the refused batch')
})

function percentOf(line: string | undefined): number | undefined {
  const match = /(\d+)%$/.exec(line ?? '')
  return match === null ? undefined : Number(match[1])
}

t.test('case upload refusals are one caseway: line, exit 1', async (t) => {
  const before = (await admin.listEvidence(caseId)).length
  const file = join(root, 'note.txt')
  await writeFile(file, 'a note\n')

  const unknown = await caseway(['case', 'upload', 'no-such-case', file, '--category', 'document', '--dir', dir])
  t.equal(unknown.code, 1)
  t.equal(unknown.stdout, '')
  t.match(lines(unknown.stderr).at(-1), /^caseway: CW_ERR_NOT_FOUND: /)

  const missing = await caseway(['case', 'upload', caseId, join(root, 'absent.bin'), '--category', 'document', '--dir', dir])
  t.equal(missing.code, 1)
  t.equal(missing.stderr, `caseway: cannot read ${join(root, 'absent.bin')}: no such file\n`)

  // A member sees and changes only the cases it owns or works on: the admin's case is not there.
  const token = await caseway(['tokens', 'create', '--user', 'bob', '--role', 'member', '--dir', dir])
  t.equal(token.code, 0, token.stderr)
  const bob = { CASEWAY_TOKEN: lines(token.stdout)[0]! }
  const refused = await caseway(['case', 'upload', caseId, file, '--category', 'document', '--dir', dir], undefined, bob)
  t.equal(refused.code, 1)
  t.match(lines(refused.stderr).at(-1), /^caseway: CW_ERR_NOT_FOUND: /)
  const bobsList = await caseway(['case', 'list', '--dir', dir], undefined, bob)
  t.equal(bobsList.code, 0, bobsList.stderr)
  t.notMatch(bobsList.stdout, caseId)
  t.equal((await admin.listEvidence(caseId)).length, before, 'nothing stored by the refused uploads')
})

t.test('status --json: listeners, store health, certificate days left, partners', async (t) => {
  // A partner, so that the partner list has someone in it.
  const partnerDir = join(root, 'county-da')
  const partnerPki = await caseway(['certs', 'init-org', '--org', 'county-da', '--name', 'County DA', '--host', 'node.county.example', '--out', partnerDir])
  t.equal(partnerPki.code, 0, partnerPki.stderr)
  const bundle = JSON.parse(await readFile(join(partnerDir, 'partner-bundle.json'), 'utf8')) as unknown
  const fingerprint = new X509Certificate(await readFile(join(partnerDir, 'ca.crt'))).fingerprint256
  await admin.importPartner(bundle, fingerprint)

  const result = await caseway(['status', '--json', '--dir', dir])
  t.equal(result.code, 0, result.stderr)
  const status = JSON.parse(result.stdout) as {
    node: { org: string; name: string }
    listeners: { local: { url: string; healthz: string; readyz: string }; federation: { address: string }; ops: null }
    store: { metadataStore: { status: string }; blobStore: { status: string } }
    certificates: { source: string; node: { daysLeft: number; notAfter: string } }
    partners: Array<{ org: string; name: string; enabled: boolean; lastContact: string | null }>
    shares: Record<string, Record<string, number>>
  }
  t.same(status.node, { org: 'metro-pd', name: 'Metro PD' })
  t.match(status.listeners.local, { url: node.localUrl, healthz: 'ok', readyz: 'ready' })
  t.match(status.listeners.federation.address, `:${federationPort}`)
  t.equal(status.listeners.ops, null)
  t.match(status.store, { metadataStore: { status: 'pass' }, blobStore: { status: 'pass' } })
  t.equal(status.certificates.source, 'pki')
  t.type(status.certificates.node.daysLeft, 'number')
  t.ok(status.certificates.node.daysLeft > 300, 'a fresh node certificate has most of its life ahead')
  t.same(status.partners, [{ org: 'county-da', name: 'County DA', enabled: true, lastContact: null }])
  t.type(status.shares, 'object')

  const human = await caseway(['status', '--dir', dir])
  t.equal(human.code, 0, human.stderr)
  t.match(human.stdout, `${node.localUrl} (listening on 127.0.0.1:${localPort}): healthz ok, readyz ready`)
  t.match(human.stdout, /^node certificate\s+\d+ days left/m)
  t.match(human.stdout, /^county-da\s+yes\s+none\s+County DA$/m)
})

t.test('a terminal gets one line redrawn in place, ended once the transfer is whole', async (t) => {
  let written = ''
  let clock = 0
  const progress = new TransferProgress('uploading a.bin', 4 * 1024 * 1024, { isTTY: true, write: (text: string) => (written += text) }, () => clock)
  for (let mib = 1; mib <= 4; mib += 1) {
    clock += 1000
    progress.update(mib * 1024 * 1024)
  }
  progress.finish()
  t.notMatch(written.slice(0, -1), /\n/, 'no new line until the end')
  t.equal(written.at(-1), '\n')
  const drawn = written.split('\r').filter((part) => part !== '')
  t.equal(drawn.length, 5, 'each update redrawn, and the final state')
  t.match(drawn[0], 'uploading a.bin: 1.0 MiB / 4.0 MiB  25%')
  t.match(drawn.at(-1), 'uploading a.bin: 4.0 MiB / 4.0 MiB 100%')
})

t.test('status and case commands against a stopped node exit 1 naming its URL', async (t) => {
  await node.stop()
  for (const args of [['status'], ['status', '--json'], ['case', 'list']]) {
    const result = await caseway([...args, '--dir', dir])
    t.equal(result.code, 1, args.join(' '))
    t.equal(result.stdout, '')
    t.match(result.stderr, new RegExp(`^caseway: cannot reach the node at ${node.localUrl.replaceAll('.', '\\.')}: is it running\\?`))
    t.equal(lines(result.stderr).length, 1)
  }
})
