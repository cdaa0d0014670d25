/**
 * Pairing, policies and sharing from the command line, against two real node processes (issue
 * 16, finding 4): the bundle file one node's `partner export` writes imports as-is with the
 * other's `partner import`; partners, policies and shares are listed, changed and followed with
 * `caseway partner|policy|share …`, each refusal one `caseway: CW_ERR_…` line with exit 1.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { startOrg } from '../../node/test/support/processes.ts'
import { waitFor } from '../../testkit/wait.ts'
import { caseway, lines } from '../support/cli.ts'

// Each command is a process of its own (a second or more on a busy machine), and one share is delivered.
t.setTimeout(300_000)

const settings = { transfers: { retryBaseMs: 100, retryMaxMs: 1000 } }
const [metro, county] = await Promise.all([
  startOrg(t, { org: 'metro-pd', name: 'Metro PD', settings }),
  startOrg(t, { org: 'county-da', name: 'County DA', settings }),
])
const files = t.testdir()

interface ListedPartner {
  org: string
  name: string
  endpoint: string
  enabled: boolean
  policyId: string | null
  policyVersion: number | null
}

async function partners(dir: string): Promise<ListedPartner[]> {
  const listed = await caseway(['partner', 'list', '--json', '--dir', dir])
  if (listed.code !== 0) throw new Error(listed.stderr)
  return JSON.parse(listed.stdout) as ListedPartner[]
}

/** `partner export --dir` of a node: the bundle file and the fingerprint it printed. */
async function exportBundle(dir: string, name: string): Promise<{ file: string; fingerprint: string }> {
  const file = join(files, name)
  const exported = await caseway(['partner', 'export', '--dir', dir, '--out', file])
  if (exported.code !== 0) throw new Error(exported.stderr)
  return { file, fingerprint: /^fingerprint (\S+)$/m.exec(exported.stderr)![1]! }
}

// spec: CW-TRUST-001, CW-TRUST-002
t.test('the bundle file partner export writes imports as-is with partner import; the other way through stdin', async (t) => {
  const countyBundle = await exportBundle(county.node.dir, 'county-da.bundle.json')
  t.equal(countyBundle.fingerprint, county.node.caFingerprint, 'the fingerprint of the CA in pki/')
  t.same(JSON.parse(await readFile(countyBundle.file, 'utf8')), county.node.bundle, 'the bundle init wrote, endpoint from caseway.json')

  const wrong = await caseway(['partner', 'import', countyBundle.file, '--fingerprint', metro.node.caFingerprint, '--dir', metro.node.dir])
  t.equal(wrong.code, 1, 'a wrong fingerprint is refused')
  t.equal(lines(wrong.stderr).length, 1)
  t.match(wrong.stderr, /^caseway: CW_ERR_FINGERPRINT_MISMATCH: /)
  t.same(await partners(metro.node.dir), [], 'nothing pinned')

  const imported = await caseway(['partner', 'import', countyBundle.file, '--fingerprint', countyBundle.fingerprint, '--dir', metro.node.dir])
  t.equal(imported.code, 0, imported.stderr)
  t.match(imported.stderr, /^partner county-da \(County DA\) imported, enabled, CA sha256:[0-9a-f]{64}, policy -$/m)
  t.match(imported.stderr, 'caseway policy assign county-da <policyId>', 'says what is left to do')

  const metroBundle = await caseway(['partner', 'export', '--dir', metro.node.dir])
  t.equal(metroBundle.code, 0, metroBundle.stderr)
  const fingerprint = /^fingerprint (\S+)$/m.exec(metroBundle.stderr)![1]!
  const fromStdin = await caseway(['partner', 'import', '-', '--fingerprint', fingerprint, '--dir', county.node.dir], metroBundle.stdout)
  t.equal(fromStdin.code, 0, fromStdin.stderr)

  const listed = await partners(metro.node.dir)
  t.match(listed, [{ org: 'county-da', name: 'County DA', endpoint: county.node.federationEndpoint, enabled: true, policyId: null, policyVersion: null }])
  const table = await caseway(['partner', 'list', '--dir', county.node.dir])
  t.equal(table.code, 0, table.stderr)
  t.match(lines(table.stdout)[0], /^ORG\s+NAME\s+ENDPOINT\s+ENABLED\s+POLICY\s+ADDED\s+LAST CONTACT$/)
  t.match(lines(table.stdout)[1], new RegExp(`^metro-pd\\s+Metro PD\\s+${metro.node.federationEndpoint}\\s+yes\\s+-\\s+\\d{4}-\\S+\\s+none$`), 'no contact yet')
})

