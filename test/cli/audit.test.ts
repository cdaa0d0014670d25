/**
 * `caseway audit verify` and `caseway audit export` on a node directory: one line per chain,
 * exit status 1 and the first bad entry when a chain was tampered with.
 */
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { nodePath } from '../../node/src/config/load.ts'
import { partnerActor, userActor } from '../../node/src/events.ts'
import { initNode } from '../../node/src/init_node.ts'
import { FEDERATION_AUDIT_CASE, auditSubscriber, verifyAuditChain } from '../../node/src/audit/audit_trail.ts'
import { openSqliteMetadataStore } from '../../node/src/store/sqlite/sqlite_metadata_store.ts'
import { tamper } from '../../node/test/support/audit.ts'
import { caseway, lines } from '../support/cli.ts'

const root = t.testdir()
const dir = join(root, 'node')
const { config } = await initNode({ org: 'metro-pd', name: 'Metro PD', dir })
const database = nodePath(config, config.storage.database)

/** Writes the chains: case-a 3 entries, case-b 2, _federation 2 (init's admin token, then a refused offer). */
async function seed(): Promise<void> {
  const store = await openSqliteMetadataStore(database)
  const audit = auditSubscriber({ store, clock: { now: () => new Date() } })
  const alice = userActor('alice')
  await audit({ type: 'case.created', caseId: 'case-a', actor: alice })
  await audit({ type: 'case.updated', caseId: 'case-a', actor: alice, fields: ['title'] })
  await audit({ type: 'case.created', caseId: 'case-b', actor: alice })
  await audit({ type: 'evidence.uploaded', caseId: 'case-a', actor: alice, evidenceId: 'e1', digest: 'sha256:' + 'a'.repeat(64), size: 10 })
  await audit({ type: 'case.viewed', caseId: 'case-b', actor: alice })
  await audit({ type: 'offer.refused', actor: partnerActor('lake-pd'), code: 'CW_ERR_REPLAY' })
  await store.close()
}

await seed()

t.test('without a database there is nothing to verify: one line, exit status 1', async (t) => {
  const fresh = join(root, 'fresh')
  const made = await initNode({ org: 'lake-pd', name: 'Lake PD', dir: fresh })
  // init made the database (for its admin token); take it away again.
  const database = nodePath(made.config, made.config.storage.database)
  for (const file of [database, `${database}-wal`, `${database}-shm`]) await rm(file, { force: true })
  const result = await caseway(['audit', 'verify', '--dir', fresh])
  t.equal(result.code, 1)
  t.equal(lines(result.stderr).length, 1)
  t.match(result.stderr, /no database/)
})

// spec: CW-AUD-003, CW-AUD-004
t.test('verify prints one ok line per intact chain and exits 0', async (t) => {
  const [result, one] = await Promise.all([caseway(['audit', 'verify', '--dir', dir]), caseway(['audit', 'verify', '--dir', dir, '--case', 'case-b'])])
  t.equal(result.code, 0, result.stderr)
  t.same(lines(result.stdout), ['ok _federation 2 entries', 'ok case-a 3 entries', 'ok case-b 2 entries'])
  t.equal(result.stderr, '')
  t.equal(one.code, 0, one.stderr)
  t.same(lines(one.stdout), ['ok case-b 2 entries'])
})

// spec: CW-AUD-004
t.test('export writes the whole chain as one JSON document, to stdout or a file', async (t) => {
  const out = join(root, 'federation.json')
  const [result, written, unknown, usage] = await Promise.all([
    caseway(['audit', 'export', '--dir', dir, '--case', 'case-a']),
    caseway(['audit', 'export', '--dir', dir, '--case', FEDERATION_AUDIT_CASE, '--out', out]),
    caseway(['audit', 'export', '--dir', dir, '--case', 'no-such-case']),
    caseway(['audit', 'export', '--dir', dir]),
  ])
  t.equal(result.code, 0, result.stderr)
  const doc = JSON.parse(result.stdout)
  t.same(Object.keys(doc), ['caseId', 'exportedAt', 'node', 'entries'])
  t.equal(doc.caseId, 'case-a')
  t.equal(doc.node, 'metro-pd')
  t.same(
    doc.entries.map((e: { type: string }) => e.type),
    ['case.created', 'case.updated', 'evidence.uploaded'],
  )
  t.same(verifyAuditChain(doc.entries), { ok: true, entries: 3 })

  t.equal(written.code, 0, written.stderr)
  t.equal(written.stdout, '')
  t.same(
    JSON.parse(readFileSync(out, 'utf8')).entries.map((e: { type: string }) => e.type),
    ['token.created', 'offer.refused'],
  )

  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^caseway: CW_ERR_NOT_FOUND: /)
  t.equal(usage.code, 2, '--case is required')
})

// spec: CW-AUD-003
t.test('tampered chains: the first bad entry of each on one line, the intact one still ok, exit status 1', async (t) => {
  tamper(dir, `UPDATE audit_entries SET data = '{"fields":["nothing"]}' WHERE case_id = 'case-a' AND seq = 2`)
  tamper(dir, `DELETE FROM audit_entries WHERE case_id = 'case-a' AND seq = 3`)
  tamper(dir, `DELETE FROM audit_entries WHERE case_id = 'case-b' AND seq = 1`)
  const [result, one] = await Promise.all([caseway(['audit', 'verify', '--dir', dir]), caseway(['audit', 'verify', '--dir', dir, '--case', 'case-b'])])
  t.equal(result.code, 1)
  t.same(lines(result.stdout), ['ok _federation 2 entries', 'broken case-a 2 digest', 'broken case-b 1 sequence'])
  t.same(lines(result.stderr), ['caseway: audit trail broken: 2 of 3 chains'])
  t.equal(one.code, 1)
  t.same(lines(one.stdout), ['broken case-b 1 sequence'])
  t.same(lines(one.stderr), ['caseway: audit trail broken: 1 of 1 chain'])
})
