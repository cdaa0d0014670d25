/**
 * The database holds case data and token hashes: only its owner may read it.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { openSqliteMetadataStore } from '../../../src/store/sqlite/sqlite_metadata_store.ts'

t.test('the database file is created readable by its owner only', async (t) => {
  const path = join(t.testdir(), 'caseway.db')
  const store = await openSqliteMetadataStore(path)
  t.teardown(() => store.close())
  t.equal(statSync(path).mode & 0o777, 0o600)
})