// spec: CW-LOC-001
t.test('a member token cannot import a partner', async (t) => {
  const created = await caseway(['tokens', 'create', '--user', 'alice', '--role', 'member', '--dir', metro.node.dir])
  t.equal(created.code, 0, created.stderr)
  const bundle = await exportBundle(county.node.dir, 'again.bundle.json')
  const refused = await caseway(['partner', 'import', bundle.file, '--fingerprint', bundle.fingerprint, '--dir', metro.node.dir], undefined, {
    CASEWAY_TOKEN: created.stdout.trim(),
  })
  t.equal(refused.code, 1)
  t.equal(lines(refused.stderr).length, 1)
  t.match(refused.stderr, /^caseway: CW_ERR_FORBIDDEN: /)
})

t.test('partner disable and enable change what partner list shows', async (t) => {
  const disabled = await caseway(['partner', 'disable', 'county-da', '--dir', metro.node.dir])
  t.equal(disabled.code, 0, disabled.stderr)
  t.equal(disabled.stderr, 'partner county-da (County DA) disabled\n')
  t.match(await partners(metro.node.dir), [{ org: 'county-da', enabled: false }])
  const enabled = await caseway(['partner', 'enable', 'county-da', '--dir', metro.node.dir])
  t.equal(enabled.code, 0, enabled.stderr)
  t.match(await partners(metro.node.dir), [{ org: 'county-da', enabled: true }])
  const unknown = await caseway(['partner', 'enable', 'nobody-pd', '--dir', metro.node.dir])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^caseway: CW_ERR_NOT_FOUND: /)
})

// spec: CW-POL-007
t.test('policy create, list and assign', async (t) => {
  const policy = {
    id: 'review',
    name: 'Review',
    permissions: { view: true, download: true, import: false, applyUpdates: false, shareOnward: { allowed: false, maxDepth: 0 } },
    content: { caseFields: ['caseNumber', 'title'], evidenceCategories: ['document'], attachments: false },
    maxDurationSeconds: 86_400,
  }
  const file = join(files, 'review.policy.json')
  await writeFile(file, JSON.stringify(policy))
  const created = await caseway(['policy', 'create', '--file', file, '--dir', metro.node.dir])
  t.equal(created.code, 0, created.stderr)
  t.equal(created.stdout, 'review\n', 'the id on stdout')

  const [invalid, notJson] = await Promise.all([
    caseway(['policy', 'create', '--file', '-', '--dir', metro.node.dir], JSON.stringify({ ...policy, id: 'other', maxDurationSeconds: 1 })),
    caseway(['policy', 'create', '--file', '-', '--dir', metro.node.dir], '{"name":'),
  ])
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, /^caseway: CW_ERR_\w+: /)
  t.equal(notJson.code, 1)
  t.match(notJson.stderr, /^caseway: CW_ERR_MALFORMED: stdin is not JSON/)

  const listed = await caseway(['policy', 'list', '--json', '--dir', metro.node.dir])
  t.equal(listed.code, 0, listed.stderr)
  t.match(JSON.parse(listed.stdout), [{ id: 'review', version: 1, policy: { name: 'Review', maxDurationSeconds: 86_400 } }])
  const table = await caseway(['policy', 'list', '--dir', metro.node.dir])
  t.match(lines(table.stdout)[1], /^review@1\s+Review\s+view,download\s+1d\s+\d{4}-/)

  const assigned = await caseway(['policy', 'assign', 'county-da', 'review', '--version', '1', '--dir', metro.node.dir])
  t.equal(assigned.code, 0, assigned.stderr)
  t.equal(assigned.stderr, 'partner county-da (County DA): policy review@1\n')
  t.match(await partners(metro.node.dir), [{ org: 'county-da', policyId: 'review', policyVersion: 1 }])
  const missing = await caseway(['policy', 'assign', 'county-da', 'nope', '--dir', metro.node.dir])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^caseway: CW_ERR_NOT_FOUND: /)
})

