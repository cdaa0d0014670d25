/**
 * The chunks the metadata store still needs (`store/sqlite/chunk_references.ts`): every source
 * while its record is in force and no longer after, the delivered-chunk records the collector
 * forgets, the shares that name an item's chunks — and that every column of the schema that
 * names chunks is a declared source or known not to be one.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { CHUNK_REFERENCE_SOURCES } from '../../../src/store/sqlite/chunk_references.ts'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'
import type { MetadataStore } from '../../../src/store/metadata_store.ts'
import { caseRecord, partnerRecord, policyRecord } from '../../support/records.ts'

async function openStore(t: Test): Promise<{ store: MetadataStore; path: string }> {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  await store.policies.insert(policyRecord())
  await store.partners.upsert(partnerRecord())
  await store.cases.insert(caseRecord())
  return { store, path }
}

t.test('every column that may name chunks is a reference source or known not to be one', async (t) => {
  const { path } = await openStore(t)
  // Why each of these names no chunk the blob store must keep.
  const notReferences: Record<string, string> = {
    'evidence.digest': "the whole file's digest, not a chunk",
    'outbound_revisions.manifest_jws': 'its chunks are share_chunks',
    'outbound_revisions.manifest_digest': 'a signed object',
    'inbound_shares.manifest_jws': 'the same manifest, signed',
    'inbound_shares.manifest_digest': 'a signed object',
    'inbound_revisions.manifest_jws': 'the same manifest, signed',
    'inbound_revisions.manifest_digest': 'a signed object',
    'jtis.digest': 'a signed object',
    'audit_entries.digest': "the entry's hash",
    'partner_chunks.digest': 'proof of possession, forgotten when the blob goes',
    'partners.ca_fingerprint': 'a certificate',
    'evidence.chunk_size': 'a size',
    'outbound_transfers.chunks_total': 'a count',
    'outbound_transfers.chunks_done': 'a count',
    'link_shares.package_digest': "the package manifest's digest (its ETag); its files are link_share_members",
    'inbound_packages.offer_digest': 'a signed object',
    'inbound_packages.manifest_digest': "the package manifest's digest (its ETag); its chunks are inbound_packages.chunks",
    'inbound_packages.chunk_size': 'a size',
  }
  const db = new DatabaseSync(path, { readOnly: true })
  t.teardown(() => db.close())
  const declared = new Set(CHUNK_REFERENCE_SOURCES.map((source) => source.from))
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all()
  const unexplained: string[] = []
  for (const { name } of tables) {
    for (const { name: column } of db.prepare(`PRAGMA table_info(${String(name)})`).all()) {
      const key = `${String(name)}.${String(column)}`
      if (/digest|chunk|manifest|snapshot|fingerprint/.test(String(column)) && !declared.has(key) && notReferences[key] === undefined) unexplained.push(key)
    }
  }
  t.same(unexplained, [], 'a new column naming chunks is added to CHUNK_REFERENCE_SOURCES (or here, with why not)')
})