// spec: CW-FED-001, CW-REV-002
t.test('share create, share status until delivered, share revoke', async (t) => {
  const theCase = await metro.api.createCase({ caseNumber: 'MPD-7', title: 'Fraud' })
  const folder = await metro.api.createFolder(theCase.id, 'Statements')
  await metro.api.uploadEvidence(theCase.id, { name: 'statement.pdf', category: 'document', folderId: folder.id }, Buffer.from('a statement'))

  const both = await caseway(['share', 'create', theCase.id, '--partner', 'county-da', '--folder', folder.id, '--evidence', 'x', '--dir', metro.node.dir])
  t.equal(both.code, 2, 'folders or evidence, not both')

  const created = await caseway([
    'share',
    'create',
    theCase.id,
    '--partner',
    'county-da',
    '--folder',
    folder.id,
    '--recipient',
    'dana@county-da.example',
    '--recipient',
    'group:prosecutors',
    '--dir',
    metro.node.dir,
  ])
  t.equal(created.code, 0, created.stderr)
  const shareId = created.stdout.trim()
  t.match(created.stderr, `share ${shareId} of case ${theCase.id} with county-da: processing`)
  const made = await metro.api.getShare(shareId)
  t.match(made, {
    scope: 'folders',
    folderIds: [folder.id],
    recipients: [
      { kind: 'email', id: 'dana@county-da.example' },
      { kind: 'group', id: 'prosecutors' },
    ],
  })

  const delivered = await waitFor(
    'the share delivered, as share status --json says',
    async (seen) => {
      const status = await caseway(['share', 'status', theCase.id, '--json', '--dir', metro.node.dir])
      if (status.code !== 0) throw new Error(status.stderr)
      const shares = JSON.parse(status.stdout) as Array<{ id: string; status: string }>
      seen(status.stdout)
      return shares.length === 1 && shares[0]!.id === shareId && shares[0]!.status === 'delivered' ? shares[0] : undefined
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  )
  t.match(delivered, { id: shareId, partnerOrg: 'county-da', status: 'delivered', policy: { id: 'review', version: 1 } })

  const human = await caseway(['share', 'status', theCase.id, '--dir', metro.node.dir])
  t.equal(human.code, 0, human.stderr)
  t.match(human.stdout, new RegExp(`^share ${shareId}\\n  partner\\s+county-da\\n  status\\s+delivered\\n`))
  t.match(human.stdout, /^ {2}recipients\s+email:dana@county-da\.example, group:prosecutors$/m)
  t.match(human.stdout, /^ {2}policy\s+review@1$/m)

  const revoked = await caseway(['share', 'revoke', shareId, '--reason', 'sent in error', '--dir', metro.node.dir])
  t.equal(revoked.code, 0, revoked.stderr)
  t.equal(revoked.stderr, `share ${shareId} of case ${theCase.id} with county-da: revoked\n`)
  const after = await caseway(['share', 'status', theCase.id, '--json', '--dir', metro.node.dir])
  t.match(JSON.parse(after.stdout), [{ id: shareId, status: 'revoked' }])

  const unknown = await caseway(['share', 'revoke', 'no-such-share', '--dir', metro.node.dir])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^caseway: CW_ERR_NOT_FOUND: /)
})
